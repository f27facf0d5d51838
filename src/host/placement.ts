/**
 * Where a hosted runner's build goes: the filesystem with the most free space among RUNNER_TEMP's
 * and /mnt's (a second, often larger disk on GitHub-hosted images, sizes varying between runners
 * of one image). Builds and caches both move there: cache entries name their paths relative to
 * the cache directory (cache/caches.ts), so an entry saved from /mnt is found by a job that
 * chose RUNNER_TEMP, and the other way round.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { formatBytes } from '../util/format.js';

export interface Candidate {
  /** The directory the action would use there. */
  dir: string;
  freeBytes: number;
  /** Whether it is RUNNER_TEMP's disk, which wins a tie. */
  stable: boolean;
}

/** The candidate with the most free space; the stable one wins a tie. */
export function chooseCandidate(candidates: Candidate[]): Candidate {
  return candidates.reduce((best, c) =>
    c.freeBytes > best.freeBytes || (c.freeBytes === best.freeBytes && c.stable && !best.stable) ? c : best,
  );
}

export interface Placement {
  /** Under which the build directories go. */
  buildsDir: string;
  /** Under which the cache directories go. */
  cacheDir: string;
  /** What the log and the summary say. */
  description: string;
}

const run = promisify(execFile);

async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/** Makes `dir` ours: directly, else through passwordless sudo. False when neither works. */
async function ownDir(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
    return true;
  } catch {
    const uid = String(process.getuid?.() ?? 0);
    const gid = String(process.getgid?.() ?? 0);
    return run('sudo', ['-n', 'install', '-d', '-o', uid, '-g', gid, dir]).then(
      () => true,
      () => false,
    );
  }
}

/** RUNNER_TEMP/smidr, and `<extra>/smidr` when that disk is there and can be made ours. */
export async function diskCandidates(stableRoot: string, extra: string): Promise<Candidate[]> {
  await fs.mkdir(stableRoot, { recursive: true });
  const candidates: Candidate[] = [{ dir: stableRoot, freeBytes: await freeBytes(stableRoot), stable: true }];
  const other = path.join(extra, 'smidr');
  if (existsSync(extra) && (await ownDir(other))) {
    candidates.push({ dir: other, freeBytes: await freeBytes(other), stable: false });
  }
  return candidates;
}

/** Picks the disk for RUNNER_TEMP/smidr (`stableRoot`) or `<extra>/smidr`; `extra` is /mnt on a hosted runner. */
export async function placeBuild(stableRoot: string, extra: string): Promise<Placement> {
  const candidates = await diskCandidates(stableRoot, extra);
  const chosen = chooseCandidate(candidates);
  const seen = candidates.map((c) => `${c.dir} ${formatBytes(c.freeBytes)} free`).join(', ');
  return {
    buildsDir: path.join(chosen.dir, 'builds'),
    cacheDir: path.join(chosen.dir, 'cache'),
    description: `${chosen.dir} (most free space of: ${seen})`,
  };
}
