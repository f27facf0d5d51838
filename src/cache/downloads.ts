/**
 * DL_DIR as files: what counts as a completed download, and what never enters an archive.
 *
 * BitBake's fetcher (bb.fetch2) writes the download, then `<localpath>.done`, holding
 * `<localpath>.lock` meanwhile; both sit beside the download when it is inside DL_DIR, so a stamp
 * may be nested (`uninative/<sha>/….tar.xz.done`, `git2/<repo>.done`, `npm2/….tgz.done`).
 * Directories hold whatever their fetcher keeps there (git2/ bare clones, svn/ and hg/ checkouts,
 * npm2/'s `.resolved` files) and have no stamp per file.
 */
import { type Dirent, promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Python's tempfile names: "tmp" + 8 of [a-z0-9_]. */
const PY_TEMP_NAME = /^tmp[a-z0-9_]{8}$/;

async function entries(dir: string, rel: string): Promise<Dirent[]> {
  return fs.readdir(rel ? path.join(dir, rel) : dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
}

const join = (rel: string, name: string) => (rel ? `${rel}/${name}` : name);

/** Sorted `.done` stamps, relative: the downloads that completed. */
export async function downloadNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function visit(rel: string): Promise<void> {
    const list = await entries(dir, rel);
    const names = new Set(list.map((e) => e.name));
    for (const e of list) {
      const r = join(rel, e.name);
      if (e.name.endsWith('.done') && !e.isDirectory()) out.push(r);
      // A directory with its own stamp (a git clone) is one download: its insides are the VCS's.
      else if (e.isDirectory() && !names.has(`${e.name}.done`)) await visit(r);
    }
  }
  await visit('');
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
  const remove = async (r: string, recursive = false) => {
    await fs.rm(path.join(dir, r), { recursive, force: true });
    removed.push(r);
  };

  async function visit(rel: string): Promise<void> {
    const list = await entries(dir, rel);
    const names = new Set(list.map((e) => e.name));
    const stamped = rel === '' || list.some((e) => e.name.endsWith('.done') && !e.isDirectory());
    for (const e of list) {
      const r = join(rel, e.name);
      if (e.isDirectory()) {
        if (rel === '' && PY_TEMP_NAME.test(e.name)) await remove(r, true);
        else await visit(r);
        continue;
      }
      if (!e.isFile() && !e.isSymbolicLink()) continue;
      if (e.name.endsWith('.lock')) await remove(r);
      else if (e.name.endsWith('.done') || names.has(`${e.name}.done`)) continue;
      else if (rel === '') await remove(r);
      else if (stamped && (e.name.endsWith('.tmp') || e.name.includes('_bad-checksum_'))) await remove(r);
    }
  }
  await visit('');
  return removed;
}
