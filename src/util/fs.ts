/**
 * The one directory walker, and what is built on it.
 *
 * Walking is synchronous and goes one directory at a time on purpose. A cache holds tens of
 * thousands of files; listing them all first, then stat-ing them all, kept everything alive at
 * once and made V8 grow the post step's heap by some 80 MB that it kept through the upload that
 * follows (10,000 objects: peak RSS 250-310 MB against 170 MB for @actions/cache alone; see
 * docs/benchmarks.md). Per directory, only what the visitor keeps stays alive; plain loops leave
 * no promise per file behind, and nothing else waits on the event loop meanwhile.
 */
import { type Dirent, lstatSync, readdirSync, type Stats } from 'node:fs';
import * as path from 'node:path';

import { errorCode } from './errors.js';

/** One entry met by walk(): its path relative to the root ('/'-separated) and its type. */
export interface WalkEntry {
  rel: string;
  dirent: Dirent;
  /** Names in the same directory, for rules that look at a neighbour (`x.done` beside `x`). */
  siblings: ReadonlySet<string>;
}

/**
 * Entries of dir, typed without following symlinks; none when it is missing or unreadable.
 * `onError` hears of a directory that exists but cannot be read (a missing one is just empty).
 */
export function readDirents(dir: string, onError?: (e: unknown) => void): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (onError && errorCode(e) !== 'ENOENT' && errorCode(e) !== 'ENOTDIR') onError(e);
    return [];
  }
}

/**
 * Visits every entry below root, depth first, never following symlinked directories. A visitor
 * returning 'skip' for a directory keeps the walk out of it; `after` runs once a directory's
 * entries have all been visited (to remove it if it became empty, say). Entries are sorted by
 * name so every listing is deterministic.
 */
export function walk(
  root: string,
  visit: (entry: WalkEntry) => void | 'skip',
  after?: (relDir: string) => void,
  onError?: (e: unknown) => void,
): void {
  const visitDir = (rel: string): void => {
    const entries = readDirents(rel ? path.join(root, rel) : root, onError).sort((a, b) => (a.name < b.name ? -1 : 1));
    const siblings = new Set(entries.map((e) => e.name));
    for (const dirent of entries) {
      const r = rel ? `${rel}/${dirent.name}` : dirent.name;
      if (visit({ rel: r, dirent, siblings }) === 'skip' || !dirent.isDirectory()) continue;
      visitDir(r);
      after?.(r);
    }
  };
  visitDir('');
}

/** lstat, or undefined for a file that is gone (another build may remove it meanwhile). */
export function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/** Bytes of the files below paths (a path may be a file); missing paths count as empty. */
export function dirBytes(paths: string[]): number {
  let total = 0;
  for (const p of paths) {
    const st = lstatOrUndefined(p);
    if (!st) continue;
    if (!st.isDirectory()) {
      total += st.size;
      continue;
    }
    walk(p, ({ rel, dirent }) => {
      if (!dirent.isDirectory()) total += lstatOrUndefined(path.join(p, rel))?.size ?? 0;
    });
  }
  return total;
}
