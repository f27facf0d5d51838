/**
 * The ways to run less than a build: the action's check-only input (validate and print, nothing
 * started, nothing cached), and the CLI's `smidr build --fetch-only` (BitBake fetches only) and
 * `--clean-image` (the image's sstate is removed first, so the image is made again from its
 * packages, which still come from sstate).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CacheService, startCacheService } from '../support/cache-service/index.js';
import { REPO_ROOT, runJob, type StepResult } from '../support/run-action.js';
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
let pokyUrl: string;

beforeAll(() => {
  if (!dockerAvailable()) throw new Error(`Docker or the builder image ${BUILDER_IMAGE} is missing`);
  root = scratch('commands');
  pokyUrl = pokyRemote(root).url;
});

describe('check-only: true', () => {
  let service: CacheService;
  let valid: { main: StepResult; post: StepResult };
  let invalid: StepResult;
  let containersBefore: string[];

  beforeAll(async () => {
    service = await startCacheService({ protocol: 'v2' });
    containersBefore = smidrContainers();
    const yaml = smidrYaml(pokyUrl, { localConf: ['SUMMARY:pn-busybox = "checked"'] });
    valid = await runJob({
      workspace: jobWorkspace(root, 'check-valid', yaml),
      jobDir: path.join(root, 'jobs', 'check-valid'),
      inputs: { config: 'smidr.yaml', 'check-only': 'true', machine: 'qemuarm64' },
      env: service.env,
    });
    const broken = yaml.replace('  bb_number_threads: 2', '  bb_number_threads: lots');
    invalid = (
      await runJob({
        workspace: jobWorkspace(root, 'check-invalid', broken),
        jobDir: path.join(root, 'jobs', 'check-invalid'),
        inputs: { config: 'smidr.yaml', 'check-only': 'true' },
        env: service.env,
      })
    ).main;
  }, LONG);

  afterAll(async () => {
    await service?.stop();
  });

  it('passes a valid config and prints the effective settings and the auto.conf lines', () => {
    const { main, post } = valid;
    expect(main.exitCode, main.stdout).toBe(0);
    expect(post.exitCode, post.stdout).toBe(0);
    expect(main.stdout).toMatch(/smidr\.yaml: valid smidr\.yaml config/);
    expect(main.stdout).toMatch(/MACHINE: +qemuarm64/);
    expect(main.stdout).toContain('MACHINE = "qemuarm64"');
    expect(main.stdout).toContain('SUMMARY:pn-busybox = "checked"');
    expect(main.stdout).toContain('BB_HASHSERVE = "auto"');
    expect(main.summary).toContain('MACHINE = "qemuarm64"');
  });

  it('starts no container, checks nothing out and talks to no cache service', () => {
    expect(smidrContainers()).toEqual(containersBefore);
    expect(service.calls()).toEqual({});
    expect(service.entries({ includePending: true })).toEqual([]);
    const runnerTemp = path.join(root, 'jobs', 'check-valid', 'runner-temp');
    expect(existsSync(path.join(runnerTemp, 'smidr'))).toBe(false);
    expect(existsSync(path.join(root, 'jobs', 'check-valid', 'tool-cache', 'smidr-layers'))).toBe(false);
    expect(valid.main.outputs['build-dir']).toBeUndefined();
  });

  it('fails an invalid config, naming file, line, field and what is expected', () => {
    expect(invalid.exitCode).toBe(1);
    expect(invalid.annotations.join('\n')).toMatch(
      /smidr\.yaml:\d+: build\.bb_number_threads: "lots" is not a number; expected a positive whole number/,
    );
    expect(invalid.stdout).not.toMatch(/valid smidr\.yaml config/);
  });
});

/** `node dist/cli.js build ...` in the workspace, with its own HOME (the persistent directories live there). */
function cli(workspace: string, home: string, ...args: string[]) {
  mkdirSync(home, { recursive: true });
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), ...args], {
    cwd: workspace,
    env: { PATH: process.env.PATH, HOME: home },
    encoding: 'utf8',
    timeout: LONG,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function buildDirOf(out: string): string {
  const m = /build dir: +(\S+)/.exec(out);
  if (!m) throw new Error(`no build dir in:\n${out}`);
  return m[1]!;
}

describe('smidr build --fetch-only', () => {
  let run: ReturnType<typeof cli>;
  let home: string;

  beforeAll(() => {
    home = path.join(root, 'home-fetch');
    run = cli(jobWorkspace(root, 'fetch', smidrYaml(pokyUrl)), home, 'build', '--fetch-only');
  }, LONG);

  it('runs BitBake with --runall=fetch: every source is fetched, nothing is built', () => {
    expect(run.status, run.out).toBe(0);
    const r = standinReport(buildDirOf(run.out));
    expect(r.argv).toEqual(['--runall=fetch', 'smidr-image']);
    expect(r.tasks_run.length).toBeGreaterThan(0);
    expect(r.tasks_run.every((t) => t.endsWith(':do_fetch'))).toBe(true);
    // The sources are in the persistent DL_DIR, and no image was made.
    expect(readdirSync(path.join(home, '.smidr', 'downloads')).some((f) => f.endsWith('.done'))).toBe(true);
    expect(existsSync(path.join(buildDirOf(run.out), 'tmp', 'deploy', 'images'))).toBe(false);
    expect(run.out).toMatch(/fetched: smidr-image/);
  });
});

describe('smidr build --clean-image', () => {
  let first: ReturnType<typeof cli>;
  let again: ReturnType<typeof cli>;
  let cleaned: ReturnType<typeof cli>;

  beforeAll(() => {
    const home = path.join(root, 'home-clean');
    const workspace = jobWorkspace(root, 'clean', smidrYaml(pokyUrl));
    first = cli(workspace, home, 'build');
    again = cli(workspace, home, 'build');
    cleaned = cli(workspace, home, 'build', '--clean-image');
  }, LONG);

  it('without it, a second build restores the image from sstate', () => {
    expect(first.status, first.out).toBe(0);
    expect(again.status, again.out).toBe(0);
    const r = standinReport(buildDirOf(again.out));
    expect(r.tasks_run.filter((t) => t.startsWith('smidr-image:'))).toEqual([]);
  });

  it("removes the image's sstate first, so the image tasks run again while its packages come from sstate", () => {
    expect(cleaned.status, cleaned.out).toBe(0);
    expect(cleaned.out).toMatch(/bitbake -c cleansstate smidr-image/);
    const r = standinReport(buildDirOf(cleaned.out));
    expect(r.tasks_run).toContain('smidr-image:do_rootfs');
    expect(r.tasks_run.filter((t) => t.startsWith('busybox:'))).toEqual([]);
    expect(r.setscene_tasks_run.some((t) => t.startsWith('busybox:'))).toBe(true);
  });
});

afterAll(() => {
  // Containers of the CLI builds are removed by the CLI itself; none may be left running.
  const running = execFileSync('docker', ['ps', '--filter', 'label=org.smidr.build', '--format', '{{.Names}}'], {
    encoding: 'utf8',
  });
  expect(running.trim()).toBe('');
});
