/**
 * Downloads, sstate and the hash-equivalence DB through the GitHub cache service: restored in the
 * main step before BitBake, saved in the post step after pruning. The DB travels in the same
 * entry as sstate, so whenever sstate is restored its equivalences come with it. Cache trouble of
 * any kind is a warning: the build goes on cold.
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
import {
  applyPrune,
  listSstate,
  planPrune,
  type PrunePlan,
  removeUnarchivable,
  sstateNames,
  type SstateObject,
} from './sstate.js';
import { restoreWithin, saveWithin } from './transfer.js';

/** How bytes reach the cache service, and what time it is: the seams the unit tests replace. */
export interface CacheService {
  restore(
    paths: string[],
    key: string,
    restoreKeys: string[],
    limitMs: number,
  ): Promise<{ key?: string; archiveBytes?: number }>;
  save(paths: string[], key: string, limitMs: number): Promise<{ id: number; archiveBytes?: number }>;
  now(): number;
}

/** @actions/cache in the killable worker process, and the wall clock. */
export const actionsCache: CacheService = {
  restore: (paths, key, restoreKeys, limitMs) => restoreWithin(limitMs, paths, key, restoreKeys),
  save: (paths, key, limitMs) => saveWithin(limitMs, paths, key),
  now: () => Date.now(),
};

/** The cache inputs a save depends on: the post step gets them as the main step read them. */
export type SaveSettings = Pick<CacheInputs, 'save' | 'saveReason' | 'saveOnFailure' | 'sizeLimitBytes' | 'timeoutMs'>;

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

/** What pruning dropped from the sstate entry, for the log and the summary. */
export interface PruneSummary {
  objects: number;
  bytes: number;
  /** Older objects for the same recipe, architecture and task that this build neither used nor made. */
  superseded: number;
  /** Least recently used objects dropped to stay under cache-size-limit, as `pn:task`, oldest first. */
  overLimit: string[];
}

/** What the restore found, for the post step to save against (part of the step state). */
export interface RestoredCaches {
  keys: CacheKeys;
  /** Exactly the path lists given to restoreCache: the cache version hashes them. */
  paths: { downloads: string[]; sstate: string[] };
  downloads: RestoredCache;
  sstate: RestoredCache;
  hashserv: MatchKind;
  /** What was there after restore, so the post step can tell whether the build added anything. */
  inventoryFile: string;
  dbFingerprint?: string;
  /** Objects unpacked from here on get a newer mtime: that is how "used by this build" shows. */
  buildStartedMs: number;
}

interface Inventory {
  sstate: string[];
  downloads: string[];
}

export const HASHSERV_DB = 'hashserv.db';
/** BitBake's persistent unihash cache, in PERSISTENT_DIR (the DB directory, before 2.18). */
const UNIHASH_CACHE = 'bb_unihashes.dat';

export function cachePaths(dirs: CacheDirs): RestoredCaches['paths'] {
  return { downloads: [dirs.downloads], sstate: [dirs.sstate, dirs.hashserv] };
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
    log.info(
      `downloads    key ${keys.downloads.key}\n             restore keys ${keys.downloads.restoreKeys.join(' | ')}`,
    );
    log.info(`sstate + DB  key ${keys.sstate.key}\n             restore keys ${keys.sstate.restoreKeys.join(' | ')}`);
  });

  // Independent caches: restore them at the same time.
  const [downloads, sstate] = await Promise.all([
    restoreOne('downloads', paths.downloads, keys.downloads, timeoutMs, service),
    restoreOne('sstate', paths.sstate, keys.sstate, timeoutMs, service),
  ]);
  const db = path.join(dirs.hashserv, HASHSERV_DB);
  // BitBake before 2.18 also keeps its unihash cache there, and it alone carries equivalences.
  const equivalences = (await exists(db)) || (await exists(path.join(dirs.hashserv, UNIHASH_CACHE)));
  const hashserv: MatchKind = sstate.kind !== 'miss' && equivalences ? sstate.kind : 'miss';
  const inventory: Inventory = {
    sstate: await sstateNames(dirs.sstate),
    downloads: await downloadNames(dirs.downloads),
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
  };
}

/** One part restored: a miss, a failure or a timeout leaves its directories empty and warns at most. */
export async function restoreOne(
  name: string,
  paths: string[],
  key: CacheKey,
  timeoutMs: number,
  service: CacheService = actionsCache,
): Promise<RestoredCache> {
  const started = service.now();
  let restored: string | undefined;
  let archiveBytes: number | undefined;
  let warning: string | undefined;
  try {
    ({ key: restored, archiveBytes } = await service.restore(paths, key.key, [...key.restoreKeys], timeoutMs));
  } catch (e) {
    warning = `${name} cache: restore failed, building without it: ${errorMessage(e)}`;
    log.warning(warning);
  }
  if (!restored) {
    // A corrupt or truncated archive is reported as a miss but may have left files behind.
    for (const p of paths) await emptyDir(p);
  }
  const kind = matchKind(key, restored);
  const result: RestoredCache = {
    kind,
    key: restored,
    seconds: (service.now() - started) / 1000,
    bytes: dirBytes(paths),
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

/** One save: what was restored, where the caches are, the settings, and the service. */
interface SaveJob {
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
): Promise<{ downloads: SavedCache; sstate: SavedCache }> {
  const job: SaveJob = { restored, dirs, settings, service };
  const inventory = JSON.parse(await fs.readFile(restored.inventoryFile, 'utf8')) as Inventory;
  const [downloads, sstate] = await Promise.all([saveDownloads(job, inventory), saveSstate(job, inventory)]);
  if (downloads.skipped) log.info(`downloads cache: not saved: ${downloads.skipped}`);
  if (sstate.skipped) log.info(`sstate cache: not saved: ${sstate.skipped}`);
  return { downloads, sstate };
}

async function saveDownloads(job: SaveJob, inventory: Inventory): Promise<SavedCache> {
  const removed = await removeUnarchivableDownloads(job.dirs.downloads);
  if (removed.length > 0) log.info(`downloads: left out ${removed.length} lock or partial files`);
  const before = new Set(inventory.downloads);
  const added = (await downloadNames(job.dirs.downloads)).filter((n) => !before.has(n));
  if (added.length === 0) return { skipped: 'no new downloads' };
  return upload('downloads', job.restored.paths.downloads, job.restored.keys.downloads.key, job);
}

async function saveSstate(job: SaveJob, inventory: Inventory): Promise<SavedCache> {
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
    budgetBytes: sstateBudget(job.settings.sizeLimitBytes, objects, dbBytes(db)),
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
    `sstate: ${plan.created} new objects${plan.dbChanged ? ', hash-equivalence DB changed' : ''}; entry ${formatBytes(plan.prune.keptBytes)}`,
  );
  return { ...(await upload('sstate', restored.paths.sstate, restored.keys.sstate.key, job)), pruned };
}

/** What an sstate save does: nothing (and why), or prune by this plan and upload. */
export type SstateSavePlan =
  { skipped: string } | { prune: PrunePlan; pruned: PruneSummary; created: number; dbChanged: boolean };

/** Saves only when the build created objects or equivalences; prunes to the working set and budget first. */
export function planSstateSave(
  objects: SstateObject[],
  o: { restored: ReadonlySet<string>; buildStartedMs: number; budgetBytes?: number; dbChanged: boolean },
): SstateSavePlan {
  const prune = planPrune(objects, o);
  const created = prune.keep.filter((x) => !o.restored.has(x.path)).length;
  if (created === 0 && !o.dbChanged) return { skipped: 'no new sstate objects and no new equivalences' };
  const overLimit = prune.drop.filter((d) => d.reason === 'budget').map((d) => `${d.object.pn}:do_${d.object.task}`);
  const pruned: PruneSummary = {
    objects: prune.drop.length,
    bytes: prune.droppedBytes,
    superseded: prune.drop.length - overLimit.length,
    overLimit,
  };
  return { prune, pruned, created, dbChanged: o.dbChanged };
}

/**
 * cache-size-limit caps the archive, which also holds the DB and a tar header per file; objects
 * are zstd already, so the archive is about as large as what goes in.
 */
export function sstateBudget(
  sizeLimitBytes: number | undefined,
  objects: SstateObject[],
  dbBytes: number,
): number | undefined {
  if (sizeLimitBytes === undefined) return undefined;
  const files = objects.reduce((n, o) => n + 1 + o.companions.length, 0);
  return Math.max(0, sizeLimitBytes - dbBytes - TAR_BYTES_PER_FILE * files - TAR_BYTES_FIXED);
}

function dbBytes(db: string): number {
  return lstatOrUndefined(db)?.size ?? 0;
}

/** A header block per file plus padding to the next 512-byte block, at most. */
const TAR_BYTES_PER_FILE = 1024;
/** Directory entries and the end-of-archive blocks. */
const TAR_BYTES_FIXED = 256 * 1024;

async function upload(name: string, paths: string[], key: string, job: SaveJob): Promise<SavedCache> {
  const started = job.service.now();
  try {
    const { id, archiveBytes } = await job.service.save(paths, key, job.settings.timeoutMs);
    const seconds = (job.service.now() - started) / 1000;
    if (id === -1) {
      const warning = `${name} cache: not saved under ${key} (the cache service refused or failed; see above)`;
      log.warning(warning);
      return { warning, seconds };
    }
    const bytes = dirBytes(paths);
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
