/**
 * The parts layout as restoreCaches and saveCaches run it: every part at once, and the per-cache
 * figures (downloads, sstate) the outputs and the single-layout summary rows show, summed up
 * from the parts.
 */
import type { CacheDirs } from '../bitbake/workspace.js';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import {
  type CacheService,
  cleanDownloads,
  type Inventory,
  type MatchKind,
  pruneSstate,
  type RestoredCache,
  type SavedCache,
  type SavedCaches,
  type SaveJob,
} from './caches.js';
import { dbFiles, downloadPartObjects, sstatePartObjects } from './entries.js';
import type { CacheKeys } from './keys.js';
import { type PartRecord, type PartToSave, type RestoredPart, restorePart, savePart } from './part-caches.js';
import { PART_NAMES, type PartName, type SavedPart } from './parts.js';
import { sstateScope } from './sstate.js';

type Keys = Required<Pick<CacheKeys, 'lineages' | 'run' | 'state'>>;

function partKeys(keys: CacheKeys): Keys {
  return { lineages: keys.lineages!, run: keys.run!, state: keys.state! };
}

export async function restoreLayoutParts(
  keys: CacheKeys,
  dirs: CacheDirs,
  timeoutMs: number,
  service: CacheService,
): Promise<{
  downloads: RestoredCache;
  sstate: RestoredCache;
  dbKind: MatchKind;
  parts: RestoredPart[];
  records: Partial<Record<PartName, PartRecord>>;
}> {
  const done = await Promise.all(PART_NAMES.map((p) => restoreGuarded(p, keys, dirs, timeoutMs, service)));
  const parts = done.map((d) => d.restored);
  const records = Object.fromEntries(done.map((d) => [d.restored.part, d.record]));
  const of = (names: PartName[]) => parts.filter((p) => names.includes(p.part));
  const [shared, machine] = of(['shared', 'machine']) as [RestoredPart, RestoredPart];
  return {
    downloads: summed(of(['downloads']), of(['downloads'])[0]!.kind),
    // The machine part last: its key is the one sstate-cache-key shows.
    sstate: summed([shared, machine], sstateKind(shared.kind, machine.kind)),
    // The DB travels in the machine part.
    dbKind: machine.kind,
    parts,
    records,
  };
}

/** A part whose restore failed in an unforeseen way (a file where a directory was wanted) is a warning and a cold part, never a failed build. */
async function restoreGuarded(
  part: PartName,
  keys: CacheKeys,
  dirs: CacheDirs,
  timeoutMs: number,
  service: CacheService,
): Promise<{ restored: RestoredPart; record: PartRecord }> {
  try {
    return await restorePart(part, partKeys(keys), dirs, timeoutMs, service);
  } catch (e) {
    const warning = `${part} cache: restore failed, building this part without it: ${errorMessage(e)}`;
    log.warning(warning);
    return {
      restored: { part, lineage: keys.lineages![part], kind: 'miss', seconds: 0, warning },
      record: { restored: [] },
    };
  }
}

/**
 * The machine part's match: it holds what this build's revisions made (the shared part is saved
 * only when it gains objects, so its newest entry often comes from older revisions while being
 * complete); partial when only one of the two came.
 */
function sstateKind(shared: MatchKind, machine: MatchKind): MatchKind {
  if (shared === 'miss' && machine === 'miss') return 'miss';
  if (shared === 'miss' || machine === 'miss') return 'partial';
  return machine;
}

function summed(parts: RestoredPart[], kind: MatchKind): RestoredCache {
  const entries = parts.flatMap((p) => [p.base, p.delta].filter((e) => e !== undefined));
  const archives = entries.map((e) => e.archiveBytes).filter((n) => n !== undefined);
  const newest = parts.map((p) => p.delta?.key ?? p.base?.key).filter((k) => k !== undefined);
  const warnings = parts.map((p) => p.warning).filter((w) => w !== undefined);
  return {
    kind,
    key: newest.at(-1),
    // They ran at the same time.
    seconds: Math.max(0, ...parts.map((p) => p.seconds)),
    bytes: entries.reduce((n, e) => n + e.bytes, 0),
    archiveBytes: archives.length ? archives.reduce((n, b) => n + b, 0) : undefined,
    warning: warnings.length ? warnings.join('; ') : undefined,
  };
}

export async function saveLayoutParts(job: SaveJob, inventory: Inventory): Promise<SavedCaches> {
  const { dirs, restored } = job;
  const records = inventory.parts ?? {};
  const record = (p: PartName): PartRecord => records[p] ?? { restored: [] };
  await cleanDownloads(dirs);
  const plan = await pruneSstate(job, inventory);
  const toSave: PartToSave[] = [
    { part: 'downloads', current: await downloadPartObjects(dirs), record: record('downloads') },
  ];
  const skipped: SavedPart[] = [];
  if ('skipped' in plan) {
    for (const part of ['shared', 'machine'] as const) {
      log.info(`${part} cache: not saved: ${plan.skipped}`);
      skipped.push({ part, lineage: restored.keys.lineages![part], skipped: plan.skipped });
    }
  } else {
    const keep = plan.prune.keep;
    toSave.push(
      {
        part: 'shared',
        current: sstatePartObjects(
          dirs,
          keep.filter((o) => sstateScope(o) === 'shared'),
        ),
        record: record('shared'),
      },
      {
        part: 'machine',
        current: sstatePartObjects(
          dirs,
          keep.filter((o) => sstateScope(o) === 'machine'),
        ),
        record: record('machine'),
        extra: { ...dbFiles(dirs), changed: plan.dbChanged },
      },
    );
  }
  const saved = await Promise.all(
    toSave.map((p) => savePart(p, partKeys(restored.keys), dirs, job.settings.timeoutMs, job.service)),
  );
  const parts = PART_NAMES.map((name) => [...saved, ...skipped].find((s) => s.part === name)!);
  const of = (names: PartName[]) => parts.filter((p) => names.includes(p.part));
  return {
    downloads: savedSum(of(['downloads'])),
    sstate: { ...savedSum(of(['shared', 'machine'])), pruned: 'skipped' in plan ? undefined : plan.pruned },
    parts,
  };
}

function savedSum(parts: SavedPart[]): SavedCache {
  const up = parts.filter((p) => p.key && !p.lostRace);
  const sum = (f: (p: SavedPart) => number | undefined) =>
    up.some((p) => f(p) !== undefined) ? up.reduce((n, p) => n + (f(p) ?? 0), 0) : undefined;
  const warnings = parts.map((p) => p.warning).filter((w) => w !== undefined);
  return {
    key: up.at(-1)?.key,
    bytes: sum((p) => p.bytes),
    archiveBytes: sum((p) => p.archiveBytes),
    seconds: up.length ? Math.max(...up.map((p) => p.seconds ?? 0)) : undefined,
    skipped:
      up.length === 0 && warnings.length === 0
        ? parts.map((p) => p.skipped ?? 'saved by another job').join('; ')
        : undefined,
    warning: warnings.length ? warnings.join('; ') : undefined,
  };
}
