/**
 * Reliability end to end: the time budget and resuming, cancellation by signal, and what is left
 * on the host afterwards. dist/ runs as the runner runs it, with the cache service on loopback.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lockedInodes } from '../../src/bitbake/in-use.js';
import { type CacheService } from '../support/cache-service/index.js';
import { cacheRunner, type CacheWorld, startCacheWorld, stopCacheWorld } from '../support/cache-world.js';
import { type GitRemote } from '../support/git-remotes.js';
import { runJob, type RunnerEnv, startMainUntil, startStep, type StepResult } from '../support/run-action.js';
import { jobWorkspace, smidrContainers, smidrYaml, standinReport } from '../support/world.js';

const LONG = 900_000;
let world: CacheWorld;
let root: string;
let poky: GitRemote;
let service: CacheService;
let jobs = 0;

function runner(workspace: string, inputs: Record<string, string>, env: Record<string, string> = {}): RunnerEnv {
  jobs += 1;
  return cacheRunner(world, 7000 + jobs, { workspace, inputs, env });
}

/** The entries of one cache part (e.g. `sstate-machine`: this machine's sstate and the DB). */
const entries = (prefix: string, part: string) =>
  service.entries().filter((e) => e.key.startsWith(`smidr-v2-${prefix}-${part}-`));

beforeAll(async () => {
  world = await startCacheWorld('reliability');
  ({ root, poky, service } = world);
}, LONG);

afterAll(() => stopCacheWorld(world));

describe('stop-after', () => {
  let first: { main: StepResult; post: StepResult };
  let second: { main: StepResult; post: StepResult };
  // Each job starts on a fresh machine: read what a job left before the next one starts.
  let doneFirst: string[];
  let rerun: string[];
  let savedByFirst: number;

  beforeAll(async () => {
    const ws = jobWorkspace(root, 'ws-budget', smidrYaml(poky.url, { localConf: ['STANDIN_TASK_SECONDS = "1"'] }));
    // 0.75 minutes: the layers, the container and a few recipes of 1-second tasks fit in; the
    // whole build (56 tasks) does not.
    first = await runJob(runner(ws, { 'stop-after': '0.75', 'cache-key-prefix': 'budget' }));
    doneFirst = standinReport(first.main.outputs['build-dir']!).tasks_run;
    savedByFirst = entries('budget', 'sstate-machine').length;
    second = await runJob(runner(ws, { 'cache-key-prefix': 'budget' }));
    rerun = standinReport(second.main.outputs['build-dir']!).tasks_run;
  }, LONG);

  it('stops BitBake gracefully at the budget and says what remains', () => {
    expect(first.main.exitCode).toBe(1);
    expect(first.main.outputs.result).toBe('stopped');
    expect(first.main.stdout).toContain('Stopping BitBake because the time budget (stop-after) is used up');
    expect(first.main.stdout).toContain('Keyboard Interrupt');
    expect(first.main.annotations.join('\n')).toMatch(
      /stopped at the time budget \(stop-after: 0\.75 minutes\) after \d+ of \d+ tasks; \d+ remain/,
    );
    expect(doneFirst.length).toBeGreaterThan(0);
    expect(smidrContainers(first.main)).toEqual([]);
  });

  it('saves what was built', () => {
    expect(first.post.exitCode).toBe(0);
    expect(savedByFirst).toBe(1);
  });

  it('the next run completes the build and reruns no recipe the stopped run finished', () => {
    const why = `first ran ${JSON.stringify(doneFirst)}, second ran ${JSON.stringify(rerun)}`;
    expect(second.main.exitCode, second.main.stdout).toBe(0);
    expect(second.main.outputs['sstate-cache-hit'], why).toBe('exact');
    // Tasks run one at a time, so only the recipe running at the stop is unfinished; BitBake
    // reruns the tasks of an unfinished recipe that sstate does not cover, as it would here.
    const recipes = (tasks: string[]) => [...new Set(tasks.map((t) => t.split(':')[0]!))];
    const finished = recipes(doneFirst).slice(0, -1);
    expect(finished.length, why).toBeGreaterThan(0);
    expect(rerun.length, why).toBeGreaterThan(0);
    expect(
      recipes(rerun).filter((r) => finished.includes(r)),
      why,
    ).toEqual([]);
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
    const started = await startMainUntil(r, 'NOTE: Running task 3 of');
    started.child.kill('SIGTERM');
    main = await started.done;
    buildDir = main.outputs['build-dir']!;
    leftOver = {
      containers: smidrContainers(main),
      processes: execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        // Other builds may run on this host: look for this build's directory and id (the container's name).
        .filter((p) => p.includes(buildDir) || p.includes(path.basename(buildDir))),
      // BitBake leaves bitbake.lock on disk; what matters is that nobody holds it.
      locks: heldLocksUnder(buildDir),
      mounts: readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .filter((m) => m.includes(buildDir)),
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
    expect(entries('term', 'sstate-machine')).toHaveLength(1);
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
      expect(r.main.stdout + r.post.stdout).not.toMatch(
        /database is locked|lock(ed)? .*(timeout|failed)|Unable to .*lock/i,
      );
    }
    expect(new Set(results.map((r) => r.main.outputs['build-dir'])).size).toBe(4);
  });

  it('leave a hash-equivalence DB that passes PRAGMA integrity_check', () => {
    const db = new DatabaseSync(path.join(cacheDir(), 'smidr', 'example', 'hashserv', 'hashserv.db'), {
      readOnly: true,
    });
    try {
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
      expect((db.prepare('SELECT count(*) AS n FROM unihashes_v3').get() as { n: number }).n).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('leave only complete sstate archives', () => {
    const sstate = path.join(cacheDir(), 'smidr', 'example', 'sstate-cache');
    const objects = execFileSync('find', [sstate, '-name', '*.tar.zst', '-type', 'f'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
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
    const leftovers = execFileSync(
      'find',
      [sstate, '-name', '*.tar.zst.*', '!', '-name', '*.siginfo', '-o', '-name', '*.lock'],
      { encoding: 'utf8' },
    );
    expect(leftovers).toBe('');
  });
});

describe('faults say what to do', () => {
  const failing = async (
    name: string,
    yaml: string,
    inputs: Record<string, string>,
    env: Record<string, string> = {},
  ) => {
    const r = await runJob(runner(jobWorkspace(root, `ws-fault-${name}`, yaml), { cache: 'off', ...inputs }, env));
    expect(r.main.exitCode, r.main.stdout).toBe(1);
    expect(r.post.exitCode, r.post.stdout).toBe(0);
    return r.main.annotations.filter((a) => a.startsWith('::error')).join('\n');
  };

  it(
    'a container engine that is not installed',
    async () => {
      expect(await failing('no-engine', smidrYaml(poky.url), { 'container-engine': 'podman' })).toContain(
        'podman is not installed; install it (e.g. apt-get install docker.io) or set container-engine: none',
      );
    },
    LONG,
  );

  it(
    'a Docker daemon that does not answer',
    async () => {
      expect(
        await failing('daemon-down', smidrYaml(poky.url), {}, { DOCKER_HOST: `unix://${root}/no-docker.sock` }),
      ).toMatch(/docker is installed but its daemon does not answer \(.+\); start it \(sudo systemctl start docker\)/);
    },
    LONG,
  );

  it(
    'a builder image that is missing and cannot be pulled',
    async () => {
      expect(
        await failing('no-image', smidrYaml(poky.url), { 'container-image': 'smidr-builder:no-such-tag' }),
      ).toMatch(
        /container image smidr-builder:no-such-tag is not present and could not be pulled \(.+\); check container.base_image/,
      );
    },
    LONG,
  );

  it(
    'BitBake killed by the OOM killer at the container memory limit',
    async () => {
      const yaml = smidrYaml(poky.url, { memory: '256m', localConf: ['STANDIN_TASK_MEMORY_MB:pn-smidr-app = "600"'] });
      expect(await failing('oom', yaml, {})).toMatch(
        /smidr-app.*do_compile failed: the out-of-memory killer stopped a process at the container memory limit \(container.memory: 256m\); raise container.memory/,
      );
    },
    LONG,
  );

  it(
    'a full workspace disk',
    async () => {
      const small = path.join(root, 'small-disk');
      execFileSync('mkdir', ['-p', small]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', small]);
      try {
        const yaml = smidrYaml(poky.url, { localConf: ['STANDIN_OUTPUT_BYTES = "1000000"'] });
        expect(await failing('disk-full', yaml, { 'workspace-dir': small })).toMatch(
          /No space left on the file system holding the build directory \(.*small-disk.*\): \d.* free of /,
        );
      } finally {
        execFileSync('umount', ['-l', small]);
      }
    },
    LONG,
  );
});

describe('hostile input', () => {
  // Each payload tries to create this file; none may ever manage to.
  const canary = () => path.join(root, 'pwned');
  const refused: [string, string, Record<string, string>, RegExp][] = [];
  const payloads = () => ({
    subst: `$(touch ${canary()})`,
    backticks: `\`touch ${canary()}\``,
    inlinePython: `\${@open('${canary()}','w').write('x')}`,
  });

  beforeAll(() => {
    const p = payloads();
    refused.push(
      [
        'machine with a quote and a newline',
        'machine',
        { machine: 'qemux86-64"\nINHERIT += "evil' },
        /input 'machine'/,
      ],
      ['machine with $()', 'machine', { machine: p.subst }, /input 'machine'/],
      ['distro with backticks', 'distro', { distro: p.backticks }, /input 'distro'/],
      ['target with a shell separator', 'target', { target: `smidr-image;touch ${canary()}` }, /input 'target'/],
      ['target with inline Python', 'target', { target: p.inlinePython }, /input 'target'/],
      [
        'local-conf with inline Python',
        'local-conf',
        { 'local-conf': `EVIL = "${p.inlinePython}"` },
        /input 'local-conf'.*inline Python/,
      ],
      [
        'local-conf with a require of a host file',
        'local-conf',
        { 'local-conf': 'X = "1"\nrequire ../../../../etc/passwd' },
        /input 'local-conf'/,
      ],
      [
        'local-conf with a quote that ends the value',
        'local-conf',
        { 'local-conf': `X = "a" ; touch ${canary()} ; "` },
        /input 'local-conf'/,
      ],
    );
  });

  it(
    'in inputs is refused before anything is written, naming the input',
    async () => {
      for (const [what, , inputs, error] of refused) {
        const r = runner(jobWorkspace(root, `ws-hostile-${what.replace(/\W+/g, '-')}`, smidrYaml(poky.url)), {
          cache: 'off',
          ...inputs,
        });
        const { main, post } = await runJob(r);
        expect(main.exitCode, what).toBe(1);
        expect(post.exitCode, what).toBe(0);
        expect(main.annotations.filter((a) => a.startsWith('::error')).join('\n'), what).toMatch(error);
        expect(existsSync(path.join(r.runnerTemp!, 'smidr', 'builds')), `${what}: a build directory was created`).toBe(
          false,
        );
      }
      expect(existsSync(canary())).toBe(false);
    },
    LONG,
  );

  it(
    'in smidr.yaml layers (names, URLs, sublayers) is refused, naming the field',
    async () => {
      const yamls: [string, string, RegExp][] = [
        [
          'a layer name that climbs out',
          smidrYaml(poky.url).replace('name: meta-smidr-test', 'name: ../../escape'),
          /layers\[1\]\.name/,
        ],
        [
          'a URL that is a git option',
          smidrYaml(`--upload-pack=touch\${IFS}${canary()}`),
          /layers\[0\]\.git: .* starts with "-", which git would read as an option/,
        ],
        [
          'a URL through the ext:: transport',
          smidrYaml(`ext::touch%20${canary()}`),
          /layers\[0\]\.git: .* uses the ext:: transport, which makes git run a command/,
        ],
        ['a URL with $()', smidrYaml(`file://${root}/$(touch\${IFS}${canary()})`), /cannot reach file:\/\/.*\$\(touch/],
        [
          'a sublayer that climbs out',
          smidrYaml(poky.url).replace('    branch: main', '    branch: main\n    sublayers: [meta, ../../../etc]'),
          /sublayers/,
        ],
      ];
      for (const [what, yaml, error] of yamls) {
        const r = runner(jobWorkspace(root, `ws-hostile-${what.replace(/\W+/g, '-')}`, yaml), { cache: 'off' });
        const { main } = await runJob(r);
        expect(main.exitCode, what).toBe(1);
        expect(main.annotations.filter((a) => a.startsWith('::error')).join('\n'), what).toMatch(error);
        expect(existsSync(path.join(r.runnerTemp!, 'smidr', 'builds')), `${what}: a build directory was created`).toBe(
          false,
        );
      }
      expect(existsSync(canary())).toBe(false);
      expect(existsSync(path.join(root, 'escape'))).toBe(false);
    },
    LONG,
  );

  it(
    'inside quoted conf values reaches BitBake verbatim and runs nowhere',
    async () => {
      const p = payloads();
      const values = {
        HOSTILE_SUBST: `${p.subst} ; rm -rf /`,
        HOSTILE_TICKS: p.backticks,
        HOSTILE_QUOTES: 'it"s',
        HOSTILE_DOLLAR: '${TOPDIR}/../../..',
      };
      const lines = Object.entries(values).map(([k, v]) => (v.includes('"') ? `${k} = '${v}'` : `${k} = "${v}"`));
      const r = runner(jobWorkspace(root, 'ws-hostile-verbatim', smidrYaml(poky.url)), {
        cache: 'off',
        'local-conf': lines.join('\n'),
      });
      const { main } = await runJob(r);
      expect(main.exitCode, main.stdout).toBe(0);
      const seen = standinReport(main.outputs['build-dir']!).user_conf_values;
      for (const k of ['HOSTILE_SUBST', 'HOSTILE_TICKS', 'HOSTILE_QUOTES'] as const) expect(seen[k], k).toBe(values[k]);
      expect(existsSync(canary())).toBe(false);
    },
    LONG,
  );
});

describe('tokens', () => {
  it(
    'never appear in the log, the summary, the outputs or what BitBake sees',
    async () => {
      const secret = 'ghs_smidrCanaryToken0123456789abcdef';
      const r = runner(
        jobWorkspace(root, 'ws-token', smidrYaml(poky.url, { localConf: ['TOKENS = "1"'] })),
        { 'github-token': secret },
        { GITHUB_TOKEN: secret },
      );
      const { main, post } = await runJob(r);
      expect(main.exitCode, main.stdout).toBe(0);
      const runtimeToken = service.env.ACTIONS_RUNTIME_TOKEN!;
      const buildDir = main.outputs['build-dir']!;
      // grep exits 1 when nothing matches, which is the point.
      const bitbakeSaw = spawnSync('grep', ['-rl', '-e', secret, '-e', runtimeToken, buildDir], {
        encoding: 'utf8',
      }).stdout.trim();
      for (const step of [main, post]) {
        for (const text of [step.stdout, step.summary, JSON.stringify(step.outputs)]) {
          expect(text.includes(secret)).toBe(false);
          expect(text.includes(runtimeToken)).toBe(false);
        }
      }
      expect(bitbakeSaw).toBe('');
    },
    LONG,
  );
});

/** Files under dir on which some process holds a POSIX or flock lock, from /proc/locks. */
function heldLocksUnder(dir: string): string[] {
  const inodes = lockedInodes(readFileSync('/proc/locks', 'utf8'));
  const out = execFileSync('find', [dir, '-xdev', '-printf', '%i %p\n'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .filter(([ino]) => inodes.has(Number(ino)))
    .map(([, p]) => p!);
}
