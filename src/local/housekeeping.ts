/**
 * The persistent cache directories of a self-hosted runner: making them private per repository,
 * refusing a file system the hash-equivalence DB cannot live on, and removing what no build has
 * used for a while — all while other builds on the host keep running.
 */
import { execFile } from 'node:child_process';
import { type Dirent, promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';

import { errorMessage } from '../util/errors.js';

// ---------------------------------------------------------------------------------------------
// The hash-equivalence DB directory

/** statfs(2) f_type values of network file systems (linux/magic.h, fs/smb/client). */
const NETWORK_FS = new Map<number, string>([
  [0x6969, 'NFS'],
  [0x517b, 'SMB'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
]);

/**
 * The problem with keeping the hash-equivalence DB on a file system of this statfs type, if any.
 *
 * BitBake itself refuses only NFS. SMB/CIFS are refused too: hashserv keeps its SQLite DB in WAL
 * mode, and SQLite documents that WAL needs shared memory a network share does not provide, so
 * the DB would corrupt silently instead of failing. FUSE is accepted: its one magic number covers
 * sshfs but also local file systems (fuse-overlayfs under rootless podman, mergerfs, ntfs-3g),
 * which cannot be told apart here, and BitBake accepts them all.
 */
export function fsTypeProblem(type: number, dir: string): string | undefined {
  // f_type is a signed long: a 32-bit platform reports the SMB magics as negative numbers.
  const name = NETWORK_FS.get(type >>> 0);
  if (!name) return undefined;
  return (
    `The hash-equivalence database directory ${dir} is on ${name}. ` +
    (name === 'NFS' ? 'BitBake refuses it there: ' : 'It cannot live there: ') +
    'SQLite locking is unreliable on network file systems and the database would be corrupted. ' +
    'Put the cache directories (the cache-dir input, or directories: in smidr.yaml) on a local disk; ' +
    'to share hash equivalences between hosts, run a hash-equivalence server and set BB_HASHSERVE_UPSTREAM instead.'
  );
}

/** Refuses a network file system for the hash-equivalence DB before BitBake does, with the fix. */
export async function dbDirProblem(dir: string): Promise<string | undefined> {
  // Like BitBake, judge a directory that does not exist yet by the one it will be created in.
  let at = path.resolve(dir);
  for (;;) {
    try {
      return fsTypeProblem((await fs.statfs(at)).type, dir);
    } catch (e) {
      const parent = path.dirname(at);
      if (errno(e) !== 'ENOENT' || parent === at) return undefined;
      at = parent;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Private per-repository cache directories

/** A GitHub owner or repository name; `.` and `..` are refused separately. */
const NAME_PART = /^[A-Za-z0-9_.-]{1,100}$/;

/** `owner/name` as directory names, or an error for a value that could leave the cache root. */
export function repositoryDirs(repository: string): { owner: string; name: string } {
  const parts = repository.split('/');
  const [owner, name] = parts;
  // The owner may not start with a dot (GitHub owners never do); a repository may (.github).
  if (
    parts.length !== 2 ||
    !owner ||
    !name ||
    !NAME_PART.test(owner) ||
    !NAME_PART.test(name) ||
    owner.startsWith('.') ||
    name === '.' ||
    name === '..'
  ) {
    throw new Error(
      `repository "${repository}" is not of the form owner/name (letters, digits, '_', '.', '-'); refusing to use it as a cache directory name`,
    );
  }
  // GitHub names are case-insensitive: one repository must not get two caches.
  return { owner: owner.toLowerCase(), name: name.toLowerCase() };
}

/**
 * Creates `<root>/<owner>/<repo>/{downloads,sstate-cache,hashserv,builds}`. The owner and
 * repository directories are mode 0700: one repository's sources, sstate and build trees must not
 * be readable by another's builds, and must not be plantable by another user (poisoned sstate).
 * Broader existing modes are tightened and returned in `tightened`.
 */
export async function privateCacheDirs(
  root: string,
  repository: string,
): Promise<{ downloads: string; sstate: string; hashserv: string; builds: string; tightened: string[] }> {
  const { owner, name } = repositoryDirs(repository);
  const tightened: string[] = [];
  await fs.mkdir(root, { recursive: true });
  const ownerDir = path.join(root, owner);
  await privateDir(ownerDir, tightened);
  const repoDir = path.join(ownerDir, name);
  await privateDir(repoDir, tightened);
  const dirs = {
    downloads: path.join(repoDir, 'downloads'),
    sstate: path.join(repoDir, 'sstate-cache'),
    hashserv: path.join(repoDir, 'hashserv'),
    builds: path.join(repoDir, 'builds'),
  };
  for (const d of Object.values(dirs)) await fs.mkdir(d, { recursive: true });
  return { ...dirs, tightened };
}

async function privateDir(dir: string, tightened: string[]): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    return;
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
  }
  const st = await fs.lstat(dir);
  // A symlink or a directory of another user would let that user read or replace the caches.
  if (!st.isDirectory())
    throw new Error(`${dir} exists but is not a directory (a symlink?); remove it or choose another cache-dir`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(
      `${dir} belongs to uid ${st.uid}, not to the runner user (uid ${uid}); another user could read or plant cache objects there. Remove it or choose another cache-dir`,
    );
  }
  if (process.platform !== 'win32' && (st.mode & 0o7077) !== 0) {
    await fs.chmod(dir, st.mode & 0o700);
    tightened.push(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// Housekeeping

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
export async function housekeep(o: {
  sstate: string;
  buildsDir: string;
  sstateMaxAgeDays: number;
  workspaceMaxAgeDays: number;
  now?: number;
}): Promise<HousekeepingReport> {
  const now = o.now ?? Date.now();
  const report: HousekeepingReport = {
    sstateRemoved: 0,
    sstateBytes: 0,
    workspacesRemoved: [],
    skippedInUse: [],
    problems: [],
  };
  await pruneSstate(o.sstate, cutoff(now, o.sstateMaxAgeDays), report);
  await pruneWorkspaces(o.buildsDir, cutoff(now, o.workspaceMaxAgeDays), report);
  return report;
}

function cutoff(now: number, days: number): number {
  if (!Number.isFinite(days) || days < 0) throw new RangeError(`a maximum age must be a number of days, not ${days}`);
  return now - Math.max(days * 86400_000, MIN_AGE_MS);
}

// --- sstate ----------------------------------------------------------------------------------

const HEX2 = /^[0-9a-f]{2}$/;
/**
 * An object's name and its companions: the archive (.tar.zst; .tgz before kirkstone), .siginfo,
 * .sig, and .done/.lock when the fetcher brought it from an SSTATE_MIRROR. Any other `sstate:`
 * name is a temporary file (`mktemp ${SSTATE_PKG}.XXXXXXXX` in older OE-core,
 * NamedTemporaryFile(prefix=<object name>) in newer): grouped alone, so it is judged by its own
 * mtime, which advances while a build writes it.
 */
const OBJECT_FILE = /^(sstate:.*\.(?:tar\.zst|tgz))(?:\.siginfo|\.sig)?(?:\.done|\.lock)?$/;

/**
 * Objects live in `SSTATE_DIR/[<NATIVELSBSTRING>/]<2 hex>/<2 hex>/`. Only that layout is entered,
 * so neither a signing build's temporary directory nor anything else kept beside sstate is touched.
 */
async function pruneSstate(root: string, before: number, report: HousekeepingReport): Promise<void> {
  for (const top of await tolerant(() => dirents(root), [], report)) {
    if (!top.isDirectory()) continue;
    const at = path.join(root, top.name);
    if (HEX2.test(top.name)) {
      await pruneHexDir(at, before, report);
    } else {
      for (const e of await tolerant(() => dirents(at), [], report))
        if (e.isDirectory() && HEX2.test(e.name)) await pruneHexDir(path.join(at, e.name), before, report);
    }
  }
}

async function pruneHexDir(dir: string, before: number, report: HousekeepingReport): Promise<void> {
  const list = await tolerant(() => dirents(dir), [], report);
  let emptied = 0;
  for (const e of list) {
    if (
      e.isDirectory() &&
      HEX2.test(e.name) &&
      (await tolerant(() => pruneObjectDir(path.join(dir, e.name), before, report), false, report))
    )
      emptied++;
  }
  if (emptied > 0 && emptied === list.length) await rmdirIfEmpty(dir);
}

/** Returns whether the directory was emptied by this pass and then removed. */
async function pruneObjectDir(dir: string, before: number, report: HousekeepingReport): Promise<boolean> {
  const list = await dirents(dir);
  const groups = new Map<string, string[]>();
  for (const e of list) {
    if (!e.name.startsWith('sstate:') || !(e.isFile() || e.isSymbolicLink())) continue;
    const key = OBJECT_FILE.exec(e.name)?.[1] ?? e.name;
    groups.set(key, [...(groups.get(key) ?? []), e.name]);
  }
  let gone = 0;
  for (const names of groups.values()) {
    const removed = await removeStaleGroup(dir, names, before, report);
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
async function removeStaleGroup(
  dir: string,
  names: string[],
  before: number,
  report: HousekeepingReport,
): Promise<{ gone: number; unlinked: number; bytes: number }> {
  const result = { gone: 0, unlinked: 0, bytes: 0 };
  const stats = await Promise.all(names.map((n) => fs.lstat(path.join(dir, n)).catch(() => undefined)));
  if (stats.some((s) => s !== undefined && s.mtimeMs >= before)) return result;
  // The archive first: a checking build must not find an object whose companions are gone.
  const order = names.map((n, i) => ({ n, s: stats[i] })).sort((a, b) => a.n.length - b.n.length);
  for (const { n, s } of order) {
    try {
      await fs.unlink(path.join(dir, n));
      result.unlinked++;
      result.bytes += s?.size ?? 0;
      result.gone++;
    } catch (e) {
      if (errno(e) === 'ENOENT')
        result.gone++; // another housekeeper was faster
      else report.problems.push(`could not remove ${path.join(dir, n)}: ${errorMessage(e)}`);
    }
  }
  return result;
}

/** rmdir fails on a directory that is not empty: a build that wrote into it meanwhile wins. */
async function rmdirIfEmpty(dir: string): Promise<boolean> {
  try {
    await fs.rmdir(dir);
    return true;
  } catch {
    return false;
  }
}

// --- build directories -----------------------------------------------------------------------

async function pruneWorkspaces(buildsDir: string, before: number, report: HousekeepingReport): Promise<void> {
  const engines = new EngineProbe();
  for (const e of await tolerant(() => dirents(buildsDir), [], report)) {
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
    await tolerant(() => pruneWorkspace(dir, before, engines, report), undefined, report);
  }
}

async function pruneWorkspace(
  dir: string,
  before: number,
  engines: EngineProbe,
  report: HousekeepingReport,
): Promise<void> {
  if (!(await isRealDir(path.join(dir, 'conf'))) || (await newestMtime(dir)) >= before) return;
  if ((await bitbakeRunning(dir)) || (await engines.running(path.basename(dir)))) {
    report.skippedInUse.push(dir);
    return;
  }
  const trash = path.join(path.dirname(dir), TRASH_PREFIX + path.basename(dir));
  try {
    await fs.rename(dir, trash);
  } catch (e) {
    if (errno(e) === 'ENOENT') return; // another housekeeper took it
    throw e;
  }
  await removeTrash(trash, dir, report);
}

/** The newest mtime of the build directory, its tmp/ and conf/, and their entries. */
async function newestMtime(dir: string): Promise<number> {
  let newest = (await fs.lstat(dir)).mtimeMs;
  for (const sub of ['tmp', 'conf']) {
    const at = path.join(dir, sub);
    const st = await fs.lstat(at).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    newest = Math.max(newest, st.mtimeMs);
    const children = await Promise.all(
      (await dirents(at)).map((c) => fs.lstat(path.join(at, c.name)).catch(() => undefined)),
    );
    for (const c of children) if (c) newest = Math.max(newest, c.mtimeMs);
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
    if (!['EACCES', 'EPERM', 'ENOTEMPTY'].includes(errno(e) ?? '')) throw e;
    await makeWritable(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) await fs.chmod(dir, (st.mode & 0o7777) | 0o700).catch(() => undefined);
  for (const e of await dirents(dir)) if (e.isDirectory()) await makeWritable(path.join(dir, e.name));
}

/**
 * Whether a BitBake still holds the build directory's bitbake.lock. BitBake keeps an flock on it
 * while it runs and removes it on exit, so a lock file alone may be a crashed build's. Where
 * /proc/locks is readable (Linux) the kernel's lock table decides: the pid BitBake writes into the
 * file is from the builder container's pid namespace, and on the host such a small pid nearly
 * always belongs to some live process, so a crashed container build would be kept forever.
 * Elsewhere the pid decides.
 */
export async function bitbakeRunning(
  buildDir: string,
  procLocks: () => Promise<string | undefined> = readProcLocks,
): Promise<boolean> {
  const lock = path.join(buildDir, 'bitbake.lock');
  const st = await fs.lstat(lock).catch(() => undefined);
  if (!st?.isFile()) return false;
  const table = await procLocks();
  if (table !== undefined) return lockedInodes(table).has(st.ino);
  const pid = Number.parseInt((await fs.readFile(lock, 'utf8').catch(() => '')).trim().split(/\s/)[0] ?? '', 10);
  // Between taking the lock and writing its pid BitBake leaves the file empty: that is in use.
  return !(pid > 0) || pidAlive(pid);
}

async function readProcLocks(): Promise<string | undefined> {
  return fs.readFile('/proc/locks', 'utf8').catch(() => undefined);
}

/**
 * Inode numbers in /proc/locks (`1: FLOCK  ADVISORY  WRITE 4102 fe:00:1507790 0 EOF`). The
 * device part is ignored: on btrfs and overlayfs it differs from stat's st_dev, and an inode
 * number that collides with a lock on another file system only keeps a directory longer.
 */
export function lockedInodes(procLocks: string): Set<number> {
  const inodes = new Set<number>();
  for (const m of procLocks.matchAll(/\s[0-9a-f]+:[0-9a-f]+:(\d+)\s/g)) inodes.add(Number(m[1]));
  return inodes;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM'; // alive, but another user's
  }
}

/**
 * Asks docker and podman, where installed, whether a build container labelled with the build
 * directory's name still runs: it does before BitBake takes its lock, and a runner that is itself
 * in a container sees neither the lock nor the pid of a sibling build container.
 */
class EngineProbe {
  private missing = new Set<string>();

  async running(name: string): Promise<boolean> {
    for (const engine of ['docker', 'podman']) {
      if (this.missing.has(engine)) continue;
      const answer = await new Promise<'yes' | 'no' | 'missing' | 'unknown'>((resolve) => {
        execFile(
          engine,
          ['ps', '--filter', `label=org.smidr.build=${name}`, '--quiet'],
          { timeout: 30_000 },
          (err, stdout) => {
            if (!err) resolve(stdout.trim() ? 'yes' : 'no');
            else if (errno(err) === 'ENOENT') resolve('missing');
            // An engine that answers with an error cannot be running this user's containers; one
            // that does not answer at all might be.
            else resolve(err.killed ? 'unknown' : 'no');
          },
        );
      });
      if (answer === 'missing') this.missing.add(engine);
      if (answer === 'yes' || answer === 'unknown') return true;
    }
    return false;
  }
}

// --- helpers ---------------------------------------------------------------------------------

/** Directory entries, typed from lstat (never following symlinks); none for a missing directory. */
async function dirents(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return [];
    throw e;
  }
}

/** One unreadable directory costs only itself: the rest of the pass goes on. */
async function tolerant<T>(f: () => Promise<T>, fallback: T, report: HousekeepingReport): Promise<T> {
  try {
    return await f();
  } catch (e) {
    report.problems.push(errorMessage(e));
    return fallback;
  }
}

async function isRealDir(p: string): Promise<boolean> {
  const st: Stats | undefined = await fs.lstat(p).catch(() => undefined);
  return st?.isDirectory() ?? false;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
