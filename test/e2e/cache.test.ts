/**
 * Caches end to end: dist/ as the runner runs it, the real @actions/cache client inside it,
 * talking to the loopback cache service (v2 protocol, archives in Azurite), the BitBake stand-in
 * in the builder container. Every job starts on a "fresh machine": an empty RUNNER_TEMP at the
 * same path, as on GitHub-hosted runners.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DELTA_SHARE } from '../../src/cache/parts.js';
import { formatBytes } from '../../src/util/format.js';
import {
  type CacheService,
  pullRequestScopes,
  runtimeToken,
  startCacheService,
} from '../support/cache-service/index.js';
import {
  type CacheJob,
  cacheRunner,
  type CacheWorld,
  startCacheWorld,
  stopCacheWorld,
} from '../support/cache-world.js';
import { git, type GitRemote } from '../support/git-remotes.js';
import { runJob, type StepResult } from '../support/run-action.js';
import { jobWorkspace, recipesRun, smidrYaml, standinReport } from '../support/world.js';

const LONG = 900_000;
let world: CacheWorld;
let root: string;
let poky: GitRemote;
let service: CacheService;
let jobs = 0;

async function job(o: CacheJob): Promise<{ main: StepResult; post: StepResult }> {
  jobs += 1;
  return runJob(cacheRunner(world, 5000 + jobs, o));
}

function ok(r: { main: StepResult; post: StepResult }): void {
  expect(r.main.exitCode, r.main.stdout).toBe(0);
  expect(r.post.exitCode, r.post.stdout).toBe(0);
}

const sstateEntries = () => service.entries().filter((e) => e.key.includes('-sstate-'));
const downloadEntries = () => service.entries().filter((e) => e.key.includes('-downloads-'));

beforeAll(async () => {
  world = await startCacheWorld('cache');
  ({ root, poky, service } = world);
}, LONG);

afterAll(() => stopCacheWorld(world));

describe('a cold job, then a warm one in a fresh workspace', () => {
  let ws: string;
  let cold: { main: StepResult; post: StepResult };
  let warm: { main: StepResult; post: StepResult };

  beforeAll(async () => {
    ws = jobWorkspace(root, 'ws-warm', smidrYaml(poky.url));
    cold = await job({ workspace: ws });
    warm = await job({ workspace: ws });
  }, LONG);

  it('the cold job misses, builds, and saves downloads and sstate with the DB', () => {
    ok(cold);
    expect(cold.main.outputs['sstate-cache-hit']).toBe('miss');
    expect(cold.main.outputs['downloads-cache-hit']).toBe('miss');
    // The parts layout: the sstate every machine shares, and the machine's own with the DB.
    expect(sstateEntries()).toHaveLength(2);
    expect(downloadEntries()).toHaveLength(1);
    expect(cold.post.stdout).toMatch(
      /machine cache: saved base smidr-v2-sstate-machine-scarthgap-poky-qemux86-64@base-/,
    );
    // The archive size reported is the one the service holds.
    expect(cold.post.stdout).toContain(`, a ${formatBytes(sstateEntries()[0]!.sizeBytes)} archive, in `);
    expect(cold.post.summary).toContain(`| ${formatBytes(sstateEntries()[0]!.sizeBytes)} |`);
  });

  it('the warm job restores all three and runs no real task', () => {
    ok(warm);
    expect(warm.main.outputs['sstate-cache-hit']).toBe('exact');
    expect(warm.main.outputs['downloads-cache-hit']).toBe('exact');
    expect(warm.main.outputs['hashserv-cache-hit']).toBe('exact');
    expect(warm.main.outputs['sstate-match']).toBe('100');
    expect(standinReport(warm.main.outputs['build-dir']!).tasks_run).toEqual([]);
    expect(warm.main.stdout).toContain(`from a ${formatBytes(sstateEntries()[0]!.sizeBytes)} archive`);
  });

  it('the warm job saves nothing, because nothing was added', () => {
    expect(warm.post.stdout).toContain('no new sstate objects and no new equivalences');
    expect(warm.post.stdout).toContain('downloads cache: not saved: nothing new since the restore');
    expect(sstateEntries()).toHaveLength(2);
  });
});

describe('changes to one recipe', () => {
  let ws: string;

  beforeAll(() => {
    ws = jobWorkspace(root, 'ws-change', smidrYaml(poky.url));
  });

  it(
    'a new output reruns only that recipe and its dependents, from the older entry',
    async () => {
      await job({ workspace: ws });
      const app = path.join(ws, 'meta-smidr-test', 'recipes-test', 'smidr-app', 'smidr-app_1.0.bb');
      const text = readFileSync(app, 'utf8').replace(
        'STANDIN_OUTPUT = "smidr-app 1.0"',
        'STANDIN_OUTPUT = "smidr-app 1.0 fixed"',
      );
      commitFile(ws, app, text);
      const r = await job({ workspace: ws });
      ok(r);
      expect(r.main.outputs['sstate-cache-hit']).toBe('partial');
      expect(recipesRun(standinReport(r.main.outputs['build-dir']!))).toEqual(['smidr-app', 'smidr-image']);
    },
    LONG,
  );

  it(
    'a task hash change with the same output is matched through the restored DB in the next job',
    async () => {
      const app = path.join(ws, 'meta-smidr-test', 'recipes-test', 'smidr-app', 'smidr-app_1.0.bb');
      commitFile(
        ws,
        app,
        readFileSync(app, 'utf8').replace(
          'SUMMARY = "The application the tests build"',
          'SUMMARY = "The application the tests build, reworded"',
        ),
      );
      const first = await job({ workspace: ws });
      ok(first);
      const r1 = standinReport(first.main.outputs['build-dir']!);
      // The recipe itself reruns, its output is known: the image comes from sstate.
      expect(recipesRun(r1)).toEqual(['smidr-app']);
      expect(r1.equivalences.length).toBeGreaterThan(0);
      expect(first.post.stdout).toContain('hash-equivalence DB changed');

      const next = await job({ workspace: ws });
      ok(next);
      expect(next.main.outputs['hashserv-cache-hit']).toBe('exact');
      expect(standinReport(next.main.outputs['build-dir']!).tasks_run).toEqual([]);
    },
    LONG,
  );
});

describe('who saves', () => {
  it(
    'a pull_request job restores but does not save',
    async () => {
      const ws = jobWorkspace(root, 'ws-pr', smidrYaml(poky.url, { localConf: ['PR_ONLY = "1"'] }));
      const before = service.entries().length;
      const r = await job({
        workspace: ws,
        eventName: 'pull_request',
        env: { ACTIONS_RUNTIME_TOKEN: runtimeToken(pullRequestScopes(7, 'main')) },
      });
      ok(r);
      expect(r.main.outputs['sstate-cache-hit']).not.toBe('miss');
      expect(r.post.stdout).toContain('restores only');
      expect(service.entries().length).toBe(before);
    },
    LONG,
  );

  it(
    'a failed build still saves what it built',
    async () => {
      const ws = jobWorkspace(
        root,
        'ws-fail',
        smidrYaml(poky.url, { localConf: ['STANDIN_FAIL_TASKS = "smidr-app:do_compile"'] }),
      );
      // A prefix of its own starts cold: everything before the failing task is new.
      const r = await job({ workspace: ws, inputs: { 'cache-key-prefix': 'failing' } });
      expect(r.main.exitCode).toBe(1);
      expect(r.post.exitCode).toBe(0);
      expect(sstateEntries().filter((e) => e.key.startsWith('smidr-v2-failing-sstate-machine-'))).toHaveLength(1);
    },
    LONG,
  );
});

describe('cache service trouble', () => {
  it(
    'down or failing: a warning, and the build succeeds cold',
    async () => {
      const ws = jobWorkspace(root, 'ws-down', smidrYaml(poky.url, { localConf: ['DOWN = "1"'] }));
      await service.setFault({ serverError: true });
      try {
        const r = await job({ workspace: ws, env: { SMIDR_TEST: 'fault' } });
        ok(r);
        expect(r.main.outputs['sstate-cache-hit']).toBe('miss');
        expect(r.main.annotations.some((a) => a.startsWith('::warning'))).toBe(true);
      } finally {
        await service.setFault({});
      }
    },
    LONG,
  );
});

describe('a cache service that stops answering', () => {
  it(
    'is given up on after cache-timeout: a warning, a cold build, and a post step that ends',
    async () => {
      const ws = jobWorkspace(root, 'ws-hung', smidrYaml(poky.url, { localConf: ['HUNG = "1"'] }));
      // Far longer than the limit: without one, main would wait the whole delay for every call.
      await service.setFault({ delay: { ms: 120_000, target: 'api' } });
      try {
        const started = Date.now();
        const r = await job({ workspace: ws, inputs: { 'cache-timeout': '0.05' } });
        ok(r);
        expect(Date.now() - started).toBeLessThan(120_000);
        expect(r.main.outputs['sstate-cache-hit']).toBe('miss');
        expect(r.main.annotations.join('\n')).toContain(
          'machine cache: restore failed, building without it: the cache service did not answer the lookup within 3 s',
        );
        expect(r.post.annotations.join('\n')).toContain(
          'machine cache: save failed: the cache service did not finish the save within 3 s',
        );
        expect(standinReport(r.main.outputs['build-dir']!).tasks_run.length).toBeGreaterThan(0);
      } finally {
        await service.setFault({});
      }
    },
    LONG,
  );
});

describe('damaged archives and a forbidding cache mode', () => {
  const cases: [string, Parameters<CacheService['setFault']>[0] | undefined, Record<string, string>][] = [
    ['a corrupted download', { corruptDownload: true }, {}],
    ['a truncated download', { truncateDownload: true }, {}],
    // @actions/cache drops a download after 5 s without a byte and calls the entry missing.
    ['a stalled download', { stallDownload: true }, {}],
    ['a quota error on save', { quotaExceeded: true }, {}],
    ['ACTIONS_CACHE_MODE=none', undefined, { ACTIONS_CACHE_MODE: 'none' }],
  ];
  // Entries of their own, so a damaged download always has an entry to damage.
  const inputs = { 'cache-key-prefix': 'damaged' };
  beforeAll(async () => {
    ok(await job({ workspace: jobWorkspace(root, 'ws-fault-seed', smidrYaml(poky.url)), inputs }));
  }, LONG);

  for (const [what, fault, env] of cases) {
    it(
      `${what}: the build succeeds, cold where it must be`,
      async () => {
        const ws = jobWorkspace(root, `ws-fault-${what.replace(/\W+/g, '-')}`, smidrYaml(poky.url));
        if (fault) await service.setFault(fault);
        try {
          const r = await job({ workspace: ws, env, inputs });
          ok(r);
          expect(r.main.outputs.result).toBe('success');
          if (fault?.corruptDownload || fault?.truncateDownload || fault?.stallDownload) {
            // A failed extraction is a miss, and nothing half-restored is left for BitBake; but
            // never a silent one: the entry exists, and the warning says why it did not arrive.
            expect(r.main.outputs['sstate-cache-hit']).toBe('miss');
            expect(r.main.stdout).toMatch(
              /::warning::machine cache: restore failed, building without it: \S+ was found but could not be restored \(2 attempts: /,
            );
            expect(standinReport(r.main.outputs['build-dir']!).tasks_run.length).toBeGreaterThan(0);
          }
        } finally {
          await service.setFault({});
        }
      },
      LONG,
    );
  }
});

describe('self-hosted: cache local', () => {
  it(
    'shares persistent directories between jobs, uploads nothing, and keeps them private',
    async () => {
      const cacheDir = path.join(root, 'host-cache');
      const ws = jobWorkspace(root, 'ws-local', smidrYaml(poky.url, { localConf: ['LOCAL_MODE = "1"'] }));
      const before = service.entries().length;
      const inputs = { cache: 'local', 'cache-dir': cacheDir };
      const first = await job({ workspace: ws, inputs });
      // A file of the shared sstate dir that is already the build user's: no build changes it.
      const sentinel = path.join(cacheDir, 'smidr', 'example', 'sstate-cache', 'sentinel');
      writeFileSync(sentinel, 'x');
      const buildUser = process.getuid!() === 0 ? 1000 : process.getuid!();
      chownSync(sentinel, buildUser, buildUser);
      const ctime = statSync(sentinel).ctimeMs;
      const second = await job({ workspace: ws, inputs });
      ok(first);
      ok(second);
      // A root runner gives the build user only what is not already theirs (no tree-wide chown).
      expect(statSync(sentinel).ctimeMs).toBe(ctime);
      expect(first.main.outputs['sstate-match']).toBe('0');
      expect(second.main.outputs['sstate-match']).toBe('100');
      expect(standinReport(second.main.outputs['build-dir']!).tasks_run).toEqual([]);
      expect(service.entries().length).toBe(before);
      const repoDir = path.join(cacheDir, 'smidr', 'example');
      expect(statSync(repoDir).mode & 0o777).toBe(0o700);
      expect(existsSync(path.join(repoDir, 'hashserv', 'hashserv.db'))).toBe(true);
      expect(second.post.stdout).toMatch(/Removed \d+ sstate objects unused for 30 days/);
    },
    LONG,
  );
});

describe('GHES (the v1 cache protocol)', () => {
  it(
    'a cold job saves, a warm one restores everything, and a download that fails is never a silent miss',
    async () => {
      const v1 = await startCacheService({ protocol: 'v1' });
      try {
        const ws = jobWorkspace(root, 'ws-v1', smidrYaml(poky.url));
        const unset = Object.fromEntries(v1.unsetEnv.map((k) => [k, '']));
        const cold = await job({ workspace: ws, env: { ...unset, ...v1.env } });
        const warm = await job({ workspace: ws, env: { ...unset, ...v1.env } });
        ok(cold);
        ok(warm);
        expect(
          v1
            .entries()
            .map((e) => e.key.split('-')[2])
            .sort(),
        ).toEqual(['downloads', 'sstate', 'sstate']);
        expect(warm.main.outputs['sstate-cache-hit']).toBe('exact');
        expect(warm.main.outputs['hashserv-cache-hit']).toBe('exact');
        expect(standinReport(warm.main.outputs['build-dir']!).tasks_run).toEqual([]);
        // v1 logs less than v2 as it restores: the entry found must still be named when it cannot arrive.
        await v1.setFault({ corruptDownload: true });
        const damaged = await job({ workspace: ws, env: { ...unset, ...v1.env }, inputs: { save: 'false' } });
        ok(damaged);
        expect(damaged.main.stdout).toMatch(
          /::warning::machine cache: restore failed, building without it: \S+ was found but could not be restored \(2 attempts: /,
        );
        await v1.setFault({});
        expect(v1.serverErrors()).toEqual([]);
      } finally {
        await v1.stop();
      }
    },
    LONG,
  );
});

describe('matrix legs', () => {
  it(
    'two machines save their own sstate and share downloads',
    async () => {
      const ws = jobWorkspace(root, 'ws-matrix', smidrYaml(poky.url, { localConf: ['MATRIX = "1"'] }));
      const a = await job({ workspace: ws, inputs: { machine: 'qemux86-64' } });
      const b = await job({ workspace: ws, inputs: { machine: 'qemuarm64' } });
      ok(a);
      ok(b);
      expect(a.main.outputs['sstate-cache-key'] ?? '').not.toContain('qemuarm64');
      expect(b.post.stdout).toMatch(/machine cache: saved base smidr-v2-sstate-machine-scarthgap-poky-qemuarm64@base-/);
      expect(b.main.outputs['downloads-cache-hit']).not.toBe('miss');
    },
    LONG,
  );
});

describe('cache size', () => {
  it(
    'cache-size-limit caps the sstate entry, dropping least recently used objects, and the summary says which',
    async () => {
      const limit = 600 * 1024;
      const ws = jobWorkspace(
        root,
        'ws-limit',
        smidrYaml(poky.url, { localConf: ['STANDIN_OUTPUT_BYTES = "150000"'] }),
      );
      const r = await job({
        workspace: ws,
        inputs: { 'cache-key-prefix': 'limited', 'cache-size-limit': String(limit) },
      });
      ok(r);
      const [entry] = sstateEntries().filter((e) => e.key.startsWith('smidr-v2-limited-sstate-machine-'));
      expect(entry, r.post.stdout).toBeDefined();
      expect(entry!.sizeBytes).toBeLessThanOrEqual(limit);
      expect(r.post.stdout).toMatch(
        /sstate: pruned \d+ objects \(.+\): \d+ superseded, [1-9]\d* over the size limit \(.*:do_\w+/,
      );
      expect(r.post.summary).toMatch(/[1-9]\d* over cache-size-limit \(least recently used first: `[\w.+-]+:do_\w+`/);
    },
    LONG,
  );

  it(
    "stays near one build's working set over five runs with changing revisions",
    async () => {
      const ws = jobWorkspace(
        root,
        'ws-growth',
        smidrYaml(poky.url, { localConf: ['GROWTH = "1"', 'STANDIN_OUTPUT_BYTES = "200000"'] }),
      );
      const app = path.join(ws, 'meta-smidr-test', 'recipes-test', 'smidr-app', 'smidr-app_1.0.bb');
      const sizes: number[] = [];
      let workingSet = 0;
      for (let run = 1; run <= 5; run++) {
        if (run > 1)
          commitFile(
            ws,
            app,
            readFileSync(app, 'utf8').replace(/STANDIN_OUTPUT = ".*"/, `STANDIN_OUTPUT = "smidr-app run ${run}"`),
          );
        const r = await job({ workspace: ws, inputs: { 'cache-key-prefix': 'growth' } });
        ok(r);
        // What the next run restores: the newest base and the newest delta on it.
        const machine = sstateEntries().filter((e) => e.key.startsWith('smidr-v2-growth-sstate-machine-'));
        const base = machine.filter((e) => e.key.includes('@base-')).at(-1)!;
        const id = base.key.split('@base-')[1]!;
        const delta = machine.filter((e) => e.key.includes(`@delta-${id}-`)).at(-1);
        const restored = base.sizeBytes + (delta?.sizeBytes ?? 0);
        sizes.push(restored);
        if (run === 1) workingSet = restored;
      }
      // A delta and the base's dropped objects stay under a third of the base (parts.ts DELTA_SHARE).
      expect(Math.max(...sizes) / workingSet).toBeLessThanOrEqual(1 + DELTA_SHARE + 0.05);
      // Only objects travel: no signature file of a task without an archive (an earlier build's
      // do_compile, say) rides along from entry to entry.
      const newest = sstateEntries()
        .filter((e) => e.key.startsWith('smidr-v2-growth-sstate-machine-'))
        .at(-1)!;
      const files = execFileSync('bash', ['-c', 'zstd -q -d -c | tar -tf -'], {
        input: await service.readArchive(newest.id),
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
      }).split('\n');
      const signatures = files.filter((f) => f.endsWith('.tar.zst.siginfo'));
      expect(signatures.length).toBeGreaterThan(0);
      for (const sig of signatures) expect(files).toContain(sig.slice(0, -'.siginfo'.length));
    },
    LONG,
  );
});

describe('entries found wherever the runner lives', () => {
  it(
    'a runner with another RUNNER_TEMP and workspace restores what the first saved, to a 100% match',
    async () => {
      const yaml = smidrYaml(poky.url);
      const inputs = { 'cache-key-prefix': 'moved' };
      const hereWs = jobWorkspace(root, 'ws-here', yaml);
      const here = await job({ workspace: hereWs, inputs });
      // A second self-hosted runner installed elsewhere: other RUNNER_TEMP, other workspace depth,
      // the same commit checked out (so the same layer revisions, the same key).
      const elsewhere = path.join(root, 'second-runner', '_work');
      const thereWs = path.join(elsewhere, 'example', 'example');
      git(root, 'clone', '-q', hereWs, thereWs);
      const there = await job({ workspace: thereWs, runnerTemp: path.join(elsewhere, '_temp'), inputs });
      ok(here);
      ok(there);
      expect(there.main.outputs['sstate-cache-hit']).toBe('exact');
      expect(there.main.outputs['downloads-cache-hit']).toBe('exact');
      expect(there.main.outputs['sstate-match']).toBe('100');
      expect(standinReport(there.main.outputs['build-dir']!).tasks_run).toEqual([]);
    },
    LONG,
  );
});

function commitFile(ws: string, file: string, text: string): void {
  writeFileSync(file, text);
  git(ws, 'commit', '-q', '-am', 'change');
}
