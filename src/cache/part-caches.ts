/**
 * Restoring and saving the parts layout (parts.ts): per part, the newest base of its lineage and
 * the newest delta of that base, downloaded at once, all parts at once; after the build, per
 * part, a delta or a new base (or nothing). Every fallback warns and goes on: an evicted base
 * (a delta without its base is ignored: the part builds cold), a base that cannot be downloaded
 * (the part builds cold), a delta that cannot (the base alone).
 */
import type { CacheDirs } from '../bitbake/workspace.js';
import { errorMessage } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { log } from '../util/log.js';
import type { CacheService, MatchKind } from './caches.js';
import { discard, type EntryKind, type PartFiles, stage, stagedObjects, stagingEntry, unstage } from './entries.js';
import type { CacheKeys } from './keys.js';
import {
  baseIdOf,
  baseKey,
  deltaKey,
  deltaPrefix,
  type PartName,
  type PartSavePlan,
  planPartSave,
  type SavedPart,
  stateOf,
} from './parts.js';
import { lostRace } from './transfer.js';

/** One entry of a part as restored. */
export interface RestoredEntry {
  key: string;
  /** The part's objects in it, and their bytes on disk. */
  objects: number;
  bytes: number;
  archiveBytes?: number;
}

export interface RestoredPart {
  part: PartName;
  lineage: string;
  kind: MatchKind;
  base?: RestoredEntry;
  delta?: RestoredEntry;
  seconds: number;
  warning?: string;
}

/** What the post step needs of a part's restore: the base's objects with their bytes, and all objects restored. */
export interface PartRecord {
  base?: { key: string; objects: [string, number][] };
  restored: string[];
}

type Keys = Required<Pick<CacheKeys, 'lineages' | 'run' | 'state'>>;

export async function restorePart(
  part: PartName,
  keys: Keys,
  dirs: CacheDirs,
  timeoutMs: number,
  service: CacheService,
): Promise<{ restored: RestoredPart; record: PartRecord }> {
  const started = service.now();
  const lineage = keys.lineages[part];
  const entry = (kind: EntryKind) => stagingEntry(dirs, part, kind);
  const result = (r: Partial<RestoredPart>, record: PartRecord = { restored: [] }) => {
    const restored: RestoredPart = { part, lineage, kind: 'miss', seconds: (service.now() - started) / 1000, ...r };
    if (r.warning) log.warning(r.warning);
    logRestored(restored);
    return { restored, record };
  };
  discard(entry('base'));
  discard(entry('delta'));

  // The newest base and the newest delta of the lineage at once: one round trip, no lookup first.
  // The newest delta nearly always sits on the newest base (a new base supersedes the older
  // deltas); when it does not, it is dropped and the base restores alone.
  const [base, delta] = await Promise.all([
    fetchEntry(service, entry('base'), baseKey(lineage, keys.run, keys.state), [`${lineage}base-`], timeoutMs),
    fetchEntry(service, entry('delta'), `${lineage}delta-`, [`${lineage}delta-`], timeoutMs),
  ]);
  if (!base.key) {
    discard(entry('base'));
    discard(entry('delta'));
    if (base.error) return result({ warning: `${part} cache: restore failed, building without it: ${base.error}` });
    if (delta.key)
      return result({
        warning: `${part} cache: ${delta.key} is there but not the base it sits on (evicted?): building this part cold`,
      });
    return result({});
  }
  const found = base.key;
  const onBase = delta.key?.startsWith(deltaPrefix(lineage, baseIdOf(lineage, found)!));
  if (delta.key && !onBase)
    log.info(`${part} cache: the newest delta ${delta.key} sits on another base than ${found}: using the base alone`);
  const baseObjects = await stagedObjects(dirs, part, entry('base'));
  unstage(entry('base'));
  const restoredBase: RestoredEntry = { key: base.key, archiveBytes: base.archiveBytes, ...totals(baseObjects) };
  const record: PartRecord = {
    base: { key: base.key, objects: baseObjects.map((o) => [o.name, o.bytes]) },
    restored: baseObjects.map((o) => o.name),
  };
  let warning: string | undefined;
  let restoredDelta: RestoredEntry | undefined;
  if (delta.key && onBase) {
    const deltaObjects = await stagedObjects(dirs, part, entry('delta'));
    // After the base: the delta's copy of the DB is the newer one.
    unstage(entry('delta'));
    restoredDelta = { key: delta.key, archiveBytes: delta.archiveBytes, ...totals(deltaObjects) };
    record.restored.push(...deltaObjects.map((o) => o.name));
  } else {
    discard(entry('delta'));
    if (delta.error)
      warning = `${part} cache: the newest delta could not be restored (${delta.error}): using the base ${found} alone`;
  }
  const newest = restoredDelta?.key ?? base.key;
  return result(
    {
      kind: stateOf(newest) === keys.state ? 'exact' : 'partial',
      base: restoredBase,
      delta: restoredDelta,
      warning,
    },
    record,
  );
}

async function fetchEntry(
  service: CacheService,
  entry: ReturnType<typeof stagingEntry>,
  key: string,
  restoreKeys: string[],
  timeoutMs: number,
): Promise<{ key?: string; archiveBytes?: number; error?: string }> {
  try {
    return await service.restore(entry, key, restoreKeys, timeoutMs);
  } catch (e) {
    return { error: errorMessage(e) };
  }
}

function totals(objects: { bytes: number }[]): { objects: number; bytes: number } {
  return { objects: objects.length, bytes: objects.reduce((n, o) => n + o.bytes, 0) };
}

function logRestored(r: RestoredPart): void {
  const one = (what: string, e: RestoredEntry) =>
    `${what} ${e.key}: ${e.objects} objects, ${formatBytes(e.bytes)}${e.archiveBytes !== undefined ? ` from a ${formatBytes(e.archiveBytes)} archive` : ''}`;
  const parts = [r.base && one('base', r.base), r.delta && one('delta', r.delta)].filter(Boolean);
  log.info(`${r.part} cache: ${r.kind}${parts.length ? `; ${parts.join('; ')}` : ''} in ${r.seconds.toFixed(1)} s`);
}

/** A part to save: its objects now, what the restore recorded, and the files every entry of it carries. */
export interface PartToSave {
  part: PartName;
  current: PartFiles[];
  record: PartRecord;
  extra?: PartFiles & { changed: boolean };
}

export async function savePart(
  p: PartToSave,
  keys: Keys,
  dirs: CacheDirs,
  timeoutMs: number,
  service: CacheService,
): Promise<SavedPart> {
  const lineage = keys.lineages[p.part];
  const plan: PartSavePlan = planPartSave({
    base: p.record.base && { key: p.record.base.key, objects: new Map(p.record.base.objects) },
    restored: new Set(p.record.restored),
    current: p.current,
    extra: p.extra,
  });
  if ('skipped' in plan) {
    log.info(`${p.part} cache: not saved: ${plan.skipped}`);
    return { part: p.part, lineage, skipped: plan.skipped };
  }
  const key =
    plan.kind === 'base'
      ? baseKey(lineage, keys.run, keys.state)
      : deltaKey(lineage, baseIdOf(lineage, plan.base)!, keys.run, keys.state);
  const entry = stagingEntry(dirs, p.part, plan.kind);
  const byName = new Map(p.current.map((o) => [o.name, o]));
  const files = plan.objects.map((o) => byName.get(o.name)!);
  const saved: SavedPart = {
    part: p.part,
    lineage,
    kind: plan.kind,
    baseKey: plan.kind === 'delta' ? plan.base : undefined,
    objects: plan.objects.length,
    bytes: plan.bytes,
    why: plan.kind === 'base' ? plan.why : undefined,
  };
  const started = service.now();
  try {
    stage(entry, p.extra ? [...files, p.extra] : files);
    const { id, archiveBytes, refused } = await service.save(entry, key, timeoutMs);
    saved.seconds = (service.now() - started) / 1000;
    if (id === -1 && lostRace(refused)) {
      log.info(`${p.part} cache: ${key} was saved by another job of this run first (${refused}); nothing to add`);
      return { ...saved, key, lostRace: true };
    }
    if (id === -1) {
      const warning = `${p.part} cache: not saved under ${key} (${refused ?? 'the cache service refused or failed; see above'})`;
      log.warning(warning);
      return { ...saved, warning };
    }
    const on = plan.kind === 'delta' ? ` on ${plan.base}` : ` (${plan.why})`;
    log.info(
      `${p.part} cache: saved ${plan.kind} ${key}${on}: ${plan.objects.length} objects${p.extra ? ' and the hash-equivalence DB' : ''}, ${formatBytes(plan.bytes)}${archiveBytes !== undefined ? `, a ${formatBytes(archiveBytes)} archive` : ''}, in ${saved.seconds.toFixed(1)} s`,
    );
    return { ...saved, key, archiveBytes };
  } catch (e) {
    const warning = `${p.part} cache: save failed: ${errorMessage(e)}`;
    log.warning(warning);
    return { ...saved, warning };
  } finally {
    discard(entry);
  }
}
