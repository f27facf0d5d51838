/**
 * A kas project as the config: dist/main.js and dist/post.js with `config: kas/ci.yml`, real git
 * remotes, the real Docker engine and the BitBake stand-in. The project has two repositories
 * besides poky (the job's own, which is a layer, and meta-other), an include from meta-other, a
 * lock file pinning meta-other, a quilt patch applied to meta-other, a disabled poky layer, and a
 * local_conf_header snippet one included file overrides in another.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { GitRemote, makeWorkspaceRepo } from '../support/git-remotes.js';
import { REPO_ROOT, runJob, type StepResult } from '../support/run-action.js';
import { BUILDER_IMAGE, dockerAvailable, FIXTURES, pokyRemote, scratch, standinReport } from '../support/world.js';

const LONG = 600_000;

const META_OTHER_LAYER_CONF = `BBPATH .= ":\${LAYERDIR}"
BBFILES += "\${LAYERDIR}/recipes-*/*/*.bb"
BBFILE_COLLECTIONS += "other"
BBFILE_PATTERN_other = "^\${LAYERDIR}/"
BBFILE_PRIORITY_other = "5"
LAYERSERIES_COMPAT_other = "kirkstone scarthgap styhead walnascar whinlatter wrynose"
`;

/** meta-other's kas file, included from the job's project: it overrides the base file's snippet. */
const commonYml = (value: string) => `header:
  version: 14
local_conf_header:
  shared: |
    KAS_SHARED = "${value}"
`;

/** A quilt patch (made with git format-patch) adding a recipe to meta-other. */
const ADD_RECIPE_PATCH = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Dev <dev@example.com>
Date: Tue, 1 Dec 2026 10:00:00 +0000
Subject: [PATCH] add kas-patched

---
diff --git a/recipes-kas/kas-patched/kas-patched_1.0.bb b/recipes-kas/kas-patched/kas-patched_1.0.bb
new file mode 100644
--- /dev/null
+++ b/recipes-kas/kas-patched/kas-patched_1.0.bb
@@ -0,0 +1,3 @@
+SUMMARY = "A recipe only the kas patch adds"
+LICENSE = "MIT"
+STANDIN_OUTPUT = "kas-patched 1.0"
`;

let root: string;
let poky: GitRemote;
let other: GitRemote;
let pinned: string;
let workspace: string;

beforeAll(() => {
  if (!dockerAvailable())
    throw new Error(`Docker or the builder image ${BUILDER_IMAGE} is missing: run ./scripts/test.sh`);
  root = scratch('kas');
  poky = pokyRemote(root);
  const tree = path.join(root, 'meta-other-tree');
  mkdirSync(path.join(tree, 'conf'), { recursive: true });
  mkdirSync(path.join(tree, 'kas'), { recursive: true });
  writeFileSync(path.join(tree, 'conf', 'layer.conf'), META_OTHER_LAYER_CONF);
  writeFileSync(path.join(tree, 'kas', 'common.yml'), commonYml('from-other'));
  other = GitRemote.create(path.join(root, 'remotes'), 'meta-other', tree);
  pinned = other.head();
  // A newer commit on the branch the project tracks: the lock file keeps the build (and the include) on `pinned`.
  other.commit({ 'kas/common.yml': commonYml('from-newer-commit') }, 'newer');

  const ci = `header:
  version: 14
  includes:
    - kas/base.yml
    - repo: meta-other
      file: kas/common.yml
machine: qemux86-64
distro: poky
target: [smidr-image, kas-patched]
env:
  KAS_E2E_VAR: "default-value"
  KAS_E2E_SET:
  KAS_E2E_UNSET:
repos:
  meta-smidr-test:
  meta-other:
    url: ${other.url}
    branch: main
    patches:
      add-recipe:
        repo: meta-smidr-test
        path: patches/quilt
  poky:
    url: ${poky.url}
    branch: main
    layers:
      meta:
      meta-poky:
      meta-yocto-bsp: disabled
local_conf_header:
  ci: |
    KAS_CI = "1"
  env: |
    KAS_E2E_VAR ??= "not-passed"
    KAS_E2E_SET ??= "not-passed"
    KAS_E2E_UNSET ??= "not-passed"
`;
  const base = `header:
  version: 14
local_conf_header:
  shared: |
    KAS_SHARED = "from-base"
  base: |
    KAS_BASE = "base"
`;
  const lock = `header:
  version: 14
overrides:
  repos:
    meta-other:
      commit: ${pinned}
`;
  workspace = path.join(root, 'workspace');
  makeWorkspaceRepo(
    workspace,
    {
      'kas/ci.yml': ci,
      'kas/base.yml': base,
      'kas/ci.lock.yml': lock,
      'patches/quilt/series': '0001-add-kas-patched.patch\n',
      'patches/quilt/0001-add-kas-patched.patch': ADD_RECIPE_PATCH,
    },
    { '.': path.join(FIXTURES, 'meta-smidr-test') },
  );
});

describe('a kas project as the config', () => {
  let main: StepResult;
  let post: StepResult;
  let buildDir: string;

  beforeAll(async () => {
    ({ main, post } = await runJob({
      workspace,
      jobDir: path.join(root, 'jobs', 'kas'),
      inputs: { config: 'kas/ci.yml', 'container-image': BUILDER_IMAGE },
      env: { KAS_E2E_SET: 'from-the-runner' },
    }));
    buildDir = main.outputs['build-dir']!;
  }, LONG);

  it('builds with the stand-in, and the post step succeeds', () => {
    expect(main.exitCode, main.stdout).toBe(0);
    expect(main.outputs.result).toBe('success');
    expect(post.exitCode, post.stdout).toBe(0);
  });

  it('checks out the commit the lock file pins, patched, and leaves out the disabled layer', () => {
    const layers = JSON.parse(main.outputs.layers!) as {
      name: string;
      commit: string;
      sublayers: string[];
      patches?: string[];
    }[];
    expect(layers.map((l) => l.name)).toEqual(['meta-other', 'meta-smidr-test', 'poky']);
    expect(layers[0]).toMatchObject({ commit: pinned, sublayers: ['.'], patches: ['add-recipe'] });
    expect(layers[2]).toMatchObject({ commit: poky.head(), sublayers: ['meta', 'meta-poky'] });
    const bblayers = readFileSync(path.join(buildDir, 'conf', 'bblayers.conf'), 'utf8');
    expect(bblayers).not.toContain('meta-yocto-bsp');
    expect(bblayers).toMatch(/\/meta-poky \\\n/);
  });

  it('lets BitBake build the recipe the quilt patch adds', () => {
    expect(standinReport(buildDir).tasks_run).toContain('kas-patched:do_compile');
  });

  it('writes the snippets as kas does: sorted by name, the include from meta-other replacing the base snippet', () => {
    const r = standinReport(buildDir);
    expect(r.user_conf_values).toMatchObject({
      KAS_SHARED: 'from-other',
      KAS_BASE: 'base',
      KAS_CI: '1',
      MACHINE: 'qemux86-64',
      DISTRO: 'poky',
    });
    const localConf = readFileSync(path.join(buildDir, 'conf', 'local.conf'), 'utf8');
    expect(localConf).not.toContain('from-base');
    expect(localConf.indexOf('# base\n')).toBeLessThan(localConf.indexOf('# ci\n'));
    expect(localConf.indexOf('# ci\n')).toBeLessThan(localConf.indexOf('# shared\n'));
    expect(r.conf_files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['auto.conf', 'local.conf']));
  });

  it("passes the project's env to BitBake: the runner's value, else the default, else nothing", () => {
    expect(standinReport(buildDir).user_conf_values).toMatchObject({
      KAS_E2E_VAR: 'default-value',
      KAS_E2E_SET: 'from-the-runner',
      KAS_E2E_UNSET: 'not-passed',
    });
  });
});

describe('smidr check on the kas project', () => {
  it('prints the merged project as kas dump --resolve-refs does, with the conf text the build writes', () => {
    const out = execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'check', '-c', 'kas/ci.yml'], {
      cwd: workspace,
      env: { ...process.env, HOME: path.join(root, 'check-home') },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const dumped = parseYaml(out) as Record<string, unknown> & {
      repos: Record<string, Record<string, unknown> | null>;
    };
    expect(dumped).toMatchObject({
      header: { version: 14 },
      machine: 'qemux86-64',
      distro: 'poky',
      target: ['smidr-image', 'kas-patched'],
      local_conf_header: { shared: 'KAS_SHARED = "from-other"\n', base: 'KAS_BASE = "base"\n', ci: 'KAS_CI = "1"\n' },
    });
    expect(dumped.header).not.toHaveProperty('includes');
    expect(dumped).not.toHaveProperty('overrides');
    expect(dumped.repos['meta-other']).toMatchObject({ url: other.url, commit: pinned });
    expect(dumped.repos.poky).toMatchObject({ commit: poky.head(), layers: { 'meta-yocto-bsp': 'disabled' } });
    expect(dumped.repos['meta-smidr-test']).toBeNull();
    expect(out).toContain('\n# ---- conf/local.conf ----\n');
    expect(out).toMatch(/\n# # shared\n# KAS_SHARED = "from-other"\n/);
  });
});
