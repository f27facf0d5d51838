/**
 * Where the hash-equivalence DB may live: BitBake refuses NFS, and SQLite's WAL mode corrupts
 * silently on any network share, so such a directory is refused with the fix before BitBake runs.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { errorCode } from '../util/errors.js';

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
      if (errorCode(e) !== 'ENOENT' || parent === at) return undefined;
      at = parent;
    }
  }
}
