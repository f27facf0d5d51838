/**
 * Disk space: how full the filesystems holding the workspace and the caches are, a warning naming
 * what takes the space when one is nearly full (a Yocto build fills a hosted runner's ~14 GB
 * quickly, and BitBake's own disk monitor only stops the build once it is too late), and the free
 * space a failed build's message names.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { formatBytes } from '../util/format.js';
import { dirBytes } from '../util/fs.js';

/** Above this share of a filesystem in use, the action warns (at the start and the end of a build). */
export const DISK_WARN_PERCENT = 80;

export interface FsUsage {
  /** What lives there: `workspace`, `downloads`, `sstate`. */
  holds: string[];
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** Used share of the space available to users, as df computes it. */
  percent: number;
}

/** The filesystems holding the given directories, one entry per filesystem. */
export async function diskUsage(dirs: Record<string, string>): Promise<FsUsage[]> {
  const byDevice = new Map<number, FsUsage>();
  for (const [name, dir] of Object.entries(dirs)) {
    const existing = nearestExisting(dir);
    const [st, fsStat] = await Promise.all([fs.stat(existing), fs.statfs(existing)]);
    const known = byDevice.get(st.dev);
    if (known) {
      known.holds.push(name);
      continue;
    }
    const used = (fsStat.blocks - fsStat.bfree) * fsStat.bsize;
    const avail = fsStat.bavail * fsStat.bsize;
    byDevice.set(st.dev, {
      holds: [name],
      totalBytes: fsStat.blocks * fsStat.bsize,
      usedBytes: used,
      freeBytes: avail,
      percent: used + avail > 0 ? Math.ceil((used * 100) / (used + avail)) : 0,
    });
  }
  return [...byDevice.values()];
}

function nearestExisting(dir: string): string {
  let d = path.resolve(dir);
  while (!existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

export interface BuildDirSizes {
  tmpdir: number;
  downloads: number;
  sstate: number;
}

/** Bytes on disk under each directory; `du` is much faster than walking millions of files in JS. */
export async function buildDirSizes(dirs: {
  tmpdir: string;
  downloads: string;
  sstate: string;
}): Promise<BuildDirSizes> {
  const size = async (dir: string): Promise<number> => {
    if (!existsSync(dir)) return 0;
    try {
      const { stdout } = await promisify(execFile)('du', ['-s', '-B1', dir], { maxBuffer: 1 << 20 });
      return Number(stdout.split(/\s/)[0]) || 0;
    } catch {
      return dirBytes([dir]);
    }
  };
  const [tmpdir, downloads, sstate] = await Promise.all([size(dirs.tmpdir), size(dirs.downloads), size(dirs.sstate)]);
  return { tmpdir, downloads, sstate };
}

/** The warning for a filesystem over the threshold, or undefined. */
export function diskWarning(
  u: FsUsage,
  when: 'start' | 'end',
  sizes: BuildDirSizes,
  threshold = DISK_WARN_PERCENT,
): string | undefined {
  if (u.percent <= threshold) return undefined;
  const parts = [
    `The filesystem holding ${u.holds.join(', ')} is ${u.percent}% full at the ${when} of the build ` +
      `(${formatBytes(u.usedBytes)} used, ${formatBytes(u.freeBytes)} free of ${formatBytes(u.totalBytes)}).`,
    `TMPDIR ${formatBytes(sizes.tmpdir)}, downloads ${formatBytes(sizes.downloads)}, sstate ${formatBytes(sizes.sstate)}.`,
  ];
  const total = sizes.tmpdir + sizes.downloads + sizes.sstate;
  if (total > 0 && sizes.tmpdir * 2 >= total) {
    parts.push(
      'TMPDIR takes most of it: add INHERIT += "rm_work" to build.local_conf (or the local-conf input) to delete each recipe\'s work files once it is built.',
    );
  } else if (when === 'start') {
    parts.push('Free space on the runner before the build (remove unused tool caches), or lower cache-size-limit.');
  } else {
    parts.push('Lower cache-size-limit, or give the build a bigger disk (workspace-dir).');
  }
  return parts.join(' ');
}

/** Below this a build cannot be expected to get through even one large task. */
export const NEARLY_FULL_BYTES = 64 * 1024 ** 2;
