/**
 * The files of a part's entry, and the fixed staging directories entries travel through.
 *
 * The cache version hashes the path list, and an entry is immutable, so a base or a delta cannot
 * be saved from a list of files that changes each run. Each is saved from a fixed directory under
 * the cache root, `entries/<part>-base` or `entries/<part>-delta`, into which the files are hard
 * linked (same file system: no copy) under their path relative to the cache root
 * (`sstate-cache/ab/cd/sstate:…`, `hashserv/hashserv.db`, `downloads/…`). A restore unpacks into
 * the same directory and moves the files into place. Base and delta have directories of their own
 * so both download at once.
 */
import {
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import * as path from 'node:path';

import type { CacheDirs } from '../bitbake/workspace.js';
import { errorCode } from '../util/errors.js';
import { lstatOrUndefined, readDirents, walk } from '../util/fs.js';
import { downloadNames } from './downloads.js';
import type { PartName, PartObject } from './parts.js';
import { listSstate, type SstateObject } from './sstate.js';
import type { EntryPaths } from './transfer.js';

/** The directory the cache directories sit in (RUNNER_TEMP/smidr/cache on a runner). */
export function cacheRoot(dirs: CacheDirs): string {
  return path.dirname(dirs.sstate);
}

export type EntryKind = 'base' | 'delta';

/** One part's base or delta as @actions/cache is given it: one fixed path, relative to the cache root. */
export function stagingEntry(dirs: CacheDirs, part: PartName, kind: EntryKind): EntryPaths {
  return { root: cacheRoot(dirs), paths: [`entries/${part}-${kind}`] };
}

function stagingDir(entry: EntryPaths): string {
  return path.join(entry.root, entry.paths[0]!);
}

/** An object of a part with the files that make it up, relative to the cache root. */
export interface PartFiles extends PartObject {
  files: string[];
}

/** Sstate objects as part objects: the archive with its companions. */
export function sstatePartObjects(dirs: CacheDirs, objects: SstateObject[]): PartFiles[] {
  const rel = path.relative(cacheRoot(dirs), dirs.sstate);
  return objects.map((o) => ({
    name: o.path,
    bytes: o.bytes,
    files: [o.path, ...o.companions].map((f) => `${rel}/${f}`),
  }));
}

/**
 * Completed downloads as part objects: the stamp, what it stamps (a file, or a directory such as
 * a git2/ clone, whole) and side files named after it (`<file>.resolved`), never a lock.
 */
export async function downloadPartObjects(dirs: CacheDirs, dir = dirs.downloads): Promise<PartFiles[]> {
  const rel = path.relative(cacheRoot(dirs), dirs.downloads);
  const out: PartFiles[] = [];
  for (const stamp of await downloadNames(dir)) {
    const target = stamp.slice(0, -'.done'.length);
    const parent = path.posix.dirname(target);
    const base = path.posix.basename(target);
    const names = readDirents(path.join(dir, parent))
      .map((d) => d.name)
      .filter((n) => n === base || (n.startsWith(`${base}.`) && !n.endsWith('.lock')));
    const files: string[] = [];
    let bytes = 0;
    for (const n of names) {
      const r = parent === '.' ? n : `${parent}/${n}`;
      for (const f of filesBelow(path.join(dir, r))) {
        files.push(`${rel}/${r}${f}`);
        bytes += lstatOrUndefined(path.join(dir, r + f))?.size ?? 0;
      }
    }
    out.push({ name: stamp, bytes, files });
  }
  return out;
}

/** '' for a file, else '/<relative path>' of every file or symlink below the directory. */
function filesBelow(p: string): string[] {
  if (!lstatOrUndefined(p)?.isDirectory()) return [''];
  const out: string[] = [];
  walk(p, ({ rel, dirent }) => {
    if (!dirent.isDirectory()) out.push(`/${rel}`);
  });
  return out;
}

/** The hash-equivalence DB directory's files (the DB, BitBake's unihash cache), relative to the cache root. */
export function dbFiles(dirs: CacheDirs): PartFiles {
  const rel = path.relative(cacheRoot(dirs), dirs.hashserv);
  const files: string[] = [];
  let bytes = 0;
  for (const d of readDirents(dirs.hashserv)) {
    // SQLite's shared memory and rollback journal are never read back by another process.
    if (!d.isFile() || d.name.endsWith('-shm') || d.name.endsWith('-journal')) continue;
    files.push(`${rel}/${d.name}`);
    bytes += lstatOrUndefined(path.join(dirs.hashserv, d.name))?.size ?? 0;
  }
  return { name: rel, bytes, files };
}

/**
 * Empties the staging directory, then links every file into it; copies where a link is refused.
 * Synchronous, like the walker (util/fs.ts): tens of thousands of links, each awaited on the
 * thread pool, took seconds (20,000 files: about 5 s) where plain calls take a fraction of one.
 */
export function stage(entry: EntryPaths, objects: PartFiles[]): void {
  const dir = stagingDir(entry);
  rmSync(dir, { recursive: true, force: true });
  const made = new Set<string>();
  for (const o of objects) {
    for (const f of o.files) {
      const to = path.join(dir, f);
      const parent = path.dirname(to);
      if (!made.has(parent)) {
        mkdirSync(parent, { recursive: true });
        made.add(parent);
      }
      linkOrCopy(path.join(entry.root, f), to);
    }
  }
}

/**
 * A hard link where the kernel allows it; a copy where it does not (another file system, or
 * protected_hardlinks and a file the runner's user neither owns nor may write).
 */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    if (errorCode(e) !== 'EXDEV' && errorCode(e) !== 'EPERM' && errorCode(e) !== 'EACCES') throw e;
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else copyFileSync(from, to);
  }
}

/** What a restored entry holds, as the part's objects. */
export async function stagedObjects(dirs: CacheDirs, part: PartName, entry: EntryPaths): Promise<PartObject[]> {
  const staged = stagingDir(entry);
  const under = (d: string) => path.join(staged, path.relative(cacheRoot(dirs), d));
  if (part === 'downloads') return downloadPartObjects(dirs, under(dirs.downloads));
  return (await listSstate(under(dirs.sstate))).map((o) => ({ name: o.path, bytes: o.bytes }));
}

/**
 * Moves a restored entry's files to where BitBake finds them (replacing what is there), then
 * removes the staging directory. A directory whose place is free or empty moves whole, in one
 * rename: a base restored into emptied cache directories moves in a handful of calls, whatever
 * its size; a delta merges into the base file by file only where both have a directory.
 * Synchronous, so two parts moving into the same directories never interleave.
 */
export function unstage(entry: EntryPaths): void {
  const dir = stagingDir(entry);
  if (lstatOrUndefined(dir)?.isDirectory()) mergeInto(dir, entry.root);
  discard(entry);
}

function mergeInto(from: string, to: string): void {
  for (const d of readDirents(from)) {
    const source = path.join(from, d.name);
    const target = path.join(to, d.name);
    const there = lstatOrUndefined(target);
    if (d.isDirectory() && there?.isDirectory()) {
      if (readDirents(target).length > 0) {
        mergeInto(source, target);
        continue;
      }
      rmdirSync(target);
    } else if (there?.isDirectory()) {
      rmSync(target, { recursive: true, force: true });
    }
    renameSync(source, target);
  }
}

export function discard(entry: EntryPaths): void {
  rmSync(stagingDir(entry), { recursive: true, force: true });
}
