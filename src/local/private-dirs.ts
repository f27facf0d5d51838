/**
 * The persistent cache directories of a self-hosted runner, one private set per repository: one
 * repository's sources, sstate and build trees must be neither readable nor plantable by another's.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { errorCode } from '../util/errors.js';

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
 * Creates `<root>/<owner>/<repo>/{downloads,sstate-cache,hashserv,builds}` The owner and
 * repository directories are mode 0700: one repository's sources, sstate and build trees must not
 * be readable by another's builds, and must not be plantable by another user (poisoned sstate).
 * Broader existing modes are tightened and returned in `tightened`.
 */
export async function privateCacheDirs(
  root: string,
  repository: string,
): Promise<{ downloads: string; sstate: string; hashserv: string; buildsDir: string; tightened: string[] }> {
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
    buildsDir: path.join(repoDir, 'builds'),
  };
  for (const d of Object.values(dirs)) await fs.mkdir(d, { recursive: true });
  return { ...dirs, tightened };
}

async function privateDir(dir: string, tightened: string[]): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    return;
  } catch (e) {
    if (errorCode(e) !== 'EEXIST') throw e;
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
