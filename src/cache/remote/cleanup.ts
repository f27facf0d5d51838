/**
 * Keeping the bucket from growing forever. S3 records when an object was written, not when it was
 * last read, so every build that may write also leaves a usage record (`usage/<day>/<build>.json`,
 * the keys it fetched or saved). Cleanup removes objects written more than N days ago that no
 * record of the last N days names, with their companions, and the records older than N days.
 */
import { errorMessage } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { objectKey, parseObjectKey, REMOTE_FOLDERS, type RemoteSettings, usageDay, usageKey } from './location.js';
import type { ObjectStore, StoredObject } from './store.js';

const DAY_MS = 86_400_000;
/** Files stored beside an sstate archive under its name plus a suffix; they go when it goes. */
const COMPANION = /\.(siginfo|sig)$/;

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Records what one build used; a failure costs only a warning (the objects may be removed earlier). */
export async function recordUsage(
  store: ObjectStore,
  settings: RemoteSettings,
  buildId: string,
  used: string[],
  nowMs = Date.now(),
): Promise<void> {
  if (used.length === 0) return;
  const keys = used.map((id) => {
    const slash = id.indexOf('/');
    return objectKey(settings, id.slice(0, slash) as 'sstate' | 'downloads', id.slice(slash + 1));
  });
  try {
    await store.putText(usageKey(settings, dayOf(nowMs), buildId), JSON.stringify({ keys }));
  } catch (e) {
    log.warning(`remote cache: could not record which objects this build used: ${errorMessage(e)}`);
  }
}

export interface CleanupPlan {
  remove: StoredObject[];
  removeBytes: number;
  keep: number;
  /** Usage records older than the window, removed with the objects. */
  oldRecords: string[];
}

/** Pure: which objects and records go, given the listing and the keys recent records name. */
export function planCleanup(
  settings: RemoteSettings,
  objects: StoredObject[],
  records: StoredObject[],
  recentlyUsed: ReadonlySet<string>,
  days: number,
  nowMs: number,
): CleanupPlan {
  const cutoff = nowMs - days * DAY_MS;
  const cutoffDay = dayOf(cutoff);
  const mainKey = (key: string) => {
    const parsed = parseObjectKey(settings, key);
    return parsed?.kind === 'sstate' ? key.replace(COMPANION, '') : key;
  };
  // An archive kept for being new or used keeps its companions, whatever their own dates.
  const kept = new Set<string>();
  for (const o of objects) {
    if (o.lastModified.getTime() >= cutoff || recentlyUsed.has(mainKey(o.key))) kept.add(mainKey(o.key));
  }
  const remove = objects.filter((o) => parseObjectKey(settings, o.key) && !kept.has(mainKey(o.key)));
  return {
    remove,
    removeBytes: remove.reduce((n, o) => n + o.size, 0),
    keep: objects.length - remove.length,
    oldRecords: records.filter((r) => (usageDay(settings, r.key) ?? '') < cutoffDay).map((r) => r.key),
  };
}

export async function cleanBucket(
  store: ObjectStore,
  settings: RemoteSettings,
  days: number,
  dryRun: boolean,
  nowMs = Date.now(),
): Promise<CleanupPlan> {
  const records: StoredObject[] = [];
  for await (const r of store.list(`${settings.prefix}${REMOTE_FOLDERS.usage}`)) records.push(r);
  const cutoffDay = dayOf(nowMs - days * DAY_MS);
  const recentlyUsed = new Set<string>();
  for (const r of records) {
    if ((usageDay(settings, r.key) ?? '') < cutoffDay) continue;
    const body = await store.get(r.key);
    if (!body) continue;
    const chunks: Buffer[] = [];
    for await (const c of body.body) chunks.push(c as Buffer);
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys?: unknown };
    if (Array.isArray(parsed.keys)) for (const k of parsed.keys) if (typeof k === 'string') recentlyUsed.add(k);
  }
  const objects: StoredObject[] = [];
  for (const kind of ['sstate', 'downloads'] as const)
    for await (const o of store.list(`${settings.prefix}${REMOTE_FOLDERS[kind]}`)) objects.push(o);
  const plan = planCleanup(settings, objects, records, recentlyUsed, days, nowMs);
  if (!dryRun) await store.delete([...plan.remove.map((o) => o.key), ...plan.oldRecords]);
  return plan;
}
