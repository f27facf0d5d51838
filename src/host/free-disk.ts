/**
 * Room on a GitHub-hosted runner: its image carries large toolchains a Yocto build never uses
 * (.NET, the Android SDK, GHC, the CodeQL bundle) and a swap file on /mnt. Removing them is what
 * users add "free disk space" steps for; the action does it itself, concurrently, and reports what
 * it gained. A self-hosted runner's files are its owner's: never touched unless asked for.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { formatBytes } from '../util/format.js';

/** auto frees space when the build's filesystem has less than this free. */
export const FREE_SPACE_THRESHOLD_BYTES = 60 * 1000 ** 3;

/** What the hosted Ubuntu images preinstall that a Yocto build never uses, relative to `/`. */
export const PREINSTALLED = [
  { what: '.NET', dir: 'usr/share/dotnet' },
  { what: 'Android SDK', dir: 'usr/local/lib/android' },
  { what: 'GHC', dir: 'opt/ghc' },
  { what: 'GHCup', dir: 'usr/local/.ghcup' },
  { what: 'CodeQL bundle', dir: 'opt/hostedtoolcache/CodeQL' },
  { what: 'swap file', dir: 'mnt/swapfile' },
] as const;

export type FreeDiskMode = 'auto' | 'true' | 'false';

/** Whether to free space, and why, in words for the log. */
export function freeDiskDecision(
  mode: FreeDiskMode,
  githubHosted: boolean,
  buildFreeBytes: number,
  threshold = FREE_SPACE_THRESHOLD_BYTES,
): { free: boolean; why: string } {
  if (mode === 'false') return { free: false, why: 'free-disk-space is false' };
  if (mode === 'true') return { free: true, why: 'free-disk-space is true' };
  if (!githubHosted)
    return { free: false, why: 'a self-hosted runner is never cleaned unless free-disk-space is true' };
  if (buildFreeBytes >= threshold)
    return {
      free: false,
      why: `the build has ${formatBytes(buildFreeBytes)} free (at least ${formatBytes(threshold)})`,
    };
  return {
    free: true,
    why: `the build has only ${formatBytes(buildFreeBytes)} free (less than ${formatBytes(threshold)})`,
  };
}

const run = promisify(execFile);

async function available(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/** Removes one path: directly when we may, else through passwordless sudo; false when neither works. */
async function remove(target: string, isSwap: boolean): Promise<boolean> {
  const sudo = process.getuid?.() !== 0;
  const cmd = (args: string[]) => (sudo ? run('sudo', ['-n', ...args]) : run(args[0]!, args.slice(1)));
  // A swap file in use cannot be freed; a file that is no swap makes swapoff fail harmlessly.
  if (isSwap) await cmd(['swapoff', target]).catch(() => undefined);
  try {
    await fs.rm(target, { recursive: true, force: true });
    return true;
  } catch {
    return cmd(['rm', '-rf', '--one-file-system', target]).then(
      () => true,
      () => false,
    );
  }
}

export interface Freed {
  removed: string[];
  failed: string[];
  /** Free space gained on the filesystem holding the tools. */
  gainedBytes: number;
  /** One line for the log and the summary. */
  description: string;
}

/** Removes the preinstalled tools under `root` (`/` on a runner) at the same time. */
export async function freeDiskSpace(root: string): Promise<Freed> {
  const before = await available(root);
  const present = PREINSTALLED.filter((p) => existsSync(path.join(root, p.dir)));
  const results = await Promise.all(
    present.map(async (p) => ({ ...p, ok: await remove(path.join(root, p.dir), p.what === 'swap file') })),
  );
  const gainedBytes = Math.max(0, (await available(root)) - before);
  const removed = results.filter((r) => r.ok).map((r) => r.what);
  const failed = results.filter((r) => !r.ok).map((r) => r.what);
  const description =
    (removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing to remove') +
    `: ${formatBytes(gainedBytes)} gained on ${root}` +
    (failed.length > 0 ? ` (could not remove ${failed.join(', ')}: no root and no passwordless sudo)` : '');
  return { removed, failed, gainedBytes, description };
}
