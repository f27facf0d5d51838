/**
 * Housekeeping of a self-hosted runner's persistent directories: removing sstate objects and build
 * directories no build has used for a while, safely while other builds on the host keep running.
 */
import { chmodSync, promises as fs, rmdirSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';

import { bitbakeRunning, BuildContainerProbe } from '../bitbake/in-use.js';
import { sstateFile } from '../cache/sstate.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { lstatOrUndefined, readDirents, walk } from '../util/fs.js';

export interface HousekeepingReport {
  /** sstate objects removed, each with its companions (.siginfo, .sig), and stale temp files. */
  sstateRemoved: number;
  sstateBytes: number;
  /** Paths of the build directories removed. */
  workspacesRemoved: string[];
  /** Old build directories kept because a BitBake or a build container still uses them. */
  skippedInUse: string[];
  /** What could not be removed, and why; housekeeping never fails the step. */
  problems: string[];
}

/** Where the host keeps builds and sstate (the step's directories, as they are). */
export interface HousekeptDirs {
  buildsDir: string;
  caches: { sstate: string };
  /** directories.tmp: a removed build's TMPDIR directory there (named like the build) goes with it. */
  tmpDirs?: string;
}

/** How old is too old (the cache inputs, as they are). */
export interface MaxAges {
  sstateMaxAgeDays: number;
  workspaceMaxAgeDays: number;
}

/**
 * Nothing younger than this is removed, whatever the configured age: a build that is writing an
 * sstate object, or has created its build directory and is still checking out layers, leaves
 * fresh mtimes and has no bitbake.lock yet.
 */
export const MIN_AGE_MS = 6 * 3600_000;

/** Build directories are named by `buildId`: readable part, then 8 hex digits. */
const WORKSPACE_NAME = /^[A-Za-z0-9_.-]+-[0-9a-f]{8}$/;
/** A build directory being removed is renamed first, so a removal cut short is finished later. */
const TRASH_PREFIX = '.smidr-trash-';

/**
 * Removes sstate objects unused for `sstateMaxAgeDays` and build directories untouched for
 * `workspaceMaxAgeDays`, safely while other builds run on the host. Never follows a symlink out
 * of the given directories.
 */
export async function housekeep(dirs: HousekeptDirs, ages: MaxAges, now = Date.now()): Promise<HousekeepingReport> {
  const report: HousekeepingReport = {
    sstateRemoved: 0,
    sstateBytes: 0,
    workspacesRemoved: [],
    skippedInUse: [],
    problems: [],
  };
  pruneSstate(dirs.caches.sstate, cutoff(now, ages.sstateMaxAgeDays), report);
  await pruneWorkspaces(dirs.buildsDir, cutoff(now, ages.workspaceMaxAgeDays), report, dirs.tmpDirs);
  return report;
}

function cutoff(now: number, days: number): number {
  if (!Number.isFinite(days) || days < 0) throw new RangeError(`a maximum age must be a number of days, not ${days}`);
  return now - Math.max(days * 86400_000, MIN_AGE_MS);
}

// --- sstate ----------------------------------------------------------------------------------

const HEX2 = /^[0-9a-f]{2}$/;

/**
 * Objects live in `SSTATE_DIR/[<NATIVELSBSTRING>/]<2 hex>/<2 hex>/`. Only that layout is entered,
 * so neither a signing build's temporary directory nor anything else kept beside sstate is touched.
 * A first-level hash directory goes when this pass emptied every object directory in it.
 */
function pruneSstate(root: string, before: number, report: HousekeepingReport): void {
  const problem = (e: unknown) => report.problems.push(errorMessage(e));
  /** First-level hash directories: their entries, and how many of them this pass emptied. */
  const hashDirs = new Map<string, { entries: number; emptied: number }>();
  walk(
    root,
    ({ rel, dirent, siblings }) => {
      if (!dirent.isDirectory()) return 'skip';
      const parts = rel.split('/');
      const hex = parts.map((p) => HEX2.test(p));
      const native = !hex[0];
      const depth = parts.length - (native ? 1 : 0);
      if (!parts.slice(native ? 1 : 0).every((_, i) => hex[i + (native ? 1 : 0)])) return 'skip';
      if (depth === 1) hashDirs.set(rel, { entries: 0, emptied: 0 });
      if (depth < 2) return;
      const parent = hashDirs.get(path.posix.dirname(rel));
      if (parent) parent.entries = siblings.size;
      try {
        if (pruneObjectDir(path.join(root, rel), before, report) && parent) parent.emptied++;
      } catch (e) {
        problem(e);
      }
      return 'skip';
    },
    (rel) => {
      const d = hashDirs.get(rel);
      if (d && d.emptied > 0 && d.emptied === d.entries) rmdirIfEmpty(path.join(root, rel));
    },
    problem,
  );
}

/** Returns whether the directory was emptied by this pass and then removed. */
function pruneObjectDir(dir: string, before: number, report: HousekeepingReport): boolean {
  const list = readDirents(dir, (e) => {
    throw e;
  });
  const groups = new Map<string, string[]>();
  for (const e of list) {
    const file = sstateFile(e.name);
    if (!file || !(e.isFile() || e.isSymbolicLink())) continue;
    // A temporary or orphan lock is judged alone, by its own mtime, which advances while a build writes it.
    const key = 'archive' in file && file.archive !== undefined ? file.archive : e.name;
    groups.set(key, [...(groups.get(key) ?? []), e.name]);
  }
  let gone = 0;
  for (const names of groups.values()) {
    const removed = removeStaleGroup(dir, names, before, report);
    if (removed.unlinked > 0) report.sstateRemoved++;
    report.sstateBytes += removed.bytes;
    gone += removed.gone;
  }
  // Only a directory this pass emptied: an empty one found as such may have just been created by
  // a build about to write its object into it.
  return gone > 0 && gone === list.length && rmdirIfEmpty(dir);
}

/**
 * Removes a group when every member is older than `before`. The stat comes right before the
 * unlink: a build that has just checked an object (sstate_checkhashes touches it) keeps it, and a
 * build that touches it in the few microseconds between loses only that object's setscene task,
 * which BitBake then runs for real.
 */
function removeStaleGroup(
  dir: string,
  names: string[],
  before: number,
  report: HousekeepingReport,
): { gone: number; unlinked: number; bytes: number } {
  const result = { gone: 0, unlinked: 0, bytes: 0 };
  const stats = names.map((n) => lstatOrUndefined(path.join(dir, n)));
  if (stats.some((s) => s !== undefined && s.mtimeMs >= before)) return result;
  // The archive first: a checking build must not find an object whose companions are gone.
  const order = names.map((n, i) => ({ n, s: stats[i] })).sort((a, b) => a.n.length - b.n.length);
  for (const { n, s } of order) {
    try {
      unlinkSync(path.join(dir, n));
      result.unlinked++;
      result.bytes += s?.size ?? 0;
      result.gone++;
    } catch (e) {
      if (errorCode(e) === 'ENOENT')
        result.gone++; // another housekeeper was faster
      else report.problems.push(`could not remove ${path.join(dir, n)}: ${errorMessage(e)}`);
    }
  }
  return result;
}

/** rmdir fails on a directory that is not empty: a build that wrote into it meanwhile wins. */
function rmdirIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

// --- build directories -----------------------------------------------------------------------

async function pruneWorkspaces(
  buildsDir: string,
  before: number,
  report: HousekeepingReport,
  tmpDirs?: string,
): Promise<void> {
  const containers = new BuildContainerProbe();
  for (const e of readDirents(buildsDir, (err) => report.problems.push(errorMessage(err)))) {
    // A symlink is never followed, so never removed either: what it points at is not ours to judge.
    if (!e.isDirectory()) continue;
    const dir = path.join(buildsDir, e.name);
    if (e.name.startsWith(TRASH_PREFIX)) {
      if (WORKSPACE_NAME.test(e.name.slice(TRASH_PREFIX.length)))
        await removeTrash(dir, path.join(buildsDir, e.name.slice(TRASH_PREFIX.length)), report);
      continue;
    }
    // workspace-dir may be a directory holding other things: only what looks like a build
    // directory this action created is a candidate.
    if (!WORKSPACE_NAME.test(e.name)) continue;
    try {
      await pruneWorkspace(dir, before, containers, report);
      if (tmpDirs && !lstatOrUndefined(dir)) await pruneTmpRoot(path.join(tmpDirs, e.name), report);
    } catch (err) {
      report.problems.push(errorMessage(err));
    }
  }
}

/** The TMPDIR directory of a removed build under directories.tmp; never a symlink's target. */
async function pruneTmpRoot(dir: string, report: HousekeepingReport): Promise<void> {
  if (!lstatOrUndefined(dir)?.isDirectory()) return;
  await removeDir(dir, report);
}

async function pruneWorkspace(
  dir: string,
  before: number,
  containers: BuildContainerProbe,
  report: HousekeepingReport,
): Promise<void> {
  if (!lstatOrUndefined(path.join(dir, 'conf'))?.isDirectory() || newestMtime(dir) >= before) return;
  if ((await bitbakeRunning(dir)) || (await containers.running(path.basename(dir)))) {
    report.skippedInUse.push(dir);
    return;
  }
  await removeDir(dir, report);
}

/** Renamed into the trash first, so no reader ever sees half a directory under its own name. */
async function removeDir(dir: string, report: HousekeepingReport): Promise<void> {
  const trash = path.join(path.dirname(dir), TRASH_PREFIX + path.basename(dir));
  try {
    await fs.rename(dir, trash);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return; // another housekeeper took it
    throw e;
  }
  await removeTrash(trash, dir, report);
}

/** The newest mtime of the build directory, its tmp/ and conf/, and their entries. */
function newestMtime(dir: string): number {
  let newest = lstatOrUndefined(dir)?.mtimeMs ?? Infinity;
  for (const sub of ['tmp', 'conf']) {
    const at = path.join(dir, sub);
    const st = lstatOrUndefined(at);
    if (!st?.isDirectory()) continue;
    newest = Math.max(newest, st.mtimeMs);
    for (const c of readDirents(at)) newest = Math.max(newest, lstatOrUndefined(path.join(at, c.name))?.mtimeMs ?? 0);
  }
  return newest;
}

async function removeTrash(trash: string, original: string, report: HousekeepingReport): Promise<void> {
  try {
    await removeTree(trash);
    report.workspacesRemoved.push(original);
  } catch (e) {
    report.problems.push(`could not remove ${original} (left as ${trash}, retried next time): ${errorMessage(e)}`);
  }
}

/** fs.rm works off the event loop; read-only directories (Go's module cache) are opened up first. */
async function removeTree(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true });
  } catch (e) {
    if (!['EACCES', 'EPERM', 'ENOTEMPTY'].includes(errorCode(e) ?? '')) throw e;
    makeWritable(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Each directory is opened up before the walk reads it. */
function makeWritable(dir: string): void {
  const openUp = (p: string) => {
    const st = lstatOrUndefined(p);
    if (!st?.isDirectory() || (st.mode & 0o700) === 0o700) return;
    try {
      chmodSync(p, (st.mode & 0o7777) | 0o700);
    } catch {
      // Not ours to open: fs.rm reports it.
    }
  };
  openUp(dir);
  walk(dir, ({ rel, dirent }) => {
    if (dirent.isDirectory()) openUp(path.join(dir, rel));
  });
}
