/**
 * Reliability end to end: the time budget and resuming, cancellation by signal, and what is left
 * on the host afterwards. dist/ runs as the runner runs it, with the cache service on loopback.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockedInodes } from '../../src/housekeeping.js';
import { startCacheService, type CacheService } from '../support/cache-service/index.js';
import { type GitRemote } from '../support/git-remotes.js';
import { runJob, startStep, type RunnerEnv, type StepResult } from '../support/run-action.js';
import {
  BUILDER_IMAGE, dockerAvailable, jobWorkspace, pokyRemote, scratch, smidrContainers, smidrYaml, standinReport,
} from '../support/world.js';

const LONG = 900_000;
let root: string;
let poky: GitRemote;
let service: CacheService;
let jobs = 0;

function runner(workspace: string, inputs: Record<string, string>, env: Record<string, string> = {}): RunnerEnv {
  jobs += 1;
  return {
    workspace,
    jobDir: path.join(root, 'jobs', String(jobs)),
    runnerTemp: path.join(root, 'runner-temp'),
    runId: String(7000 + jobs),
    inputs: { config: 'smidr.yaml', cache: 'actions', ...inputs },
    env: { ...service.env, ...env },
  };
}

const entries = (prefix: string, cache: string) => service.entries().filter((e) => e.key.startsWith(`smidr-v1-${prefix}-${cache}-`));

/** Starts main and resolves once BitBake has started its n-th real task. */
async function mainUntilTask(r: RunnerEnv, n: number) {
  const started = startStep(r, 'main');
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    started.child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(`NOTE: Running task ${n} of`)) resolve();
    });
    started.child.on('close', () => reject(new Error(`main ended before task ${n}:\n${seen}`)));
  });
  return started;
}

beforeAll(async () => {
  if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/test.sh`);
  root = scratch('reliability');
  poky = pokyRemote(root);
  service = await startCacheService({ protocol: 'v2' });
}, LONG);

afterAll(async () => {
  expect(service.serverErrors()).toEqual([]);
  await service.stop();
});

describe('stop-after', () => {
  let first: { main: StepResult; post: StepResult };
  let second: { main: StepResult; post: StepResult };
  // Each job starts on a fresh machine: read what a job left before the next one starts.
  let doneFirst: string[];
  let rerun: string[];
  let savedByFirst: number;

  beforeAll(async () => {
    const ws = jobWorkspace(root, 'ws-budget', smidrYaml(poky.url, { localConf: ['STANDIN_TASK_SECONDS = "2"'] }));
    // 0.3 minutes: the layers, the container and a few 2-second tasks fit in; the whole build does not.
    first = await runJob(runner(ws, { 'stop-after': '0.3', 'cache-key-prefix': 'budget' }));
    doneFirst = standinReport(first.main.outputs['build-dir']!).tasks_run;
    savedByFirst = entries('budget', 'sstate').length;
    second = await runJob(runner(ws, { 'cache-key-prefix': 'budget' }));
    rerun = standinReport(second.main.outputs['build-dir']!).tasks_run;
  }, LONG);

  it('stops BitBake gracefully at the budget and says what remains', () => {
    expect(first.main.exitCode).toBe(1);
    expect(first.main.outputs.result).toBe('stopped');
    expect(first.main.stdout).toContain('Stopping BitBake because the time budget (stop-after) is used up');
    expect(first.main.stdout).toContain('Keyboard Interrupt');
    expect(first.main.annotations.join('\n')).toMatch(/stopped at the time budget \(stop-after: 0\.3 minutes\) after \d+ of \d+ tasks; \d+ remain/);
    expect(doneFirst.length).toBeGreaterThan(0);
    expect(containersOf(first.main)).toEqual([]);
  });

  it('saves what was built', () => {
    expect(first.post.exitCode).toBe(0);
    expect(savedByFirst).toBe(1);
  });

  it('the next run completes the build and reruns none of the tasks the stopped run finished', () => {
    expect(second.main.exitCode, second.main.stdout).toBe(0);
    const why = `first ran ${JSON.stringify(doneFirst)}, second ran ${JSON.stringify(rerun)}\n${first.main.stdout}\n${second.main.stdout}`;
    expect(second.main.outputs['sstate-cache-hit'], why).toBe('exact');
    expect(rerun.length, why).toBeGreaterThan(0);
    expect(rerun.filter((t) => doneFirst.includes(t)), why).toEqual([]);
  });
});

describe('cancellation by SIGTERM', () => {
  let main: StepResult;
  let post: StepResult;
  let buildDir: string;
  let leftOver: { containers: string[]; processes: string[]; locks: string[]; mounts: string[] };

  beforeAll(async () => {
    const ws = jobWorkspace(root, 'ws-term', smidrYaml(poky.url, { localConf: ['STANDIN_TASK_SECONDS = "2"'] }));
    const r = runner(ws, { 'cache-key-prefix': 'term' });
    const started = await mainUntilTask(r, 3);
    started.child.kill('SIGTERM');
    main = await started.done;
    buildDir = main.outputs['build-dir']!;
    leftOver = {
      containers: containersOf(main),
      processes: execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n')
        // Other builds may run on this host: look for this build's directory and id (the container's name).
        .filter((p) => p.includes(buildDir) || p.includes(path.basename(buildDir))),
      // BitBake leaves bitbake.lock on disk; what matters is that nobody holds it.
      locks: heldLocksUnder(buildDir),
      mounts: readFileSync('/proc/mounts', 'utf8').split('\n').filter((m) => m.includes(buildDir)),
    };
    post = await startStep(r, 'post', main.state).done;
  }, LONG);

  it('stops BitBake and reports cancelled', () => {
    expect(main.exitCode).toBe(1);
    expect(main.outputs.result).toBe('cancelled');
    expect(main.stdout).toContain('because the job was cancelled (SIGTERM)');
  });

  it('leaves no container, process, held lock or mount on the host', () => {
    expect(leftOver).toEqual({ containers: [], processes: [], locks: [], mounts: [] });
  });

  it('the post step still saves what was built', () => {
    expect(post.exitCode).toBe(0);
    expect(entries('term', 'sstate')).toHaveLength(1);
  });
});

describe('four builds at once on one host, sharing persistent caches', () => {
  const cacheDir = () => path.join(root, 'host-cache');
  let results: { main: StepResult; post: StepResult }[];

  beforeAll(async () => {
    // Slow enough tasks that the four builds overlap all the way through.
    const conf = (v: string) => ['STANDIN_TASK_SECONDS = "0.3"', `FOUR = "${v}"`];
    const same = jobWorkspace(root, 'ws-four-a', smidrYaml(poky.url, { localConf: conf('a') }));
    const other = jobWorkspace(root, 'ws-four-c', smidrYaml(poky.url, { localConf: conf('c') }));
    const local = (ws: string, inputs: Record<string, string> = {}) => {
      const r = runner(ws, { cache: 'local', 'cache-dir': cacheDir(), ...inputs });
      // Each build on its own runner temp, as jobs of several runners on one host would be.
      return { ...r, runnerTemp: path.join(r.jobDir, 'temp') };
    };
    results = await Promise.all([
      runJob(local(same)),
      runJob(local(same)),
      runJob(local(same, { machine: 'qemuarm64' })),
      runJob(local(other)),
    ]);
  }, LONG);

  it('all succeed, and none reports a lock error', () => {
    for (const r of results) {
      expect(r.main.exitCode, r.main.stdout).toBe(0);
      expect(r.post.exitCode, r.post.stdout).toBe(0);
      expect(r.main.stdout + r.post.stdout).not.toMatch(/database is locked|lock(ed)? .*(timeout|failed)|Unable to .*lock/i);
    }
    expect(new Set(results.map((r) => r.main.outputs['build-dir'])).size).toBe(4);
  });

  it('leave a hash-equivalence DB that passes PRAGMA integrity_check', () => {
    const db = new DatabaseSync(path.join(cacheDir(), 'smidr', 'example', 'hashserv', 'hashserv.db'), { readOnly: true });
    try {
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
      expect((db.prepare('SELECT count(*) AS n FROM unihashes_v3').get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('leave only complete sstate archives', () => {
    const sstate = path.join(cacheDir(), 'smidr', 'example', 'sstate-cache');
    const objects = execFileSync('find', [sstate, '-name', '*.tar.zst', '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(objects.length).toBeGreaterThan(10);
    const broken = objects.filter((o) => {
      try {
        execFileSync('tar', ['--zstd', '-tf', o], { stdio: 'ignore' });
        return false;
      } catch {
        return true;
      }
    });
    expect(broken).toEqual([]);
    const leftovers = execFileSync('find', [sstate, '-name', '*.tar.zst.*', '!', '-name', '*.siginfo', '-o', '-name', '*.lock'], { encoding: 'utf8' });
    expect(leftovers).toBe('');
  });
});

describe('faults say what to do', () => {
  const failing = async (name: string, yaml: string, inputs: Record<string, string>, env: Record<string, string> = {}) => {
    const r = await runJob(runner(jobWorkspace(root, `ws-fault-${name}`, yaml), { cache: 'off', ...inputs }, env));
    expect(r.main.exitCode, r.main.stdout).toBe(1);
    expect(r.post.exitCode, r.post.stdout).toBe(0);
    return r.main.annotations.filter((a) => a.startsWith('::error')).join('\n');
  };

  it('a container engine that is not installed', async () => {
    expect(await failing('no-engine', smidrYaml(poky.url), { 'container-engine': 'podman' }))
      .toContain('podman is not installed; install it (e.g. apt-get install docker.io) or set container-engine: none');
  }, LONG);

  it('a Docker daemon that does not answer', async () => {
    expect(await failing('daemon-down', smidrYaml(poky.url), {}, { DOCKER_HOST: `unix://${root}/no-docker.sock` }))
      .toMatch(/docker is installed but its daemon does not answer \(.+\); start it \(sudo systemctl start docker\)/);
  }, LONG);

  it('a builder image that is missing and cannot be pulled', async () => {
    expect(await failing('no-image', smidrYaml(poky.url), { 'container-image': 'smidr-builder:no-such-tag' }))
      .toMatch(/container image smidr-builder:no-such-tag is not present and could not be pulled \(.+\); check container.base_image/);
  }, LONG);

  it('BitBake killed by the OOM killer at the container memory limit', async () => {
    const yaml = smidrYaml(poky.url, { memory: '256m', localConf: ['STANDIN_TASK_MEMORY_MB:pn-smidr-app = "600"'] });
    expect(await failing('oom', yaml, {}))
      .toMatch(/smidr-app.*do_compile failed: the out-of-memory killer stopped a process at the container memory limit \(container.memory: 256m\); raise container.memory/);
  }, LONG);

  it('a full workspace disk', async () => {
    const small = path.join(root, 'small-disk');
    execFileSync('mkdir', ['-p', small]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', small]);
    try {
      const yaml = smidrYaml(poky.url, { localConf: ['STANDIN_OUTPUT_BYTES = "1000000"'] });
      expect(await failing('disk-full', yaml, { 'workspace-dir': small }))
        .toMatch(/No space left on the file system of the build directory \(.*small-disk.*\): /);
    } finally {
      execFileSync('umount', ['-l', small]);
    }
  }, LONG);
});

/** This build's container, if it is still there (other builds may run on this host). */
function containersOf(main: StepResult): string[] {
  return smidrContainers().filter((n) => n === `smidr-${path.basename(main.outputs['build-dir']!)}`);
}

/** Files under dir on which some process holds a POSIX or flock lock, from /proc/locks. */
function heldLocksUnder(dir: string): string[] {
  const inodes = lockedInodes(readFileSync('/proc/locks', 'utf8'));
  const out = execFileSync('find', [dir, '-xdev', '-printf', '%i %p\n'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => l.split(' ')).filter(([ino]) => inodes.has(Number(ino))).map(([, p]) => p!);
}
