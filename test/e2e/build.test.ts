/**
 * The action's core path end to end: dist/main.js then dist/post.js as the runner runs them,
 * real git remotes as layers, the real Docker engine and the offline builder image, and the
 * BitBake stand-in in the poky-shaped fixture layer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { type GitRemote } from '../support/git-remotes.js';
import { runJob, startMainUntil, startStep, type StepResult } from '../support/run-action.js';
import {
  BUILDER_IMAGE,
  dockerAvailable,
  jobWorkspace,
  pokyRemote,
  scratch,
  smidrContainers,
  smidrYaml,
  standinReport,
} from '../support/world.js';

const LONG = 600_000;
let root: string;
let poky: GitRemote;
let workspace: string;

function job(name: string, ws = workspace, inputs: Record<string, string> = {}, env: Record<string, string> = {}) {
  return { workspace: ws, jobDir: path.join(root, 'jobs', name), inputs: { config: 'smidr.yaml', ...inputs }, env };
}

function layersOutput(r: StepResult): { name: string; commit: string; sublayers: string[]; url?: string }[] {
  return JSON.parse(r.outputs.layers!) as { name: string; commit: string; sublayers: string[] }[];
}

beforeAll(() => {
  if (!dockerAvailable()) {
    throw new Error(
      `Docker or the builder image ${BUILDER_IMAGE} is missing: run ./scripts/test.sh, which sets both up`,
    );
  }
  root = scratch('build');
  poky = pokyRemote(root);
  workspace = jobWorkspace(root, 'workspace', smidrYaml(poky.url));
});

describe('a build of smidr.yaml', () => {
  let main: StepResult;
  let post: StepResult;
  let buildDir: string;

  beforeAll(async () => {
    ({ main, post } = await runJob(job('first')));
    buildDir = main.outputs['build-dir']!;
  }, LONG);

  it('succeeds and sets the outputs', () => {
    expect(main.exitCode, main.stdout).toBe(0);
    expect(main.outputs.result).toBe('success');
    expect(Number(main.outputs['tasks-run'])).toBeGreaterThan(0);
    expect(main.outputs['sstate-match']).toBe('0');
    expect(main.outputs['deploy-dir']).toBe(path.join(buildDir, 'tmp', 'deploy'));
    const images = (JSON.parse(main.outputs.images!) as string[]).map((i) => path.basename(i));
    expect(images).toContain('smidr-image-qemux86-64.rootfs.ext4');
    expect(post.exitCode).toBe(0);
  });

  it('records the exact revision of every layer', () => {
    const layers = layersOutput(main);
    expect(layers.map((l) => l.name)).toEqual(['poky', 'meta-smidr-test']);
    expect(layers[0]!.commit).toBe(poky.head());
    expect(layers[0]!.sublayers).toEqual(['meta', 'meta-poky', 'meta-yocto-bsp']);
    expect(layers[1]!.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(layers[1]!.sublayers).toEqual(['.']);
  });

  it('let BitBake read the layer revisions, though the checkouts belong to another user', () => {
    // BitBake asks git as the build user; git refuses repositories it does not own unless trusted.
    // (A path: layer below the repository root has no .git in its mount: not covered here.)
    const poky = layersOutput(main).find((l) => l.name === 'poky')!;
    expect(main.stdout).toMatch(new RegExp(`^meta-yocto-bsp += "HEAD:${poky.commit}"$`, 'm'));
  });

  it('ran BitBake as a regular user on the conf the action wrote', () => {
    const r = standinReport(buildDir);
    expect(r.uid).toBe(process.getuid!() === 0 ? 1000 : process.getuid!());
    expect(r.variables).toMatchObject({
      MACHINE: 'qemux86-64',
      DISTRO: 'poky',
      TMPDIR: '/smidr/build/tmp',
      DL_DIR: '/smidr/downloads',
      SSTATE_DIR: '/smidr/sstate',
      BB_HASHSERVE: 'auto',
      BB_SIGNATURE_HANDLER: 'OEEquivHash',
      BB_NUMBER_THREADS: '2',
      // BitBake 2.8 has no BB_HASHSERVE_DB_DIR: the DB follows PERSISTENT_DIR to the shared dir.
      PERSISTENT_DIR: '/smidr/hashserv',
    });
    expect(r.hashserv_db).toBe('/smidr/hashserv/hashserv.db');
    expect(r.conf_files.some((f) => f.endsWith('conf/auto.conf'))).toBe(true);
    expect(r.conf_files.some((f) => f.endsWith('conf/local.conf'))).toBe(true);
  });

  it('ran under the memory and CPU limits from container:', () => {
    expect(standinReport(buildDir).cgroup).toEqual({ memory_bytes: 2 * 1024 ** 3, cpus: 2 });
  });

  it('kept the host TMPDIR and BBSERVER out of BitBake', () => {
    const r = standinReport(buildDir);
    expect(r.env.TMPDIR ?? null).not.toBe(path.join(root, 'jobs', 'first', 'host-tmpdir'));
    expect(r.env.BBSERVER ?? null).toBeNull();
  });

  it('mounted every layer read-only', () => {
    const probe = standinReport(buildDir).layer_write_probe;
    expect(Object.keys(probe)).toHaveLength(4);
    for (const result of Object.values(probe)) expect(result).toBe('EROFS');
  });

  it('put sstate and the hash-equivalence DB in the shared cache directories, not the workspace', () => {
    const caches = path.join(root, 'jobs', 'first', 'runner-temp', 'smidr', 'cache');
    expect(existsSync(path.join(caches, 'hashserv', 'hashserv.db'))).toBe(true);
    expect(readdirSync(path.join(caches, 'sstate-cache')).length).toBeGreaterThan(0);
    expect(existsSync(path.join(buildDir, 'sstate-cache'))).toBe(false);
    expect(existsSync(path.join(buildDir, 'cache', 'hashserv.db'))).toBe(false);
  });

  it('left the files BitBake wrote owned by the build user', () => {
    const uid = process.getuid!() === 0 ? 1000 : process.getuid!();
    expect(statSync(path.join(buildDir, 'tmp', 'deploy')).uid).toBe(uid);
  });

  it('streamed BitBake output in a group headed by the command line, and left no container', () => {
    expect(main.stdout).toMatch(/::group::bitbake smidr-image \(in smidr-builder:bookworm\)/);
    expect(main.stdout).toContain('NOTE: Tasks Summary: Attempted');
    expect(smidrContainers(main)).toEqual([]);
  });

  it('wrote a job summary', () => {
    expect(main.summary).toContain('Layers');
    expect(main.summary).toContain(poky.head().slice(0, 12));
  });
});

describe('two builds of one config', () => {
  it(
    'get different workspaces and both succeed, even at the same time',
    async () => {
      const shared = { RUNNER_TOOL_CACHE: path.join(root, 'shared-tool-cache') };
      const [a, b] = await Promise.all([
        startStep(job('concurrent-a', workspace, {}, shared), 'main').done,
        startStep(job('concurrent-b', workspace, {}, shared), 'main').done,
      ]);
      expect(a.exitCode, a.stdout).toBe(0);
      expect(b.exitCode, b.stdout).toBe(0);
      expect(a.outputs['build-dir']).not.toBe(b.outputs['build-dir']);
      // A third build on the same host reuses the immutable checkout.
      const c = await startStep(job('concurrent-c', workspace, {}, shared), 'main').done;
      expect(c.stdout).toContain(`poky: reusing checkout of ${poky.head()}`);
    },
    LONG,
  );
});

describe('inputs', () => {
  it(
    'override machine and target from the matrix',
    async () => {
      const { main } = await runJob(job('override', workspace, { machine: 'qemuarm64', target: 'core-image-minimal' }));
      expect(main.exitCode, main.stdout).toBe(0);
      const r = standinReport(main.outputs['build-dir']!);
      expect(r.variables.MACHINE).toBe('qemuarm64');
      expect((JSON.parse(main.outputs.images!) as string[]).map((i) => path.basename(i))).toContain(
        'core-image-minimal-qemuarm64.rootfs.ext4',
      );
    },
    LONG,
  );

  it(
    'fail before anything is written when a value is bad, naming the input',
    async () => {
      const j = job('bad-input', workspace, { machine: 'qemux86-64"; rm -rf /' });
      const { main } = await runJob(j);
      expect(main.exitCode).toBe(1);
      expect(main.annotations.join('\n')).toMatch(/input 'machine'/);
      expect(existsSync(path.join(j.jobDir, 'runner-temp', 'smidr'))).toBe(false);
    },
    LONG,
  );

  it(
    'carry local-conf lines to BitBake exactly',
    async () => {
      const { main } = await runJob(
        job('local-conf', workspace, { 'local-conf': 'SMIDR_E2E = "two "quoted" words"\nINHERIT += "rm_work"' }),
      );
      expect(main.exitCode, main.stdout).toBe(0);
      const r = standinReport(main.outputs['build-dir']!);
      expect(r.user_conf_values.SMIDR_E2E).toBe('two "quoted" words');
      expect(r.variables.INHERIT).toContain('rm_work');
    },
    LONG,
  );
});

describe('a failing task', () => {
  it(
    'fails the step, names the task and still runs post',
    async () => {
      const { main, post } = await runJob(
        job('failing', workspace, { 'local-conf': 'STANDIN_FAIL_TASKS = "smidr-app:do_compile"' }),
      );
      expect(main.exitCode).toBe(1);
      expect(main.outputs.result).toBe('failure');
      expect(main.annotations.join('\n')).toMatch(
        /::error::BitBake failed: 1 task\(s\) failed: smidr-app_1.0:do_compile/,
      );
      expect(post.exitCode).toBe(0);
      expect(smidrContainers(main)).toEqual([]);
    },
    LONG,
  );
});

describe('cancellation', () => {
  it(
    'stops BitBake on SIGINT, removes the container and reports cancelled',
    async () => {
      const started = await startMainUntil(
        job('cancel', workspace, { 'local-conf': 'STANDIN_TASK_SECONDS = "1"' }),
        'NOTE: Running task 3 of',
      );
      started.child.kill('SIGINT');
      const main = await started.done;
      expect(main.exitCode).toBe(1);
      expect(main.outputs.result).toBe('cancelled');
      expect(main.stdout).toContain('Keyboard Interrupt');
      expect(smidrContainers(main)).toEqual([]);
    },
    LONG,
  );
});

describe('layer pins', () => {
  it(
    'build a pinned commit, and a tag',
    async () => {
      const pinned = poky.head();
      const later = poky.commit({ 'meta/recipes-example/hello/files/hello.sh': '#!/bin/sh\necho changed\n' }, 'later');
      poky.tag('v-later');
      const ws = jobWorkspace(
        root,
        'ws-pins',
        smidrYaml(poky.url, { pokyPin: `    commit: ${pinned}`, image: 'core-image-minimal' }),
      );
      const { main } = await runJob(job('pin-commit', ws));
      expect(main.exitCode, main.stdout).toBe(0);
      expect(layersOutput(main)[0]!.commit).toBe(pinned);

      const ws2 = jobWorkspace(
        root,
        'ws-tag',
        smidrYaml(poky.url, { pokyPin: '    tag: v-later', image: 'core-image-minimal' }),
      );
      const tagged = await runJob(job('pin-tag', ws2));
      expect(tagged.main.exitCode, tagged.main.stdout).toBe(0);
      expect(layersOutput(tagged.main)[0]!.commit).toBe(later);
    },
    LONG,
  );

  it(
    'name the URL and revision when the revision does not exist or the remote is unreachable',
    async () => {
      const missing = 'deadbeef'.repeat(5);
      const ws = jobWorkspace(root, 'ws-missing', smidrYaml(poky.url, { pokyPin: `    commit: ${missing}` }));
      const { main } = await runJob(job('missing-rev', ws));
      expect(main.exitCode).toBe(1);
      expect(main.annotations.join('\n')).toContain(`revision ${missing} does not exist in ${poky.url}`);

      const gone = `file://${path.join(root, 'remotes', 'nowhere.git')}`;
      const ws2 = jobWorkspace(root, 'ws-gone', smidrYaml(gone));
      const unreachable = await runJob(job('unreachable', ws2));
      expect(unreachable.main.exitCode).toBe(1);
      expect(unreachable.main.annotations.join('\n')).toContain(`cannot reach ${gone}`);
    },
    LONG,
  );

  it(
    'refuse a commit that is not on the configured branch',
    async () => {
      const base = poky.head();
      const offBranch = poky.commit({ 'README.side': 'x\n' }, 'side');
      // Move main back so offBranch is reachable only through the tag below.
      poky.tag('side-tip');
      execFileSync('git', ['-C', poky.bare, 'update-ref', 'refs/heads/main', base]);
      const ws = jobWorkspace(
        root,
        'ws-offbranch',
        smidrYaml(poky.url, { pokyPin: `    branch: main\n    commit: ${offBranch}` }),
      );
      const { main } = await runJob(job('off-branch', ws));
      expect(main.exitCode).toBe(1);
      expect(main.annotations.join('\n')).toContain(`commit ${offBranch} is not on branch 'main' of ${poky.url}`);
    },
    LONG,
  );
});

describe('BitBake 2.18 and later', () => {
  it(
    'get BB_HASHSERVE_DB_DIR for the shared hash-equivalence DB',
    async () => {
      const newer = pokyRemote(root, 'poky-218');
      newer.commit({ 'bitbake/lib/bb/__init__.py': '__version__ = "2.18.0"\n' }, 'bitbake 2.18');
      const ws = jobWorkspace(root, 'ws-218', smidrYaml(newer.url, { image: 'core-image-minimal' }));
      const { main } = await runJob(job('bitbake-218', ws));
      expect(main.exitCode, main.stdout).toBe(0);
      const r = standinReport(main.outputs['build-dir']!);
      expect(r.version).toBe('2.18.0');
      expect(r.variables.BB_HASHSERVE_DB_DIR).toBe('/smidr/hashserv');
      expect(r.hashserv_db).toBe('/smidr/hashserv/hashserv.db');
    },
    LONG,
  );
});

describe('without a container', () => {
  it(
    'refuses to run BitBake as root, saying what to do',
    async () => {
      if (process.getuid!() !== 0) return;
      const { main } = await runJob(job('no-container', workspace, { 'container-engine': 'none' }));
      expect(main.exitCode).toBe(1);
      expect(main.annotations.join('\n')).toMatch(
        /BitBake refuses to run as root; use a container engine or a non-root runner/,
      );
    },
    LONG,
  );
});
