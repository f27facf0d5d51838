/**
 * Whether a build directory is still in use: a BitBake holds its bitbake.lock, or a build
 * container labelled with its name still runs. The runner waits on the first before touching the
 * hash-equivalence DB; housekeeping keeps such directories.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { errorCode } from '../util/errors.js';
import { BUILD_LABEL } from './container.js';

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
    return errorCode(e) === 'EPERM'; // alive, but another user's
  }
}

/**
 * Asks docker and podman, where installed, whether a build container labelled with the build
 * directory's name still runs: it does before BitBake takes its lock, and a runner that is itself
 * in a container sees neither the lock nor the pid of a sibling build container.
 */
export class BuildContainerProbe {
  private missing = new Set<string>();

  async running(name: string): Promise<boolean> {
    for (const engine of ['docker', 'podman']) {
      if (this.missing.has(engine)) continue;
      const answer = await new Promise<'yes' | 'no' | 'missing' | 'unknown'>((resolve) => {
        execFile(
          engine,
          ['ps', '--filter', `label=${BUILD_LABEL}=${name}`, '--quiet'],
          { timeout: 30_000 },
          (err, stdout) => {
            if (!err) resolve(stdout.trim() ? 'yes' : 'no');
            else if (errorCode(err) === 'ENOENT') resolve('missing');
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
