/**
 * A matrix of three machines over successive runs, through the action's cache code against the
 * loopback cache service, in both layouts side by side: the parts layout (shared and per-machine
 * sstate as bases and deltas) and the single entry per machine of earlier releases
 * (SMIDR_CACHE_LAYOUT=single). No BitBake: each leg's "build" is a synthetic sstate working set,
 * a share of it the same for every machine (native objects, under `universal/`), the rest the
 * machine's own; before every run after the first about 2% of all objects get a new unihash (a
 * new layer revision), and the older object of the same recipe and task is left behind unused, as
 * BitBake leaves it. Each leg restores on a fresh runner, touches the objects it uses, writes the
 * ones it lacks, and saves; the legs of a run restore before any of them saves, as a matrix does.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as Sqlite from 'node:sqlite';

import type { CacheDirs } from '../src/bitbake/workspace.js';
import type * as Caches from '../src/cache/caches.js';
import type * as Keys from '../src/cache/keys.js';
import type * as Parts from '../src/cache/parts.js';
import { applyClientEnv, type CacheService, startCacheService } from '../test/support/cache-service/index.js';
import { REPO_ROOT } from '../test/support/run-action.js';
import { describeMachine, measuredAt } from './support/doc.js';
import { useShippedWorker } from './support/shipped-worker.js';
import { median, mib, middleHalf, ratio, seconds, table } from './support/stats.js';

export interface MatrixOptions {
  root: string;
  runs: number;
  /** One machine's working set, bytes. */
  workingSetBytes: number;
  log: (m: string) => void;
}

const MACHINES = ['qemux86-64', 'qemuarm64', 'genericarm64'];
/** The machine-independent share of a working set, in percent. */
const SHARES = [30, 50, 70];
const LAYOUTS: Keys.CacheLayout[] = ['single', 'parts'];
const OBJECTS_PER_MACHINE = 200;
const CHANGE_SHARE = 0.02;

/** The action's cache code as tsc builds it into lib/ (its worker process sits beside it there). */
async function load() {
  const lib = (m: string) => path.join(REPO_ROOT, 'lib', 'cache', m);
  return {
    caches: (await import(lib('caches.js'))) as typeof Caches,
    keys: (await import(lib('keys.js'))) as typeof Keys,
    parts: (await import(lib('parts.js'))) as typeof Parts,
  };
}

/** One synthetic object: a recipe task of the shared pool or of one machine, at some generation. */
interface Obj {
  pn: string;
  shared: boolean;
  bytes: number;
  generation: number;
}

function objectPath(o: Obj, machine: string): string {
  const unihash = createHex(`${o.pn}:${o.shared ? '' : machine}:${o.generation}`);
  const dirs = `${unihash.slice(0, 2)}/${unihash.slice(2, 4)}`;
  return o.shared
    ? `universal/${dirs}/sstate:${o.pn}-native:x86_64-linux:1.0:r0:x86_64:12:${unihash}_populate_sysroot.tar.zst`
    : `${dirs}/sstate:${o.pn}:${machine}-poky-linux:1.0:r0:${machine}:12:${unihash}_populate_sysroot.tar.zst`;
}

function createHex(seed: string): string {
  let h = 2166136261;
  let out = '';
  for (let round = 0; out.length < 64; round++) {
    for (const c of `${seed}#${round}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

interface LegFigures {
  restore: number;
  save: number;
  uploaded: number;
  kinds: string;
}

interface RunFigures {
  /** What the service keeps after the run's saves and the clean-up of superseded entries. */
  held: number;
  /**
   * What it would keep without that clean-up (the single layout as it shipped before issue 13:
   * every run's entries stay until the repository's 10 GB quota evicts the least recently used).
   */
  heldUncleaned: number;
  legs: LegFigures[];
}

export async function cacheMatrix(o: MatrixOptions): Promise<string> {
  const { caches, keys, parts } = await load();
  const work = path.join(o.root, 'matrix');
  await fs.rm(work, { recursive: true, force: true });
  const machineDesc = describeMachine(o.root);
  const date = measuredAt();
  await useShippedWorker();
  const service = await startCacheService({ protocol: 'v2' });
  const undo = applyClientEnv(service, { RUNNER_TEMP: path.join(work, 'client-temp') });
  const results = new Map<string, RunFigures[]>();
  try {
    for (const share of SHARES) {
      o.log(`share ${share}%: ${LAYOUTS.join(' and ')} layouts side by side`);
      const sims = LAYOUTS.map((layout) =>
        simulation({ share, layout, prefix: `m${share}-${layout}`, work, service, o, caches, keys, parts }),
      );
      for (let run = 1; run <= o.runs; run++) {
        for (const sim of sims) await sim.begin(run);
        // Leg by leg in both layouts, the order turning each time: a change in the machine's load
        // falls on both alike, where layout after layout it fell on one of them.
        for (let leg = 0; leg < MACHINES.length; leg++)
          for (const sim of (run + leg) % 2 ? sims : [...sims].reverse()) await sim.restore(leg);
        for (const sim of sims) await sim.finish(run);
      }
      for (const sim of sims) results.set(sim.prefix, sim.figures);
    }
    if (service.serverErrors().length > 0)
      throw new Error(`cache service errors: ${service.serverErrors().join('; ')}`);
  } finally {
    undo();
    await service.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
  return report(results, o, machineDesc, date);
}

interface SimInput {
  share: number;
  layout: Keys.CacheLayout;
  prefix: string;
  work: string;
  service: CacheService;
  o: MatrixOptions;
  caches: typeof Caches;
  keys: typeof Keys;
  parts: typeof Parts;
}

/** One layout's matrix, a run at a time: the legs' restores one by one, then their builds and saves. */
interface Simulation {
  prefix: string;
  figures: RunFigures[];
  /** A new layer revision (after the first run), and every leg on a fresh runner. */
  begin(run: number): Promise<void>;
  restore(leg: number): Promise<void>;
  finish(run: number): Promise<void>;
}

function simulation(s: SimInput): Simulation {
  const sharedCount = Math.round((OBJECTS_PER_MACHINE * s.share) / 100);
  const meanBytes = s.o.workingSetBytes / OBJECTS_PER_MACHINE;
  // Sizes vary (0.2x to 1.8x the mean) but are the same for every layout and share position.
  const size = (i: number) => Math.round(meanBytes * (0.2 + (1.6 * ((i * 7919) % 101)) / 100));
  const shared: Obj[] = Array.from({ length: sharedCount }, (_, i) => ({
    pn: `tool${i}`,
    shared: true,
    bytes: size(i),
    generation: 0,
  }));
  const own: Obj[] = Array.from({ length: OBJECTS_PER_MACHINE - sharedCount }, (_, i) => ({
    pn: `pkg${i}`,
    shared: false,
    bytes: size(i + 1000),
    generation: 0,
  }));
  const settings: Caches.SaveSettings = {
    save: true,
    saveReason: '',
    saveOnFailure: true,
    sizeLimitBytes: undefined,
    timeoutMs: 600_000,
  };
  const figures: RunFigures[] = [];
  let legs: { machine: string; dirs: CacheDirs; keys: Keys.CacheKeys }[] = [];
  let restored: { r: Caches.RestoredCaches; seconds: number }[] = [];
  const legRoot = (run: number, machine: string) => path.join(s.work, s.prefix, `${run}-${machine}`);

  return {
    prefix: s.prefix,
    figures,
    async begin(run) {
      if (run > 1) {
        // A new layer revision: ~2% of every pool rebuilt with a new unihash.
        for (const pool of [shared, own]) {
          const n = Math.max(1, Math.round(pool.length * CHANGE_SHARE));
          for (let k = 0; k < n; k++) pool[(run * 13 + k * 29) % pool.length]!.generation = run;
        }
      }
      legs = MACHINES.map((machine) => {
        const root = path.join(legRoot(run, machine), 'cache');
        return {
          machine,
          dirs: {
            sstate: path.join(root, 'sstate-cache'),
            downloads: path.join(root, 'downloads'),
            hashserv: path.join(root, 'hashserv'),
          },
          keys: s.keys.cacheKeys({
            userPrefix: s.prefix,
            series: 'scarthgap',
            distro: 'poky',
            machine,
            targets: ['core-image-minimal'],
            layers: [{ name: 'poky', commit: createHex(`rev${run}`).slice(0, 40) }],
            localConf: [],
            run: `${run}-1`,
            buildHost: 'builder',
            layout: s.layout,
          }),
        };
      });
      restored = [];
      for (const leg of legs) for (const d of Object.values(leg.dirs)) await fs.mkdir(d, { recursive: true });
    },
    async restore(i) {
      const leg = legs[i]!;
      const started = performance.now();
      const r = await s.caches.restoreCaches(
        leg.keys,
        leg.dirs,
        path.join(leg.dirs.sstate, '..', 'inventory.json'),
        600_000,
      );
      restored[i] = { r, seconds: (performance.now() - started) / 1000 };
    },
    async finish(run) {
      const out: LegFigures[] = [];
      for (const [i, leg] of legs.entries()) {
        await build(leg.dirs, leg.machine, [...shared, ...own], restored[i]!.r.buildStartedMs);
        const started = performance.now();
        const saved = await s.caches.saveCaches(restored[i]!.r, leg.dirs, settings);
        const seconds = (performance.now() - started) / 1000;
        const up = saved.parts
          ? saved.parts.filter((p) => p.key && !p.lostRace)
          : [saved.sstate, saved.downloads].filter((c) => c.key);
        out.push({
          restore: restored[i]!.seconds,
          save: seconds,
          uploaded: up.reduce((n, p) => n + (p.archiveBytes ?? 0), 0),
          kinds: saved.parts
            ? saved.parts
                .filter((p) => p.key && !p.lostRace && p.part !== 'downloads')
                .map((p) => `${p.part} ${p.kind}`)
                .join(', ') || 'nothing'
            : saved.sstate.key
              ? 'entry'
              : 'nothing',
        });
        await deleteSuperseded(s, saved, leg.keys);
        await fs.rm(legRoot(run, leg.machine), { recursive: true, force: true });
      }
      const held = s.service
        .entries()
        .filter((e) => e.key.startsWith(`smidr-v${s.layout === 'parts' ? 2 : 1}-${s.prefix}-`));
      const uploaded = out.reduce((n, l) => n + l.uploaded, 0);
      figures.push({
        held: held.reduce((n, e) => n + e.sizeBytes, 0),
        heldUncleaned: (figures.at(-1)?.heldUncleaned ?? 0) + uploaded,
        legs: out,
      });
      s.o.log(
        `  ${s.layout} run ${run}: held ${mib(figures.at(-1)!.held)}; ${out.map((l) => `${mib(l.uploaded)} (${l.kinds})`).join(' | ')}`,
      );
    },
  };
}

/**
 * What the clean-up after a save deletes (issue 13 item 3): in the parts layout the entries its
 * lineages supersede; in the single layout every older entry of the machine's sstate and of
 * downloads, the newest being the one a restore takes.
 */
async function deleteSuperseded(s: SimInput, saved: Caches.SavedCaches, k: Keys.CacheKeys): Promise<void> {
  if (saved.parts) {
    for (const l of s.parts.supersededPartLineages(saved.parts))
      await s.service.deleteEntries((e) => e.key.startsWith(l.prefix) && !l.keep.includes(e.key));
    return;
  }
  for (const prefix of [k.sstate.restoreKeys[2]!, k.downloads.restoreKeys[1]!]) {
    const newest = s.service
      .entries()
      .filter((e) => e.key.startsWith(prefix))
      .at(-1);
    if (newest) await s.service.deleteEntries((e) => e.key.startsWith(prefix) && e.id !== newest.id);
  }
}

/** The build: every object of the working set touched if it is there, written if not; the DB gains a row per object written. */
async function build(
  dirs: { sstate: string; hashserv: string },
  machine: string,
  objects: Obj[],
  startedMs: number,
): Promise<void> {
  const now = new Date(Math.max(Date.now(), startedMs + 1000));
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof Sqlite;
  const db = new DatabaseSync(path.join(dirs.hashserv, 'hashserv.db'));
  db.exec('CREATE TABLE IF NOT EXISTS made (path TEXT)');
  const insert = db.prepare('INSERT INTO made VALUES (?)');
  for (const o of objects) {
    const rel = objectPath(o, machine);
    const file = path.join(dirs.sstate, rel);
    const there = await fs.stat(file).catch(() => undefined);
    if (there) {
      await fs.utimes(file, now, now);
      continue;
    }
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, randomBytes(o.bytes));
    await fs.writeFile(`${file}.siginfo`, randomBytes(600));
    await fs.utimes(file, now, now);
    await fs.utimes(`${file}.siginfo`, now, now);
    insert.run(rel);
  }
  db.close();
}

function report(results: Map<string, RunFigures[]>, o: MatrixOptions, machine: string, date: string): string {
  const sections: string[] = [];
  const summary: string[][] = [
    [
      'shared share',
      'held after the last run: parts / single (cleaned up)',
      'held, mean over the runs: parts / single (cleaned up)',
      'held after the last run by single as shipped (never cleaned up)',
      'uploaded by an incremental leg (median, / working set)',
      'restore per leg (median): parts / single',
      'restore, leg by leg: parts / single (median, middle half)',
      'save per leg (median): parts / single',
    ],
  ];
  for (const share of SHARES) {
    const p = results.get(`m${share}-parts`)!;
    const s = results.get(`m${share}-single`)!;
    const rows: string[][] = [
      [
        'run',
        'held: parts',
        'held: single',
        'uploaded per leg: parts',
        'uploaded per leg: single',
        'restore per leg: parts / single',
        'save per leg: parts / single',
      ],
    ];
    for (let i = 0; i < p.length; i++) {
      const legs = (f: RunFigures, g: (l: LegFigures) => string) => f.legs.map(g).join(' · ');
      rows.push([
        String(i + 1),
        mib(p[i]!.held),
        mib(s[i]!.held),
        legs(p[i]!, (l) => `${mib(l.uploaded)} (${l.kinds})`),
        legs(s[i]!, (l) => mib(l.uploaded)),
        `${seconds(median(p[i]!.legs.map((l) => l.restore)))} / ${seconds(median(s[i]!.legs.map((l) => l.restore)))}`,
        `${seconds(median(p[i]!.legs.map((l) => l.save)))} / ${seconds(median(s[i]!.legs.map((l) => l.save)))}`,
      ]);
    }
    const later = (f: RunFigures[], g: (l: LegFigures) => number) => median(f.slice(1).flatMap((r) => r.legs.map(g)));
    const workingSet = median(s[0]!.legs.map((l) => l.uploaded));
    const mean = (f: RunFigures[]) => f.reduce((n, r) => n + r.held, 0) / f.length;
    const shipped = s.at(-1)!.heldUncleaned;
    // Each leg against the same leg of the other layout, restored right before or after it.
    const pairs = p.slice(1).flatMap((r, i) => r.legs.map((l, j) => l.restore / s[i + 1]!.legs[j]!.restore));
    const times = (x: number) => ratio(x, 1);
    summary.push([
      `${share}%`,
      `${mib(p.at(-1)!.held)} / ${mib(s.at(-1)!.held)} = ${ratio(p.at(-1)!.held, s.at(-1)!.held)}`,
      `${mib(mean(p))} / ${mib(mean(s))} = ${ratio(mean(p), mean(s))}`,
      `${mib(shipped)}: parts hold ${ratio(p.at(-1)!.held, shipped)}`,
      `${mib(later(p, (l) => l.uploaded))} (${((later(p, (l) => l.uploaded) / workingSet) * 100).toFixed(0)}%); single: ${mib(later(s, (l) => l.uploaded))} (${((later(s, (l) => l.uploaded) / workingSet) * 100).toFixed(0)}%)`,
      `${seconds(later(p, (l) => l.restore))} / ${seconds(later(s, (l) => l.restore))} = ${ratio(
        later(p, (l) => l.restore),
        later(s, (l) => l.restore),
      )}`,
      `${times(median(pairs))} (${middleHalf(pairs, times)})`,
      `${seconds(later(p, (l) => l.save))} / ${seconds(later(s, (l) => l.save))}`,
    ]);
    sections.push(`### Shared share ${share}%\n\n${table(rows)}`);
  }
  return `## Cache matrix

${date}. ${machine}.

${MACHINES.length} machines (${MACHINES.map((m) => `\`${m}\``).join(', ')}) over ${o.runs} runs, through the action's cache code
(\`restoreCaches\` / \`saveCaches\` from \`lib/\`, the worker process and the real \`@actions/cache\` client) against the
loopback cache service, in both layouts: **parts** (the default: shared sstate, per-machine sstate + DB, downloads; each a
base and a cumulative delta) and **single** (one sstate entry per machine and run, \`SMIDR_CACHE_LAYOUT=single\`). No BitBake:
each machine's working set is ${OBJECTS_PER_MACHINE} synthetic objects, ${mib(o.workingSetBytes)} of incompressible bytes, of
which the shared share sits under \`universal/\` and is the same for every machine; before every run after the first, ${CHANGE_SHARE * 100}% of
the objects of each pool get a new unihash and the older object is left unused (pruned as superseded). The legs of a run
restore on fresh runners before any of them saves, as a matrix does, then save one after the other. The two layouts run
side by side: each leg restores in one layout right after the same leg in the other, the order turning from leg to leg,
so the machine's load weighs on both alike; "leg by leg" is the median and middle half of those pairs' ratios. After every save the
entries that save superseded are deleted, as the clean-up of issue 13 item 3 does (single layout: every older entry of the
machine), so "held" is what the service keeps for the next run; that makes the single layout here stricter than it
shipped, when nothing deleted entries and each run's stayed until the 10 GB quota evicted them ("as shipped": the sum of
every archive it uploaded). Parts hold more than their ideal (the shared working set once and each machine's own) only by
objects a base still carries after a build superseded them: a new base, which sheds them, is uploaded once the delta and
those objects pass a third of the base. Uploaded: compressed archives. Times: wall clock of \`restoreCaches\` and
\`saveCaches\` per leg, with the cache worker as it ships (\`dist/cache-worker.js\`).

${table(summary)}

${sections.join('\n\n')}
`;
}
