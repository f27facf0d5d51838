/**
 * The parts layout end to end (dist/ as the runner runs it, the real @actions/cache client, the
 * loopback cache service, the BitBake stand-in in the builder container): a cold matrix saves one
 * shared part and a part per machine; a one-recipe change uploads a delta; base + delta restore
 * to a 100% match; a missing delta or base costs reuse, never the build.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CacheService } from '../support/cache-service/index.js';
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

const LONG = 1_200_000;
const MACHINES = ['qemux86-64', 'qemuarm64', 'genericx86-64'];
let world: CacheWorld;
let root: string;
let poky: GitRemote;
let service: CacheService;
let ws: string;
let runs = 0;

type Job = { main: StepResult; post: StepResult };

/** One leg of run `run`: its own machine (RUNNER_TEMP and job directory), the run's id shared with its other legs. */
function leg(run: number, machine: string, o: Partial<CacheJob> = {}): Promise<Job> {
  const r = cacheRunner(world, run * 10 + MACHINES.indexOf(machine), {
    workspace: ws,
    runnerTemp: path.join(root, 'temp', `${run}-${machine}`),
    ...o,
    inputs: { machine, 'cache-key-prefix': 'parts', ...o.inputs },
  });
  return runJob({ ...r, runId: String(7000 + run) });
}

function ok(r: Job): void {
  expect(r.main.exitCode, r.main.stdout).toBe(0);
  expect(r.post.exitCode, r.post.stdout).toBe(0);
}

const entries = (part: string) => service.entries().filter((e) => e.key.startsWith(`smidr-v2-parts-${part}`));
const warnings = (r: Job) => [...r.main.annotations, ...r.post.annotations].filter((a) => a.startsWith('::warning'));

/** Paths in a stored archive. */
async function listing(id: number): Promise<string[]> {
  return execFileSync('bash', ['-c', 'zstd -q -d -c | tar -tf -'], {
    input: await service.readArchive(id),
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  })
    .split('\n')
    .filter((l) => l && !l.endsWith('/'));
}

function changeApp(text: string): void {
  const app = path.join(ws, 'meta-smidr-test', 'recipes-test', 'smidr-app', 'smidr-app_1.0.bb');
  writeFileSync(app, readFileSync(app, 'utf8').replace(/STANDIN_OUTPUT = ".*"/, `STANDIN_OUTPUT = "${text}"`));
  git(ws, 'commit', '-q', '-am', text);
}

beforeAll(async () => {
  world = await startCacheWorld('cache-parts');
  ({ root, poky, service } = world);
  // Large tune objects (busybox, zlib), as a real build's are next to one application's: a
  // one-recipe change is then a small share of the machine part, as in a real build.
  const big = ['busybox', 'zlib'].map((pn) => `STANDIN_OUTPUT_BYTES:pn-${pn} = "1000000"`);
  ws = jobWorkspace(root, 'ws', smidrYaml(poky.url, { localConf: big }));
}, LONG);

afterAll(() => stopCacheWorld(world));

describe('a matrix of three machines over runs', () => {
  let cold: Job[];
  let changed: Job;
  let after: Job;

  beforeAll(async () => {
    runs++;
    // The legs of one run start together, as a matrix does: all cold, racing for the shared keys.
    cold = await Promise.all(MACHINES.map((m) => leg(runs, m)));
    changeApp('smidr-app 1.1');
    runs++;
    changed = await leg(runs, 'qemux86-64');
    runs++;
    after = await leg(runs, 'qemux86-64');
  }, LONG);

  it('the cold legs save one shared part, a part per machine and one downloads part, and warn about nothing', async () => {
    for (const r of cold) ok(r);
    expect(entries('sstate-shared').map((e) => e.key)).toEqual([
      expect.stringMatching(/^smidr-v2-parts-sstate-shared-scarthgap-poky-[\w.+-]+@base-7001-1-[0-9a-f]{12}$/),
    ]);
    const machines = entries('sstate-machine').filter((e) => e.key.includes('@base-7001-1-'));
    expect(machines).toHaveLength(3);
    for (const m of MACHINES) expect(machines.filter((e) => e.key.includes(`-${m}@base-7001-1-`))).toHaveLength(1);
    expect(entries('downloads')).toHaveLength(1);
    // Two legs lost each race: that is information, not a warning.
    const lost = cold.map((r) => r.post.stdout.match(/was saved by another job of this run first/g)?.length ?? 0);
    expect(lost.reduce((a, b) => a + b, 0)).toBe(4);
    for (const r of cold) expect(warnings(r)).toEqual([]);
    // Native objects are in the shared part, none in a machine part.
    const shared = await listing(entries('sstate-shared')[0]!.id);
    expect(shared.some((f) => /\/sstate-cache\/universal\/.*sstate:quilt-native:/.test(f))).toBe(true);
    const machine = await listing(machines[0]!.id);
    expect(machine.some((f) => f.includes('/sstate-cache/universal/'))).toBe(false);
    expect(machine.some((f) => f.endsWith('/hashserv/hashserv.db'))).toBe(true);
  });

  it("a leg's next run after a one-recipe change uploads a delta of that recipe's objects and the DB, nothing else", async () => {
    ok(changed);
    expect(changed.main.outputs['sstate-cache-hit']).toBe('partial');
    expect(changed.post.stdout).toMatch(
      /machine cache: saved delta \S+@delta-7001-1-[0-9a-f]{12}-7002-1-[0-9a-f]{12} on /,
    );
    expect(changed.post.stdout).toMatch(/shared cache: not saved: nothing new since the restore/);
    expect(changed.post.stdout).toMatch(/downloads cache: not saved: nothing new since the restore/);
    const [delta] = entries('sstate-machine').filter((e) => e.key.includes('@delta-'));
    const files = await listing(delta!.id);
    const pns = new Set(files.filter((f) => f.includes('/sstate:')).map((f) => f.split('/sstate:')[1]!.split(':')[0]));
    expect([...pns].sort()).toEqual(['smidr-app', 'smidr-image']);
    expect(files.some((f) => f.endsWith('/hashserv/hashserv.db'))).toBe(true);
    expect(changed.post.summary).toContain('delta on `smidr-v2-parts-sstate-machine-');
  });

  it('the run after restores base and delta and matches 100%', () => {
    ok(after);
    expect(after.main.outputs['sstate-cache-hit']).toBe('exact');
    expect(after.main.outputs['hashserv-cache-hit']).toBe('exact');
    expect(after.main.outputs['sstate-match']).toBe('100');
    expect(standinReport(after.main.outputs['build-dir']!).tasks_run).toEqual([]);
    expect(after.main.stdout).toMatch(
      /machine cache: exact; base \S+@base-7001-1-\S+: \d+ objects.*; delta \S+@delta-7001-1-/,
    );
    expect(after.main.summary).toMatch(/\| machine sstate \+ hash-equivalence DB \| exact \| `[^`]+@base-7001-1-/);
    expect(after.post.stdout).toMatch(/machine cache: not saved: no new sstate objects and no new equivalences/);
  });
});

describe('entries gone from the service', () => {
  it(
    'a missing delta: the base alone, the difference rebuilt, the build successful',
    async () => {
      await service.deleteEntries((e) => e.key.includes('-sstate-machine-') && e.key.includes('@delta-'));
      runs++;
      const r = await leg(runs, 'qemux86-64');
      ok(r);
      expect(r.main.outputs['sstate-cache-hit']).toBe('partial');
      expect(recipesRun(standinReport(r.main.outputs['build-dir']!))).toEqual(['smidr-app', 'smidr-image']);
    },
    LONG,
  );

  it(
    'a missing base: its delta is ignored with a warning, the part builds cold, the build succeeds',
    async () => {
      await service.deleteEntries((e) => e.key.includes('-sstate-machine-') && e.key.includes('-qemux86-64@base-'));
      runs++;
      const r = await leg(runs, 'qemux86-64');
      ok(r);
      expect(r.main.stdout).toMatch(/::warning::machine cache: \S+@delta-\S+ is there but not the base it sits on/);
      expect(standinReport(r.main.outputs['build-dir']!).tasks_run.length).toBeGreaterThan(0);
      // The shared part still came: native objects were not rebuilt.
      const ran = standinReport(r.main.outputs['build-dir']!).tasks_run;
      expect(ran.some((t) => t.startsWith('quilt-native:'))).toBe(false);
      expect(r.post.stdout).toMatch(/machine cache: saved base /);
    },
    LONG,
  );
});
