/**
 * Downloads, sstate and the hash-equivalence DB through the GitHub cache service: restored in the
 * main step before BitBake, saved in the post step after pruning. The DB travels in the same
 * entry as sstate, so whenever sstate is restored its equivalences come with it. Cache trouble of
 * any kind is a warning: the build goes on cold.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import * as core from '@actions/core';

import { State } from '../action/constants.js';
import type { CacheDirs } from '../bitbake/workspace.js';
import { errorMessage } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import { dirBytes } from '../util/fs.js';
import { log } from '../util/log.js';
import { downloadNames, removeUnarchivableDownloads } from './downloads.js';
import { checkpointDb, dbFingerprint } from './hashserv-db.js';
import { type CacheKey, type CacheKeys, matchKind } from './keys.js';
import {
  applyPrune,
  listSstate,
  planPrune,
  removeStaleSiginfo,
  removeUnarchivable,
  sstateNames,
  type SstateObject,
} from './sstate.js';
import { restoreWithin, saveWithin } from './transfer.js';

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

/** Everything the post step needs, kept in one state entry. */
export interface CacheState {
  keys: CacheKeys;
  /** Exactly the path lists given to restoreCache: the cache version hashes them. */
  paths: { downloads: string[]; sstate: string[] };
  dirs: CacheDirs;
  restored: { downloads: RestoredCache; sstate: RestoredCache; hashserv: MatchKind };
  /** What was there after restore, so the post step can tell whether the build added anything. */
  inventoryFile: string;
  dbFingerprint?: string;
  buildStartedMs: number;
  save: boolean;
  saveReason: string;
  saveOnFailure: boolean;
  sizeLimitBytes?: number;
  /** Longest one restore or save may take before the service is given up on. */
  timeoutMs: number;
}

interface Inventory {
  sstate: string[];
  downloads: string[];
}

export const HASHSERV_DB = 'hashserv.db';
/** BitBake's persistent unihash cache, in PERSISTENT_DIR (the DB directory, before 2.18). */
const UNIHASH_CACHE = 'bb_unihashes.dat';

export function cachePaths(dirs: CacheDirs): CacheState['paths'] {
  return { downloads: [dirs.downloads], sstate: [dirs.sstate, dirs.hashserv] };
}

export async function restoreCaches(
  keys: CacheKeys,
  dirs: CacheDirs,
  inventoryFile: string,
  timeoutMs: number,
): Promise<CacheState['restored'] & { dbFingerprint?: string }> {
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
    restoreOne('downloads', paths.downloads, keys.downloads, timeoutMs),
    restoreOne('sstate', paths.sstate, keys.sstate, timeoutMs),
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
  return { downloads, sstate, hashserv, dbFingerprint: dbFingerprint(db) };
}

async function restoreOne(name: string, paths: string[], key: CacheKey, timeoutMs: number): Promise<RestoredCache> {
  const started = Date.now();
  let restored: string | undefined;
  let archiveBytes: number | undefined;
  let warning: string | undefined;
  try {
    ({ key: restored, archiveBytes } = await restoreWithin(timeoutMs, paths, key.key, [...key.restoreKeys]));
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
    seconds: (Date.now() - started) / 1000,
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

export function saveCacheState(s: CacheState): void {
  core.saveState(State.Caches, JSON.stringify(s));
}

export function loadCacheState(): CacheState | undefined {
  const raw = core.getState(State.Caches);
  return raw ? (JSON.parse(raw) as CacheState) : undefined;
}

/** Whether the post step should save at all, and if not, why. */
export function saveDecision(
  s: Pick<CacheState, 'save' | 'saveReason' | 'saveOnFailure'>,
  result: string | undefined,
): string | undefined {
  if (!s.save) return s.saveReason;
  if (result === undefined) return 'the build did not start';
  if (result !== 'success' && !s.saveOnFailure) return `the build ended in ${result} and save-on-failure is false`;
  return undefined;
}

export async function saveCaches(s: CacheState): Promise<{ downloads: SavedCache; sstate: SavedCache }> {
  const inventory = JSON.parse(await fs.readFile(s.inventoryFile, 'utf8')) as Inventory;
  const [downloads, sstate] = await Promise.all([saveDownloads(s, inventory), saveSstate(s, inventory)]);
  if (downloads.skipped) log.info(`downloads cache: not saved: ${downloads.skipped}`);
  if (sstate.skipped) log.info(`sstate cache: not saved: ${sstate.skipped}`);
  return { downloads, sstate };
}

async function saveDownloads(s: CacheState, inventory: Inventory): Promise<SavedCache> {
  const removed = await removeUnarchivableDownloads(s.dirs.downloads);
  if (removed.length > 0) log.info(`downloads: left out ${removed.length} lock or partial files`);
  const before = new Set(inventory.downloads);
  const added = (await downloadNames(s.dirs.downloads)).filter((n) => !before.has(n));
  if (added.length === 0) return { skipped: 'no new downloads' };
  return upload('downloads', s.paths.downloads, s.keys.downloads.key, s.timeoutMs);
}

async function saveSstate(s: CacheState, inventory: Inventory): Promise<SavedCache> {
  const db = path.join(s.dirs.hashserv, HASHSERV_DB);
  if (await exists(db)) {
    // BitBake's hash server leaves its rows in the WAL; fold them in so the archive is whole.
    const checkpoint = checkpointDb(db);
    if (!checkpoint.ok) {
      log.warning(`hash-equivalence DB is unreadable (${checkpoint.error}); saving sstate without it`);
      for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) await fs.rm(f, { force: true });
    }
  }
  await removeUnarchivable(s.dirs.sstate);
  const staleSiginfo = await removeStaleSiginfo(s.dirs.sstate, s.buildStartedMs);
  if (staleSiginfo.files.length > 0)
    log.info(
      `sstate: left out ${staleSiginfo.files.length} signature files of earlier builds' tasks that have no archive (${formatBytes(staleSiginfo.bytes)})`,
    );

  const restored = new Set(inventory.sstate);
  const objects = await listSstate(s.dirs.sstate);
  const plan = planPrune(objects, {
    buildStartedMs: s.buildStartedMs,
    restored,
    budgetBytes: await sstateBudget(s, objects, db),
  });
  const created = plan.keep.filter((o) => !restored.has(o.path)).length;
  const dbChanged = dbFingerprint(db) !== s.dbFingerprint;
  if (created === 0 && !dbChanged) return { skipped: 'no new sstate objects and no new equivalences' };
  await applyPrune(s.dirs.sstate, plan);
  const overLimit = plan.drop.filter((d) => d.reason === 'budget').map((d) => `${d.object.pn}:do_${d.object.task}`);
  const pruned: PruneSummary = {
    objects: plan.drop.length,
    bytes: plan.droppedBytes,
    superseded: plan.drop.length - overLimit.length,
    overLimit,
  };
  if (pruned.objects > 0) {
    log.info(
      `sstate: pruned ${pruned.objects} objects (${formatBytes(pruned.bytes)}): ${pruned.superseded} superseded, ${overLimit.length} over the size limit${overLimit.length ? ` (${overLimit.join(', ')})` : ''}`,
    );
  }
  log.info(
    `sstate: ${created} new objects${dbChanged ? ', hash-equivalence DB changed' : ''}; entry ${formatBytes(plan.keptBytes)}`,
  );
  return { ...(await upload('sstate', s.paths.sstate, s.keys.sstate.key, s.timeoutMs)), pruned };
}

/**
 * cache-size-limit caps the archive, which also holds the DB and a tar header per file; objects
 * are zstd already, so the archive is about as large as what goes in.
 */
async function sstateBudget(s: CacheState, objects: SstateObject[], db: string): Promise<number | undefined> {
  if (s.sizeLimitBytes === undefined) return undefined;
  const files = objects.reduce((n, o) => n + 1 + o.companions.length, 0);
  const dbBytes = await fs.stat(db).then(
    (st) => st.size,
    () => 0,
  );
  return Math.max(0, s.sizeLimitBytes - dbBytes - TAR_BYTES_PER_FILE * files - TAR_BYTES_FIXED);
}

/** A header block per file plus padding to the next 512-byte block, at most. */
const TAR_BYTES_PER_FILE = 1024;
/** Directory entries and the end-of-archive blocks. */
const TAR_BYTES_FIXED = 256 * 1024;

async function upload(name: string, paths: string[], key: string, timeoutMs: number): Promise<SavedCache> {
  const started = Date.now();
  try {
    const { id, archiveBytes } = await saveWithin(timeoutMs, paths, key);
    const seconds = (Date.now() - started) / 1000;
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
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.map((e) => fs.rm(path.join(dir, e), { recursive: true, force: true })));
}
