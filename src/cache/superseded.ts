/**
 * Which cache entries a save supersedes. Entries are immutable and keys roll, so every save adds
 * an entry beside the one it was restored from; left alone, the older ones fill the repository's
 * quota until GitHub evicts least recently used entries, often another matrix leg's. A lineage is
 * a key prefix under which a newer entry makes the older ones useless to the restores that search it.
 * Pure: the REST calls are in github-entries.ts, the sequence in cleanup.ts.
 */
import type { SavedCaches } from './caches.js';
import type { CacheEntryInfo } from './github-entries.js';
import type { CacheKeys } from './keys.js';
import { supersededPartLineages } from './parts.js';

/**
 * Entries whose key is `prefix` followed by text matching `rest` (if given) are superseded by the
 * save, except those in `keep`. `rest` tells a lineage from another whose name merely begins like
 * it, the sstate of `raspberrypi4` from that of `raspberrypi4-64`, where the prefix cannot.
 */
export interface Lineage {
  prefix: string;
  rest?: RegExp;
  keep: string[];
}

/** A 16-hex-digit hash of keys.ts followed by the next part of the key. */
const HASH = '[0-9a-f]{16}-';

/** The lineages a save supersedes, in the layout it saved in. */
export function supersededLineages(keys: CacheKeys, saved: SavedCaches): Lineage[] {
  return saved.parts
    ? supersededPartLineages(saved.parts)
    : supersededSingleLineages(keys, { downloads: saved.downloads.key, sstate: saved.sstate.key });
}

/**
 * The lineages of the single-entry layout (keys.ts), for the parts this job saved:
 * - sstate: `…-sstate-<series>-<distro>-<machine>-`, the machine-level restore key. Below it the
 *   key holds the layer and config hashes and the run: the same machine's older revisions. Its
 *   own restore keys fall back to this level, so they restore the newest entry under it anyway.
 * - downloads: `…-downloads-<series>-`: downloads do not depend on the machine or revisions, and a
 *   restore takes the newest entry of the series from any leg, so that entry holds what the older ones held.
 * A part not saved supersedes nothing.
 */
export function supersededSingleLineages(keys: CacheKeys, saved: { downloads?: string; sstate?: string }): Lineage[] {
  const lineages: Lineage[] = [];
  // restoreKeys run from specific to general; keys.test.ts pins the levels used here.
  // After the prefix: sstate `<layers hash>-<config hash>-<run>`, downloads `<layers hash>-<machine>-<run>`.
  if (saved.sstate)
    lineages.push({ prefix: keys.sstate.restoreKeys[2]!, rest: new RegExp(`^${HASH}${HASH}`), keep: [saved.sstate] });
  if (saved.downloads)
    lineages.push({ prefix: keys.downloads.restoreKeys[1]!, rest: new RegExp(`^${HASH}`), keep: [saved.downloads] });
  return lineages;
}

/** Where the job runs and since when: what it may delete. */
export interface DeletionScope {
  /** GITHUB_REF: only entries saved from this ref are deleted. */
  ref: string;
  /**
   * When this job's restore started, by GitHub's clock (it dates the entries), or a little before,
   * never after: entries saved since then are a concurrent job's, never ours to delete.
   */
  restoreStartedMs: number;
}

/** The entries of `listed` a lineage supersedes: on this ref, in the lineage, not kept, older than the restore. */
export function pickSuperseded(listed: CacheEntryInfo[], lineage: Lineage, scope: DeletionScope): CacheEntryInfo[] {
  return listed.filter(
    (e) =>
      e.ref === scope.ref &&
      e.key.startsWith(lineage.prefix) &&
      (lineage.rest?.test(e.key.slice(lineage.prefix.length)) ?? true) &&
      !lineage.keep.includes(e.key) &&
      // An unreadable date counts as new: when in doubt, keep.
      e.createdAtMs < scope.restoreStartedMs,
  );
}
