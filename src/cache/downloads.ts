/**
 * DL_DIR as files: what counts as a completed download, and what never enters an archive.
 *
 * BitBake's fetcher (bb.fetch2) writes the download, then `<localpath>.done`, holding
 * `<localpath>.lock` meanwhile; both sit beside the download when it is inside DL_DIR, so a stamp
 * may be nested (`uninative/<sha>/….tar.xz.done`, `git2/<repo>.done`, `npm2/….tgz.done`).
 * Directories hold whatever their fetcher keeps there (git2/ bare clones, svn/ and hg/ checkouts,
 * npm2/'s `.resolved` files) and have no stamp per file.
 */
import { rmSync } from 'node:fs';
import * as path from 'node:path';

import { walk } from '../util/fs.js';

/** Python's tempfile names: "tmp" + 8 of [a-z0-9_]. */
const PY_TEMP_NAME = /^tmp[a-z0-9_]{8}$/;

const isStamp = (name: string) => name.endsWith('.done');

/** Sorted `.done` stamps, relative: the downloads that completed. */
export async function downloadNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  walk(dir, ({ rel, dirent, siblings }) => {
    if (!dirent.isDirectory()) {
      if (isStamp(dirent.name)) out.push(rel);
      return;
    }
    // A directory with its own stamp (a git clone) is one download: its insides are the VCS's.
    if (siblings.has(`${dirent.name}.done`)) return 'skip';
  });
  return out.sort();
}
/**
 * - `*.lock` anywhere: the fetcher's, and git's own inside bare clones, which a killed fetch leaves
 *   and which make the next `git fetch` fail;
 * - at the top level, a file (or file:// mirror symlink) without its `.done` stamp: an interrupted
 *   download, wget's `<file>.tmp`, a `<file>_bad-checksum_<sha256>` rename, the git fetcher's
 *   `tmpXXXXXXXX` mirror tarball in progress;
 * - at the top level, `tmpXXXXXXXX/` directories, where the git fetchers build shallow tarballs
 *   and unpack submodules;
 * - below, in a directory that holds stamps (a fetcher's download directory, never a checkout),
 *   only wget's `.tmp` and `_bad-checksum_` files: side files such as npm's `.resolved` have no
 *   stamp of their own and are needed.
 * Returns the removed paths, relative.
 */
export async function removeUnarchivableDownloads(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const remove = (rel: string, recursive = false) => {
    rmSync(path.join(dir, rel), { recursive, force: true });
    removed.push(rel);
  };
  // Whether a directory holds stamps, asked once per directory (its entries share one siblings set).
  const stamped = new WeakMap<ReadonlySet<string>, boolean>();
  walk(dir, ({ rel, dirent, siblings }) => {
    const top = !rel.includes('/');
    if (dirent.isDirectory()) {
      if (!top || !PY_TEMP_NAME.test(dirent.name)) return;
      remove(rel, true);
      return 'skip';
    }
    if (!dirent.isFile() && !dirent.isSymbolicLink()) return;
    const name = dirent.name;
    if (name.endsWith('.lock')) remove(rel);
    else if (isStamp(name) || siblings.has(`${name}.done`)) return;
    else if (top) remove(rel);
    else if (name.endsWith('.tmp') || name.includes('_bad-checksum_')) {
      if (!stamped.has(siblings)) stamped.set(siblings, [...siblings].some(isStamp));
      if (stamped.get(siblings)) remove(rel);
    }
  });
  return removed;
}
