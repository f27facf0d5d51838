/**
 * What people read: the job summary, the annotations and the progress lines, from dist/ as the
 * runner runs it, with the BitBake stand-in in the builder container and the caches going through
 * the loopback cache service.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CacheService, startCacheService } from '../support/cache-service/index.js';
import { git, type GitRemote } from '../support/git-remotes.js';
import { runJob, type StepResult } from '../support/run-action.js';
import {
  BUILDER_IMAGE,
  dockerAvailable,
  jobWorkspace,
  pokyRemote,
  scratch,
  smidrYaml,
  standinReport,
} from '../support/world.js';

/** The summary's name for the cache part that holds this machine's sstate and the DB. */
const MACHINE_PART = 'machine sstate + hash-equivalence DB';
const LONG = 900_000;
const RECIPE = 'meta-smidr-test/recipes-test/smidr-app/smidr-app_1.0.bb';
let root: string;
let poky: GitRemote;
let service: CacheService;
let workspace: string;
let jobs = 0;

type Job = { main: StepResult; post: StepResult };

async function job(ws: string, inputs: Record<string, string>): Promise<Job> {
  jobs += 1;
  return runJob({
    workspace: ws,
    jobDir: path.join(root, 'jobs', String(jobs)),
    runnerTemp: path.join(root, 'runner-temp'),
    runId: String(7000 + jobs),
    inputs: { config: 'smidr.yaml', cache: 'actions', ...inputs },
    env: service.env,
  });
}

/** The markdown between a `### heading` and the next heading. */
function section(summary: string, heading: string): string {
  const start = summary.indexOf(`### ${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading} in:\n${summary}`);
  const next = summary.indexOf('\n### ', start + 4);
  return summary.slice(start, next < 0 ? undefined : next);
}

/** Rows of the first table in a section, as cells. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .slice(2)
    .map((l) => l.slice(2, -2).split(' | '));
}

beforeAll(async () => {
  if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/test.sh`);
  root = scratch('report');
  poky = pokyRemote(root);
  service = await startCacheService({ protocol: 'v2' });
  workspace = jobWorkspace(root, 'workspace', smidrYaml(poky.url));
}, LONG);

afterAll(async () => {
  await service?.stop();
});

describe('a failed build', () => {
  let r: Job;
  beforeAll(async () => {
    r = await job(workspace, {
      'local-conf': 'STANDIN_FAIL_TASKS = "smidr-app:do_compile"\nSTANDIN_WARN:pn-zlib = "zlib: deprecated option"',
    });
  }, LONG);

  it('annotates the failed task at the failing line of the recipe in the repository', () => {
    expect(r.main.exitCode).toBe(1);
    const errors = r.main.annotations.filter((a) => a.startsWith('::error'));
    // Property values are escaped as the runner expects: ':' is %3A, a newline in the message %0A.
    const task = errors.find((a) => a.includes('title=Task smidr-app_1.0%3Ado_compile failed'));
    expect(task).toBeDefined();
    // The shell backtrace's metadata-relative frame: the last line of do_compile's body.
    expect(task).toMatch(
      new RegExp(
        `^::error title=Task smidr-app_1\\.0%3Ado_compile failed,file=${RECIPE.replace(/\./g, '\\.')},line=8::` +
          'Log: /smidr/build/tmp/work/core2-64-poky-linux/smidr-app/1\\.0/temp/log\\.do_compile\\.\\d+%0A%0A',
      ),
    );
    expect(task).toContain(
      "ERROR: Execution of '/smidr/build/tmp/work/core2-64-poky-linux/smidr-app/1.0/temp/run.do_compile.",
    );
    // And the step's own failure.
    expect(errors.at(-1)).toBe('::error::BitBake failed: 1 task(s) failed: smidr-app_1.0:do_compile');
  });

  it('turns a warning from a layer outside the repository into a warning without a file', () => {
    expect(r.main.annotations).toContain(
      '::warning title=BitBake warning::zlib-1.3.1-r0 do_compile: zlib: deprecated option',
    );
  });

  it('shows the failed task with the last 50 lines of its log in a collapsible block', () => {
    const failed = section(r.main.summary, 'Failed tasks');
    expect(failed).toContain(`<details><summary><b>smidr-app_1.0:do_compile</b> at <code>${RECIPE}:8</code></summary>`);
    const log = /```text\n([\s\S]*?)\n```/.exec(failed)![1]!.split('\n');
    expect(log).toHaveLength(50);
    const hostLog = /Last 50 lines of `(\/smidr\/build\/[^`]+)`/
      .exec(failed)![1]!
      .replace('/smidr/build', r.main.outputs['build-dir']!);
    expect(log).toEqual(readFileSync(hostLog, 'utf8').trimEnd().split('\n').slice(-50));
    expect(log.at(-1)).toBe(
      '\t#1: do_compile, /smidr/layers/meta-smidr-test/recipes-test/smidr-app/smidr-app_1.0.bb, line 8',
    );
    expect(failed).toContain('</details>');
  });

  it('heads the summary with the result, and counts the failed task', () => {
    expect(r.main.summary).toMatch(/^## ❌ `smidr-image` for `qemux86-64`: failure\n/);
    const [row] = rows(section(r.main.summary, 'BitBake'));
    expect(row![2]).toBe('1');
    expect(r.main.summary).toContain('1 BitBake warning: see the annotations');
  });

  it('still saves what was built, and says so in the summary', () => {
    expect(r.post.exitCode).toBe(0);
    const saved = rows(section(r.post.summary, 'Caches saved'));
    const key = (part: string) => saved.find((row) => row[0] === part)?.[2];
    expect(key('downloads')).toMatch(/^`smidr-v2-downloads-/);
    expect(key(MACHINE_PART)).toMatch(/^`smidr-v2-sstate-machine-/);
  });
});

// Progress lines while BitBake is quiet are asserted in test/unit/bitbake-run.test.ts, where the
// interval is an option: at the product's 60 s a stand-in task would have to run for minutes.
describe('a successful build, after the failed one', () => {
  let r: Job;
  let buildDir: string;
  beforeAll(async () => {
    r = await job(workspace, { 'local-conf': 'STANDIN_WARN:pn-smidr-app = "smidr-app: old API"' });
    buildDir = r.main.outputs['build-dir']!;
  }, LONG);

  it('succeeds', () => {
    expect(r.main.exitCode, r.main.stdout).toBe(0);
    expect(r.post.exitCode, r.post.stdout).toBe(0);
  });

  it('annotates a warning of a recipe in the repository at that recipe', () => {
    expect(r.main.annotations).toContain(
      `::warning title=BitBake warning,file=${RECIPE}::smidr-app-1.0-r0 do_compile: smidr-app: old API`,
    );
  });

  it("writes every section with the build's figures", () => {
    const s = r.main.summary;
    expect(s).toMatch(/^## ✅ `smidr-image` for `qemux86-64`: success\n/);
    expect(rows(s.slice(0, s.indexOf('### ')))).toEqual([
      ['smidr-image', 'qemux86-64', 'poky', 'success', expect.stringMatching(/^\d+m\d\ds$/)],
    ]);

    const layers = rows(section(s, 'Layers'));
    expect(layers.map((l) => l[0])).toEqual(['poky', 'meta-smidr-test']);
    expect(layers[0]![1]).toBe(`\`${poky.url}\``);
    expect(layers[0]![2]).toBe(`\`${poky.head().slice(0, 12)}\` (main)`);
    expect(layers[1]![1]).toBe('this repository');
    expect(layers[1]![2]).toBe(`\`${git(workspace, 'rev-parse', 'HEAD').slice(0, 12)}\``);

    const report = standinReport(buildDir);
    const ss = (report as unknown as { sstate_summary: Record<string, number> }).sstate_summary;
    const [bb] = rows(section(s, 'BitBake'));
    expect(bb).toEqual([
      r.main.outputs['tasks-run'],
      r.main.outputs['tasks-reused'],
      '0',
      String(ss.wanted),
      String(ss.local),
      String(ss.mirrors),
      String(ss.missed),
      String(ss.current),
      `${ss.match}%`,
    ]);
    expect(Number(r.main.outputs['tasks-run'])).toBe(report.tasks_run.length);
    expect(Number(bb![3])).toBeGreaterThan(0);

    // Part, match, base, delta on it, restore time: the failed build saved this machine's base.
    const caches = rows(section(s, 'Caches restored'));
    expect(caches.map((c) => c[0]).sort()).toEqual(
      [MACHINE_PART, 'downloads', 'sstate shared by every machine'].sort(),
    );
    const machine = caches.find((c) => c[0] === MACHINE_PART)!;
    expect(machine[1]).toMatch(/^(exact|partial)$/);
    expect(machine[2]).toMatch(/^`smidr-v2-sstate-machine-\S+@base-\S+`: \d+ objects, \d+(\.\d)? (B|KiB|MiB)/);
    expect(machine[4]).toMatch(/^\d+\.\d s$/);

    const images = rows(section(s, 'Images'));
    const ext4 = images.find((i) => i[0] === '`smidr-image-qemux86-64.rootfs.ext4`')!;
    const file = path.join(r.main.outputs['deploy-dir']!, 'images', 'qemux86-64', 'smidr-image-qemux86-64.rootfs.ext4');
    expect(ext4[1]).toBe(`${statSync(file).size} B`);
    expect(images).toContainEqual(['`smidr-image-qemux86-64.ext4`', '→ `smidr-image-qemux86-64.rootfs.ext4`']);

    const disk = rows(section(s, 'Disk'));
    expect(disk.map((d) => d[0]).join(', ')).toContain('workspace');
    for (const d of disk) expect(d[2]).toMatch(/^\d+(\.\d)? \w+ \(\d+%\)$/);
    expect(s).not.toContain('### Failed tasks');
  });

  it('appends what the post step saved', () => {
    // Part, saved (base or delta), key, objects, size on disk, archive uploaded, save time.
    const machine = rows(section(r.post.summary, 'Caches saved')).find((row) => row[0] === MACHINE_PART)!;
    expect(machine[2]).toBe(`\`${/machine cache: saved (?:base|delta) (\S+)/.exec(r.post.stdout)![1]}\``);
    expect(Number(machine[3])).toBeGreaterThan(0);
    expect(machine[4]).toMatch(/^\d+(\.\d)? (B|KiB|MiB)$/);
    expect(machine[5]).toMatch(/^\d+(\.\d)? (B|KiB|MiB)$/);
  });
});

describe('a parse error in the repository', () => {
  it(
    'is annotated at its file and line, and listed in the summary',
    async () => {
      const ws = jobWorkspace(root, 'ws-parse', smidrYaml(poky.url));
      const recipe = path.join(ws, RECIPE);
      const text = readFileSync(recipe, 'utf8').split('\n');
      text.splice(2, 0, 'this is not bitbake');
      writeFileSync(recipe, text.join('\n'));
      git(ws, 'commit', '-q', '-am', 'break the recipe');
      const r = await job(ws, { cache: 'off' });
      expect(r.main.exitCode).toBe(1);
      expect(r.main.annotations).toContain(
        `::error title=BitBake parse error,file=${RECIPE},line=3::unparsed line: 'this is not bitbake'`,
      );
      expect(section(r.main.summary, 'Parse errors')).toContain(
        `- \`${RECIPE}:3\`: unparsed line: 'this is not bitbake'`,
      );
      expect(r.main.summary).toContain('BitBake did not get as far as running tasks.');
    },
    LONG,
  );
});

// The disk-nearly-full warning is asserted in test/unit/check-disk.test.ts, where the threshold
// is an option: a test cannot fill the disk.
describe('the summary input', () => {
  it(
    'summary: false writes no summary',
    async () => {
      const r = await job(workspace, { cache: 'off', summary: 'false' });
      expect(r.main.exitCode, r.main.stdout).toBe(0);
      expect(r.main.summary).toBe('');
      expect(r.post.summary).toBe('');
    },
    LONG,
  );
});
