/**
 * What an sstate save keeps: nothing when the build added nothing, else the working set pruned
 * to the size limit. Pure.
 */
import { planPrune, type PrunePlan, type SstateObject } from './sstate.js';

/** What pruning dropped from the sstate entry, for the log and the summary. */
export interface PruneSummary {
  objects: number;
  bytes: number;
  /** Older objects for the same recipe, architecture and task that this build neither used nor made. */
  superseded: number;
  /** Least recently used objects dropped to stay under cache-size-limit, as `pn:task`, oldest first. */
  overLimit: string[];
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

/** A header block per file plus padding to the next 512-byte block, at most. */
const TAR_BYTES_PER_FILE = 1024;
/** Directory entries and the end-of-archive blocks. */
const TAR_BYTES_FIXED = 256 * 1024;
