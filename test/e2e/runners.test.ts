/**
 * The runner as it is: layer remotes that fail for a moment. dist/main.js fetches poky over git's
 * smart HTTP from a server on 127.0.0.1 that fails its first requests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GitHttpServer } from '../support/git-http-server.js';
import { runJob, startStep, type StepResult } from '../support/run-action.js';
import {
  BUILDER_IMAGE,
  dockerAvailable,
  jobWorkspace,
  pokyRemote,
  scratch,
  smidrYaml,
  standinReport,
} from '../support/world.js';

const LONG = 600_000;
let root: string;
let server: GitHttpServer;
let pokyUrl: string;

beforeAll(async () => {
  if (!dockerAvailable()) {
    throw new Error(
      `Docker or the builder image ${BUILDER_IMAGE} is missing: run ./scripts/test.sh, which sets both up`,
    );
  }
  root = scratch('runners');
  pokyUrl = pokyRemote(root).url;
  server = new GitHttpServer(path.join(root, 'remotes'));
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

function job(name: string, yaml: string, inputs: Record<string, string> = {}, env: Record<string, string> = {}) {
  const workspace = jobWorkspace(root, `ws-${name}`, yaml);
  return { workspace, jobDir: path.join(root, 'jobs', name), inputs: { config: 'smidr.yaml', ...inputs }, env };
}

let main: StepResult;
let post: StepResult;
let runnerRoot: string;

describe('a layer remote that fails its first requests', () => {
  beforeAll(async () => {
    server.failNext('http-503', 'reset');
    // A hosted runner: rm_work is on by default.
    // A hosted runner: rm_work is on by default, and a fake runner root holds the preinstalled tools.
    runnerRoot = path.join(root, 'runner-root');
    for (const dir of ['usr/share/dotnet/sdk', 'usr/local/lib/android/sdk', 'opt/hostedtoolcache/CodeQL/2.20'])
      mkdirSync(path.join(runnerRoot, dir), { recursive: true });
    mkdirSync(path.join(runnerRoot, 'usr/bin'), { recursive: true });
    const hosted = {
      RUNNER_ENVIRONMENT: 'github-hosted',
      SMIDR_TEST_EXTRA_DISK: path.join(root, 'no-mnt'),
      SMIDR_TEST_RUNNER_ROOT: runnerRoot,
    };
    const inputs = { 'rm-work-exclude': 'smidr-image', 'free-disk-space': 'true' };
    ({ main, post } = await runJob(job('flaky', smidrYaml(server.url('poky.git')), inputs, hosted)));
  }, LONG);

  it('is retried, each retry logged, and the build succeeds', () => {
    expect(main.exitCode, main.stdout).toBe(0);
    expect(main.outputs.result).toBe('success');
    expect(post.exitCode).toBe(0);
    const retries = main.annotations.filter((a) => a.startsWith('::warning') && a.includes('trying again'));
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/git ls-remote failed \(server error: .*503\); attempt 1 of 4/);
    expect(retries[1]).toMatch(/git ls-remote failed \(connection dropped: .*\); attempt 2 of 4/);
    expect(server.requests.slice(0, 3).map((r) => r.replace(/\?\S*/, ''))).toEqual([
      'GET /poky.git/info/refs (http-503)',
      'GET /poky.git/info/refs (reset)',
      'GET /poky.git/info/refs',
    ]);
  });
});

describe('a build on a hosted runner', () => {
  it('sizes parallelism for the container limits, inherits rm_work and sets the disk monitor', () => {
    const buildDir = main.outputs['build-dir']!;
    const report = standinReport(buildDir);
    // smidrYaml: bb_number_threads 2, container memory 2g: one compiler's worth of memory per task.
    expect(report.variables.BB_NUMBER_THREADS).toBe('2');
    expect(main.stdout).toContain('Parallelism: 2 CPUs and 2.0 GiB (container limits from the config)');
    expect(report.variables.INHERIT?.split(/\s+/)).toContain('rm_work');
    const autoConf = readFileSync(path.join(buildDir, 'conf', 'auto.conf'), 'utf8');
    expect(autoConf).toContain('RM_WORK_EXCLUDE += "smidr-image"');
    expect(autoConf).toContain('BB_DISKMON_DIRS ?= "STOPTASKS,${TMPDIR},1G,100K');
    expect(autoConf).toContain('PARALLEL_MAKE = "-j 1"');
    expect(autoConf).toContain('BB_PRESSURE_MAX_MEMORY = "10000"');
  });

  it('removes the preinstalled toolchains first (free-disk-space: true) and reports it', () => {
    for (const dir of ['usr/share/dotnet', 'usr/local/lib/android', 'opt/hostedtoolcache/CodeQL'])
      expect(existsSync(path.join(runnerRoot, dir)), dir).toBe(false);
    expect(existsSync(path.join(runnerRoot, 'usr/bin'))).toBe(true);
    const line = `Freed disk space because free-disk-space is true: removed .NET, Android SDK, CodeQL bundle: `;
    expect(main.stdout).toContain(line);
    expect(main.summary).toContain('Freed before the build: removed .NET, Android SDK, CodeQL bundle');
  });
});

describe.skipIf(process.getuid?.() !== 0)('a hosted runner with a second, larger disk', () => {
  let temp: string;
  let mnt: string;
  let placed: StepResult;

  beforeAll(async () => {
    // Two small filesystems: RUNNER_TEMP's (64 MB) and the "/mnt" disk (256 MB).
    temp = path.join(root, 'disk-temp');
    mnt = path.join(root, 'disk-mnt');
    for (const [dir, size] of [
      [temp, '64m'],
      [mnt, '256m'],
    ] as const) {
      mkdirSync(dir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    }
    const env = { RUNNER_ENVIRONMENT: 'github-hosted', SMIDR_TEST_EXTRA_DISK: mnt };
    const inputs = { 'rm-work': 'false', 'free-disk-space': 'false' };
    const r = { ...job('placed', smidrYaml(pokyUrl), inputs, env), runnerTemp: path.join(temp, 'rt') };
    ({ main: placed } = await runJob(r));
  }, LONG);

  afterAll(() => {
    for (const dir of [temp, mnt]) spawnSync('umount', ['--lazy', dir], { stdio: 'ignore' });
  });

  it('builds on the disk with the most free space, and keeps the caches there', () => {
    expect(placed.exitCode, placed.stdout).toBe(0);
    expect(placed.outputs['build-dir']!.startsWith(path.join(mnt, 'smidr', 'builds') + path.sep)).toBe(true);
    expect(placed.stdout).toMatch(
      new RegExp(
        `Build placed on ${mnt}/smidr \\(most free space of: ${temp}/rt/smidr [0-9.]+ MiB free, ${mnt}/smidr [0-9.]+ MiB free\\)`,
      ),
    );
    expect(placed.summary).toContain(`Placed on ${mnt}/smidr`);
    expect(readdirSync(path.join(mnt, 'smidr', 'cache'))).toContain('sstate-cache');
    // Nothing is mounted and nothing is cached on the smaller disk.
    expect(existsSync(path.join(temp, 'rt', 'smidr', 'cache'))).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(path.join(temp, 'rt'));
  });
});

describe('a layer remote that does not exist', () => {
  let missing: StepResult;

  beforeAll(async () => {
    missing = await startStep(job('missing', smidrYaml(server.url('missing.git'))), 'main').done;
  }, LONG);

  it('fails at once with the message of a permanent error', () => {
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stdout).toContain(`layer 'poky': cannot reach ${server.url('missing.git')}`);
    expect(missing.stdout).toContain('not found');
    expect(missing.stdout).not.toContain('trying again');
  });
});
