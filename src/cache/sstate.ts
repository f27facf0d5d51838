/**
 * The sstate directory as files: parsing OE-core's object names, listing objects with their
 * companions, and pruning an entry down to one build's working set before it is archived.
 *
 * Layout (OE-core sstate.bbclass, generate_sstatefn):
 *   SSTATE_DIR/[<NATIVELSBSTRING>/]<h0h1>/<h2h3>/sstate:<PN>:<PACKAGE_ARCH><VENDOR>-<OS>:<PV>:<PR>:
 *     <SSTATE_PKGARCH>:<SSTATE_VERSION>:<unihash>_<task>.tar.zst   (.tgz before honister)
 * plus `.siginfo` (task signature), `.sig` (SSTATE_SIG_KEY signing) and, for objects fetched from
 * SSTATE_MIRRORS, the fetcher's `.done` stamps beside them.
 */
import { existsSync, promises as fs, rmdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';

import { lstatOrUndefined, walk } from '../util/fs.js';

export interface SstateObject {
  /** Archive path relative to the sstate dir, `/`-separated, e.g. `ab/cd/sstate:zlib:…_populate_sysroot.tar.zst`. */
  path: string;
  pn: string;
  arch: string;
  pv: string;
  pr: string;
  pkgarch: string;
  version: string;
  unihash: string;
  task: string;
  /** Archive plus companions. */
  bytes: number;
  /** Files that belong to the archive and go with it (relative paths): `.siginfo`, `.sig`, fetch stamps. */
  companions: string[];
  mtimeMs: number;
}

export type SstateName = Omit<SstateObject, 'path' | 'bytes' | 'companions' | 'mtimeMs'>;

const PREFIX = 'sstate:';
const ARCHIVE = /\.(?:tar\.zst|tgz)$/;
/** Suffixes a companion adds to its archive's name. */
const COMPANION_SUFFIXES = ['.siginfo', '.sig', '.done', '.siginfo.done', '.sig.done'];
const LOCK = '.lock';
const SIGTASK_TEMP = 'sigtask.';
/** Python's tempfile names: "tmp" + 8 of [a-z0-9_]. */
const PY_TEMP_DIR = /^tmp[a-z0-9_]{8}$/;

/**
 * PN and PV cannot hold ':' (it is BitBake's override separator, and OE's own
 * sstate-cache-management.py parses every field as `[^:]*`), but should one ever appear, the
 * fields are read from both ends so only PV absorbs it. The unihash is hex, so the first '_' of
 * the last field ends it; task names have '_' of their own (populate_sysroot, package_write_ipk).
 */
export function parseSstateName(fileName: string): SstateName | undefined {
  if (!fileName.startsWith(PREFIX)) return undefined;
  const ext = ARCHIVE.exec(fileName);
  if (!ext) return undefined;
  const fields = fileName.slice(0, ext.index).split(':');
  const n = fields.length;
  if (n < 8) return undefined;
  const last = fields[n - 1]!;
  const cut = last.indexOf('_');
  const unihash = last.slice(0, cut);
  const task = last.slice(cut + 1);
  const pn = fields[1]!;
  if (cut <= 0 || !task || !/^[0-9a-f]+$/i.test(unihash) || !pn) return undefined;
  return {
    pn,
    arch: fields[2]!,
    pv: fields.slice(3, n - 4).join(':'),
    pr: fields[n - 4]!,
    pkgarch: fields[n - 3]!,
    version: fields[n - 2]!,
    unihash,
    task,
  };
}

/** A file of an sstate directory, by its name. */
export type SstateFile =
  | { role: 'archive' | 'companion'; archive: string }
  /** The fetcher's lock (`<file>.lock`, beside the archive or companion it fetches), or any other lock. */
  | { role: 'lock'; archive?: string }
  /**
   * Something sstate is writing, or a killed build left: the archive's temporary file, named from
   * the archive (`mktemp ${SSTATE_PKG}.XXXXXXXX` up to kirkstone, `<archive>.Ab3dE9xZ`;
   * `NamedTemporaryFile(prefix=<archive name>)` since scarthgap, `<archive>k2_9xq0a`;
   * `<archive>.<8 chars>` from the stand-in; the fetcher's `<archive>.tmp` from an http
   * SSTATE_MIRROR): every `sstate:` name that is neither an archive nor a companion; and
   * BitBake's siginfo temporary `sigtask.*` (siggen.dump_sigtask).
   */
  | { role: 'temporary' };

/**
 * The one grammar of sstate file names: an archive, a companion named after an archive (with or
 * without the archive beside it: OE writes a `.siginfo` for every task that runs, sstate task or
 * not, and fetches a mirror's siginfo apart from its archive), a lock, or a temporary file.
 * Undefined for a name that is none of sstate's (hashserv.db, a README).
 */
export function sstateFile(name: string): SstateFile | undefined {
  if (name.endsWith(LOCK)) {
    const owner = sstateFile(name.slice(0, -LOCK.length));
    return { role: 'lock', archive: owner && 'archive' in owner ? owner.archive : undefined };
  }
  if (name.startsWith(SIGTASK_TEMP)) return { role: 'temporary' };
  if (!name.startsWith(PREFIX)) return undefined;
  if (parseSstateName(name)) return { role: 'archive', archive: name };
  for (const suffix of COMPANION_SUFFIXES) {
    const archive = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && parseSstateName(archive)) return { role: 'companion', archive };
  }
  return { role: 'temporary' };
}

export async function listSstate(dir: string): Promise<SstateObject[]> {
  const objects: SstateObject[] = [];
  walk(dir, ({ rel, dirent, siblings }) => {
    if (!(dirent.isFile() || dirent.isSymbolicLink())) return;
    const parsed = parseSstateName(dirent.name);
    if (!parsed) return;
    // lstat: an object fetched from a file:// mirror is a symlink, and OE touches the link itself.
    const stat = lstatOrUndefined(path.join(dir, rel));
    // Gone between readdir and lstat: another process removed it; not ours to count.
    if (!stat) return;
    const object: SstateObject = { ...parsed, path: rel, companions: [], bytes: stat.size, mtimeMs: stat.mtimeMs };
    for (const suffix of COMPANION_SUFFIXES) {
      const companion = siblings.has(dirent.name + suffix) ? lstatOrUndefined(path.join(dir, rel + suffix)) : undefined;
      if (!companion?.isFile() && !companion?.isSymbolicLink()) continue;
      object.companions.push(rel + suffix);
      object.bytes += companion.size;
    }
    objects.push(object);
  });
  return objects;
}

/** Archive paths, sorted: what was there at restore, to tell later what the build created. */
export async function sstateNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  walk(dir, ({ rel, dirent }) => {
    if ((dirent.isFile() || dirent.isSymbolicLink()) && parseSstateName(dirent.name)) names.push(rel);
  });
  return names.sort();
}

export interface PruneDecision {
  object: SstateObject;
  reason: 'superseded' | 'budget';
}

export interface PrunePlan {
  keep: SstateObject[];
  drop: PruneDecision[];
  keptBytes: number;
  droppedBytes: number;
  /** Bytes of the objects this build used or created. */
  workingSetBytes: number;
  /** The objects this build used or created alone exceed the budget, so some of them were dropped too. */
  overBudgetWithWorkingSet: boolean;
}

/**
 * The directory above `<h0h1>/<h2h3>/` an object sits in: `${NATIVELSBSTRING}` (`universal` with
 * uninative) for native, cross and crosssdk recipes (sstate.bbclass sets SSTATE_EXTRAPATH for
 * exactly those), empty for everything else.
 */
export function nativeDir(objectPath: string): string {
  return objectPath.split('/').slice(0, -3).join('/');
}

/**
 * The native prefix is part of the group: objects built on another host distro are not replaced
 * by ours.
 */
function groupOf(o: SstateObject): string {
  return [nativeDir(o.path), o.pn, o.arch, o.pkgarch, o.task].join('\0');
}

/** Which cache entry an object travels in: the one every MACHINE shares, or the machine's own. */
export type SstateScope = 'shared' | 'machine';

/**
 * Shared by every MACHINE of one series, distro and build host:
 * - native and crosssdk objects (under NATIVELSBSTRING; they depend on the build host and
 *   SDKMACHINE, never on MACHINE);
 * - allarch objects (SSTATE_PKGARCH `allarch`);
 * - a native recipe's do_populate_lic (SSTATE_SWSPEC: no arch fields and never under
 *   NATIVELSBSTRING, so only its PN tells).
 * Cross objects also sit under NATIVELSBSTRING but are built for one target architecture
 * (`gcc-cross-aarch64`): OE names every cross recipe `<name>-cross-<TARGET_ARCH>`, and they go
 * with the machine, as do target and machine objects.
 */
export function sstateScope(o: Pick<SstateObject, 'path' | 'pn' | 'arch' | 'pkgarch'>): SstateScope {
  if (nativeDir(o.path)) return o.pn.includes('-cross-') ? 'machine' : 'shared';
  if (o.pkgarch === 'allarch') return 'shared';
  if (o.arch === '' && o.pkgarch === '' && o.pn.endsWith('-native')) return 'shared';
  return 'machine';
}

/**
 * Objects named with OE's SSTATE_SWSPEC (empty arch fields: do_populate_lic) are shared by every
 * recipe with the same license PN, target and native alike, so several of them are valid at once
 * (the reason OE's sstate-cache-management.py skips populate_lic when removing duplicates).
 */
function neverSuperseded(o: SstateObject): boolean {
  return o.arch === '' && o.pkgarch === '';
}

/**
 * Used this run: mtime at or after the build started, since OE touches an object when a setscene
 * task unpacks it (and, since scarthgap, when the setscene check finds it). Created this run:
 * absent at restore.
 * An unused object is dropped only when a newer one for the same recipe, architecture and task
 * exists; an unused object without a newer sibling may still be the valid one for an unchanged
 * dependency. A budget then removes least recently used objects, this build's last.
 */
export function planPrune(
  objects: SstateObject[],
  o: { buildStartedMs: number; restored: ReadonlySet<string>; budgetBytes?: number },
): PrunePlan {
  const working = (x: SstateObject) => x.mtimeMs >= o.buildStartedMs || !o.restored.has(x.path);
  const newest = new Map<string, number>();
  for (const x of objects) newest.set(groupOf(x), Math.max(newest.get(groupOf(x)) ?? -Infinity, x.mtimeMs));

  const drop: PruneDecision[] = [];
  let keep: SstateObject[] = [];
  for (const x of objects) {
    if (!working(x) && !neverSuperseded(x) && newest.get(groupOf(x))! > x.mtimeMs)
      drop.push({ object: x, reason: 'superseded' });
    else keep.push(x);
  }

  const sum = (xs: SstateObject[]) => xs.reduce((n, x) => n + x.bytes, 0);
  let keptBytes = sum(keep);
  const workingSetBytes = sum(keep.filter(working));
  let overBudgetWithWorkingSet = false;
  if (o.budgetBytes !== undefined && keptBytes > o.budgetBytes) {
    const order = [...keep].sort(
      (a, b) => Number(working(a)) - Number(working(b)) || a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path),
    );
    const dropped = new Set<SstateObject>();
    for (const x of order) {
      if (keptBytes <= o.budgetBytes) break;
      if (working(x)) overBudgetWithWorkingSet = true;
      dropped.add(x);
      keptBytes -= x.bytes;
      drop.push({ object: x, reason: 'budget' });
    }
    keep = keep.filter((x) => !dropped.has(x));
  }
  return {
    keep,
    drop,
    keptBytes,
    droppedBytes: sum(drop.map((d) => d.object)),
    workingSetBytes,
    overBudgetWithWorkingSet,
  };
}

/** Removes the dropped objects with their companions, and the hash directories they leave empty. */
export async function applyPrune(dir: string, plan: PrunePlan): Promise<void> {
  const parents = new Set<string>();
  for (const { object } of plan.drop) {
    for (const f of [object.path, ...object.companions]) await fs.rm(path.join(dir, f), { force: true });
    parents.add(path.posix.dirname(object.path));
  }
  for (const p of parents) await removeEmptyUpwards(dir, p);
}

async function removeEmptyUpwards(dir: string, rel: string): Promise<void> {
  for (let r = rel; r !== '.' && r !== ''; r = path.posix.dirname(r)) {
    // rmdir refuses a non-empty directory: that is the test.
    if (
      !(await fs.rmdir(path.join(dir, r)).then(
        () => true,
        () => false,
      ))
    )
      return;
  }
}

/** What removeUnarchivable left out of the archive. */
export interface Unarchivable {
  /** Temporary files, locks, dangling links and empty directories (with a trailing '/'). */
  removed: string[];
  /** Signature files of earlier builds' tasks that have no archive, with their bytes. */
  staleSignatures: string[];
  staleSignatureBytes: number;
}

/**
 * What sstate writes while it works and leaves behind when killed; none of it is ever read back:
 * - locks and temporary files (see sstateFile);
 * - `tmpXXXXXXXX/` directories, where scarthgap+ signs an archive (SSTATE_SIG_KEY) before
 *   linking it into place;
 * - symlinks to a file:// mirror that no longer resolve;
 * - directories left empty.
 * With `signaturesBefore`, also the signature files of tasks that have no archive (OE writes a
 * `.siginfo` for every task that runs, do_compile included) last written before it: an earlier
 * build's, which no restore ever needs, and which would otherwise pile up in a rolling cache
 * entry, one set per build. One walk for all of it: the save path walks sstate once before listing.
 * Only while no BitBake uses the directory: a running build's temporary files are live.
 */
export async function removeUnarchivable(dir: string, o: { signaturesBefore?: number } = {}): Promise<Unarchivable> {
  const result: Unarchivable = { removed: [], staleSignatures: [], staleSignatureBytes: 0 };
  // An archive removed as a dangling link leaves its companions without an archive.
  const gone = new Set<string>();
  walk(
    dir,
    ({ rel, dirent, siblings }) => {
      const full = path.join(dir, rel);
      if (dirent.isDirectory()) {
        if (!PY_TEMP_DIR.test(dirent.name)) return;
        // Its contents are the temporary's, not objects: never looked at on their own.
        rmSync(full, { recursive: true, force: true });
        result.removed.push(`${rel}/`);
        return 'skip';
      }
      if (!dirent.isFile() && !dirent.isSymbolicLink()) return;
      const file = sstateFile(dirent.name);
      if (file?.role === 'lock' || file?.role === 'temporary' || (dirent.isSymbolicLink() && !existsSync(full))) {
        rmSync(full, { force: true });
        result.removed.push(rel);
        gone.add(rel);
        return;
      }
      if (o.signaturesBefore === undefined || file?.role !== 'companion') return;
      const archive = path.posix.join(path.posix.dirname(rel), file.archive);
      if (siblings.has(file.archive) && !gone.has(archive)) return;
      const st = lstatOrUndefined(full);
      if (!st || st.mtimeMs >= o.signaturesBefore) return;
      rmSync(full, { force: true });
      result.staleSignatures.push(rel);
      result.staleSignatureBytes += st.size;
    },
    // After its children, so a directory they emptied goes too; rmdir refuses the others.
    (rel) => {
      if (tryRmdir(path.join(dir, rel))) result.removed.push(`${rel}/`);
    },
  );
  return result;
}

function tryRmdir(p: string): boolean {
  try {
    rmdirSync(p);
    return true;
  } catch {
    return false;
  }
}
