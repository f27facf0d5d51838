/**
 * Downloads, sstate and the hash-equivalence DB through the GitHub cache service: restored in the
 * main step before BitBake, saved in the post step after pruning. The DB travels with the sstate
 * it describes, so whenever that sstate is restored its equivalences come with it. Cache trouble
 * of any kind is a warning: the build goes on cold. Two layouts (keys.ts): parts (shared,
 * machine and downloads lineages of bases and deltas, parts-layout.ts) and the single entry per
 * cache of earlier releases, kept for the benchmarks' comparison.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { CacheInputs } from '../action/inputs.js';
import type { CacheDirs } from '../bitbake/workspace.js';
import { errorMessage } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { dirBytes, lstatOrUndefined, readDirents } from '../util/fs.js';
import { log } from '../util/log.js';
import { downloadNames, removeUnarchivableDownloads } from './downloads.js';
import { checkpointDb, dbFingerprint } from './hashserv-db.js';
import { type CacheKey, type CacheKeys, matchKind } from './keys.js';
import type { PartRecord, RestoredPart } from './part-caches.js';
import type { SavedPart } from './parts.js';
import { restoreLayoutParts, saveLayoutParts } from './parts-layout.js';
import { applyPrune, listSstate, removeUnarchivable, sstateNames } from './sstate.js';
import { planSstateSave, type PruneSummary, sstateBudget, type SstateSavePlan } from './sstate-plan.js';
import { type EntryPaths, restoreWithin, saveWithin } from './transfer.js';

/** How bytes reach the cache service, and what time it is: the seams the unit tests replace. */
export interface CacheService {
  restore(
    entry: EntryPaths,
    key: string,
    restoreKeys: string[],
    limitMs: number,
  ): Promise<{ key?: string; archiveBytes?: number }>;
  save(
    entry: EntryPaths,
    key: string,
    limitMs: number,
  ): Promise<{ id: number; archiveBytes?: number; refused?: string }>;
  now(): number;
}

/** @actions/cache in the killable worker process, and the wall clock. */
export const actionsCache: CacheService = {
  restore: (entry, key, restoreKeys, limitMs) => restoreWithin(limitMs, entry, key, restoreKeys),
  save: (entry, key, limitMs) => saveWithin(limitMs, entry, key),
  now: () => Date.now(),
};

/** The cache inputs a save depends on: the post step gets them as the main step read them. */
export type SaveSettings = Pick<CacheInputs, 'save' | 'saveReason' | 'saveOnFailure' | 'sizeLimitBytes' | 'timeoutMs'>;

export { planSstateSave, type PruneSummary, sstateBudget, type SstateSavePlan };

export type MatchKind = 'exact' | 'partial' | 'miss';

export interface RestoredCache {
  kind: MatchKind;
  key?: string;
  seconds: number;
  /** On disk after the restore. */
  bytes: number;
  /** The compressed archive downloaded. */
  archiveBytes?: number;
  warning?: string;
}

export interface SavedCache {
  key?: string;
  /** On disk before compression. */
  bytes?: number;
  /** The compressed archive uploaded. */
  archiveBytes?: number;
  seconds?: number;
  /** Why nothing was saved. */
  skipped?: string;
  warning?: string;
  pruned?: PruneSummary;
}

/** What the restore found, for the post step to save against (part of the step state). */
export interface RestoredCaches {
  keys: CacheKeys;
  /** Exactly the path lists given to restoreCache: the cache version hashes them. */
  paths: { downloads: EntryPaths; sstate: EntryPaths };
  downloads: RestoredCache;
  sstate: RestoredCache;
  hashserv: MatchKind;
  /** What was there after restore, so the post step can tell whether the build added anything. */
  inventoryFile: string;
  dbFingerprint?: string;
  /** Objects unpacked from here on get a newer mtime: that is how "used by this build" shows. */
  buildStartedMs: number;
  /** The parts layout: each part's base and delta as restored (downloads and sstate above sum them up). */
  parts?: RestoredPart[];
}

export interface Inventory {
  sstate: string[];
  downloads: string[];
  /** The parts layout: what each part's restore brought. */
  parts?: Partial<Record<string, PartRecord>>;
}

export const HASHSERV_DB = 'hashserv.db';
/** BitBake's persistent unihash cache, in PERSISTENT_DIR (the DB directory, before 2.18). */
const UNIHASH_CACHE = 'bb_unihashes.dat';

/**
 * The cache directories as entries: relative to the directory that holds them (RUNNER_TEMP/smidr/
 * cache on a runner), so neither the version nor the archive depends on where the runner lives.
 */
export function cachePaths(dirs: CacheDirs): RestoredCaches['paths'] {
  const root = path.dirname(dirs.sstate);
  const rel = (dir: string) => path.relative(root, dir);
  return {
    downloads: { root, paths: [rel(dirs.downloads)] },
    sstate: { root, paths: [rel(dirs.sstate), rel(dirs.hashserv)] },
  };
}

/** The directories (or files) an entry's paths name. */
function entryDirs(entry: EntryPaths): string[] {
  return entry.paths.map((p) => path.resolve(entry.root, p));
}

export async function restoreCaches(
  keys: CacheKeys,
  dirs: CacheDirs,
  inventoryFile: string,
  timeoutMs: number,
  service: CacheService = actionsCache,
): Promise<RestoredCaches> {
  const paths = cachePaths(dirs);
  await log.group('Cache configuration', async () => {
    for (const [part, value] of Object.entries(keys.parts)) log.info(`${part.padEnd(12)} ${value}`);
    if (keys.lineages) {
      for (const [part, lineage] of Object.entries(keys.lineages)) log.info(`${part.padEnd(12)} lineage ${lineage}`);
      return;
    }
    log.info(
      `downloads    key ${keys.downloads.key}\n             restore keys ${keys.downloads.restoreKeys.join(' | ')}`,
    );
    log.info(`sstate + DB  key ${keys.sstate.key}\n             restore keys ${keys.sstate.restoreKeys.join(' | ')}`);
  });

  // What is there after the restore is exactly what the entries held: on a runner that keeps
  // RUNNER_TEMP between jobs, an earlier job's objects would otherwise pass for restored ones and
  // never be saved.
  if (keys.lineages) for (const dir of [dirs.downloads, dirs.sstate, dirs.hashserv]) await emptyDir(dir);
  // Independent caches: restore them at the same time.
  const layout = keys.lineages
    ? await restoreLayoutParts(keys, dirs, timeoutMs, service)
    : await Promise.all([
        restoreOne('downloads', paths.downloads, keys.downloads, timeoutMs, service),
        restoreOne('sstate', paths.sstate, keys.sstate, timeoutMs, service),
      ]).then(([downloads, sstate]) => ({
        downloads,
        sstate,
        dbKind: sstate.kind,
        parts: undefined,
        records: undefined,
      }));
  const { downloads, sstate } = layout;
  const db = path.join(dirs.hashserv, HASHSERV_DB);
  // BitBake before 2.18 also keeps its unihash cache there, and it alone carries equivalences.
  const equivalences = (await exists(db)) || (await exists(path.join(dirs.hashserv, UNIHASH_CACHE)));
  const hashserv: MatchKind = layout.dbKind !== 'miss' && equivalences ? layout.dbKind : 'miss';
  const inventory: Inventory = {
    sstate: await sstateNames(dirs.sstate),
    downloads: await downloadNames(dirs.downloads),
    parts: layout.records,
  };
  await fs.mkdir(path.dirname(inventoryFile), { recursive: true });
  await fs.writeFile(inventoryFile, JSON.stringify(inventory));
  log.info(
    `Restored ${inventory.sstate.length} sstate objects, ${inventory.downloads.length} downloads, hash-equivalence DB: ${hashserv}`,
  );
  return {
    keys,
    paths,
    downloads,
    sstate,
    hashserv,
    inventoryFile,
    dbFingerprint: dbFingerprint(db),
    buildStartedMs: service.now(),
    parts: layout.parts,
  };
}

/** One part restored: a miss, a failure or a timeout leaves its directories empty and warns at most. */
export async function restoreOne(
  name: string,
  entry: EntryPaths,
  key: CacheKey,
  timeoutMs: number,
  service: CacheService = actionsCache,
): Promise<RestoredCache> {
  const started = service.now();
  let restored: string | undefined;
  let archiveBytes: number | undefined;
  let warning: string | undefined;
  try {
    ({ key: restored, archiveBytes } = await service.restore(entry, key.key, [...key.restoreKeys], timeoutMs));
  } catch (e) {
    warning = `${name} cache: restore failed, building without it: ${errorMessage(e)}`;
    log.warning(warning);
  }
  if (!restored) {
    // A corrupt or truncated archive is reported as a miss but may have left files behind.
    for (const p of entryDirs(entry)) await emptyDir(p);
  }
  const kind = matchKind(key, restored);
  const result: RestoredCache = {
    kind,
    key: restored,
    seconds: (service.now() - started) / 1000,
    bytes: dirBytes(entryDirs(entry)),
    archiveBytes,
    warning,
  };
  const archive = archiveBytes !== undefined ? ` from a ${formatBytes(archiveBytes)} archive` : '';
  log.info(
    `${name} cache: ${kind}${restored ? ` (${restored})` : ''}, ${formatBytes(result.bytes)}${archive} in ${result.seconds.toFixed(1)} s`,
  );
  return result;
}

/** Whether the post step should save at all, and if not, why. */
export function saveDecision(s: SaveSettings, result: string | undefined): string | undefined {
  if (!s.save) return s.saveReason;
  if (result === undefined) return 'the build did not start';
  if (result !== 'success' && !s.saveOnFailure) return `the build ended in ${result} and save-on-failure is false`;
  return undefined;
}

/** What a save did: per cache, and in the parts layout per part (what the clean-up of superseded entries reads). */
export interface SavedCaches {
  downloads: SavedCache;
  sstate: SavedCache;
  parts?: SavedPart[];
}

/** One save: what was restored, where the caches are, the settings, and the service. */
export interface SaveJob {
  restored: RestoredCaches;
  dirs: CacheDirs;
  settings: SaveSettings;
  service: CacheService;
}

export async function saveCaches(
  restored: RestoredCaches,
  dirs: CacheDirs,
  settings: SaveSettings,
  service: CacheService = actionsCache,
): Promise<SavedCaches> {
  const job: SaveJob = { restored, dirs, settings, service };
  const inventory = JSON.parse(await fs.readFile(restored.inventoryFile, 'utf8')) as Inventory;
  if (restored.keys.lineages) return saveLayoutParts(job, inventory);
  const [downloads, sstate] = await Promise.all([saveDownloads(job, inventory), saveSstate(job, inventory)]);
  if (downloads.skipped) log.info(`downloads cache: not saved: ${downloads.skipped}`);
  if (sstate.skipped) log.info(`sstate cache: not saved: ${sstate.skipped}`);
  return { downloads, sstate };
}

async function saveDownloads(job: SaveJob, inventory: Inventory): Promise<SavedCache> {
  await cleanDownloads(job.dirs);
  const before = new Set(inventory.downloads);
  const added = (await downloadNames(job.dirs.downloads)).filter((n) => !before.has(n));
  if (added.length === 0) return { skipped: 'no new downloads' };
  return upload('downloads', job.restored.paths.downloads, job.restored.keys.downloads.key, job);
}

async function saveSstate(job: SaveJob, inventory: Inventory): Promise<SavedCache> {
  const plan = await pruneSstate(job, inventory);
  if ('skipped' in plan) return plan;
  const { restored } = job;
  return { ...(await upload('sstate', restored.paths.sstate, restored.keys.sstate.key, job)), pruned: plan.pruned };
}

/**
 * Sstate made ready to archive: the DB checkpointed (or left out when unreadable), what is never
 * archived removed, and pruned to the working set and budget; or why nothing needs saving.
 */
export async function pruneSstate(job: SaveJob, inventory: Inventory): Promise<SstateSavePlan> {
  const { dirs, restored } = job;
  const db = path.join(dirs.hashserv, HASHSERV_DB);
  if (await exists(db)) {
    // BitBake's hash server leaves its rows in the WAL; fold them in so the archive is whole.
    const checkpoint = checkpointDb(db);
    if (!checkpoint.ok) {
      log.warning(`hash-equivalence DB is unreadable (${checkpoint.error}); saving sstate without it`);
      for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) await fs.rm(f, { force: true });
    }
  }
  const left = await removeUnarchivable(dirs.sstate, { signaturesBefore: restored.buildStartedMs });
  if (left.staleSignatures.length > 0)
    log.info(
      `sstate: left out ${left.staleSignatures.length} signature files of earlier builds' tasks that have no archive (${formatBytes(left.staleSignatureBytes)})`,
    );

  const objects = await listSstate(dirs.sstate);
  const plan = planSstateSave(objects, {
    restored: new Set(inventory.sstate),
    buildStartedMs: restored.buildStartedMs,
    budgetBytes: sstateBudget(job.settings.sizeLimitBytes, objects, lstatOrUndefined(db)?.size ?? 0),
    dbChanged: dbFingerprint(db) !== restored.dbFingerprint,
  });
  if ('skipped' in plan) return plan;
  await applyPrune(dirs.sstate, plan.prune);
  const { pruned } = plan;
  if (pruned.objects > 0) {
    log.info(
      `sstate: pruned ${pruned.objects} objects (${formatBytes(pruned.bytes)}): ${pruned.superseded} superseded, ${pruned.overLimit.length} over the size limit${pruned.overLimit.length ? ` (${pruned.overLimit.join(', ')})` : ''}`,
    );
  }
  log.info(
    `sstate: ${plan.created} new objects${plan.dbChanged ? ', hash-equivalence DB changed' : ''}; kept ${formatBytes(plan.prune.keptBytes)}`,
  );
  return plan;
}

/** Removes what never enters an archive from DL_DIR. */
export async function cleanDownloads(dirs: CacheDirs): Promise<void> {
  const removed = await removeUnarchivableDownloads(dirs.downloads);
  if (removed.length > 0) log.info(`downloads: left out ${removed.length} lock or partial files`);
}

async function upload(name: string, entry: EntryPaths, key: string, job: SaveJob): Promise<SavedCache> {
  const started = job.service.now();
  try {
    const { id, archiveBytes } = await job.service.save(entry, key, job.settings.timeoutMs);
    const seconds = (job.service.now() - started) / 1000;
    if (id === -1) {
      const warning = `${name} cache: not saved under ${key} (the cache service refused or failed; see above)`;
      log.warning(warning);
      return { warning, seconds };
    }
    const bytes = dirBytes(entryDirs(entry));
    const archive = archiveBytes !== undefined ? `, a ${formatBytes(archiveBytes)} archive` : '';
    log.info(
      `${name} cache: saved ${key} (${formatBytes(bytes)} before compression${archive}) in ${seconds.toFixed(1)} s`,
    );
    return { key, bytes, archiveBytes, seconds };
  } catch (e) {
    const warning = `${name} cache: save failed: ${errorMessage(e)}`;
    log.warning(warning);
    return { warning };
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function emptyDir(dir: string): Promise<void> {
  await Promise.all(readDirents(dir).map((e) => fs.rm(path.join(dir, e.name), { recursive: true, force: true })));
}
