/**
 * Restores and saves through @actions/cache in a worker process with a time limit. A cache
 * service that hangs must not hang the build: when the limit passes, the worker and the tar and
 * zstd it started are killed, so nothing is written into the cache directories afterwards.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TransferTimeout } from '../util/errors.js';

/**
 * One entry's files: path patterns relative to `root`, as given to @actions/cache. The cache
 * version hashes the patterns and the archive holds paths relative to the working directory, so
 * with the worker working in `root` an entry is found and unpacked wherever the runner keeps
 * RUNNER_TEMP or its workspace (a second self-hosted runner, a job in a container).
 */
export interface EntryPaths {
  root: string;
  paths: string[];
}

export type TransferRequest =
  ({ op: 'restore'; key: string; restoreKeys: string[] } & EntryPaths) | ({ op: 'save'; key: string } & EntryPaths);

type Done =
  | { done: 'restored'; key?: string; archiveBytes?: number }
  /** `refused`: why the service gave no id, in @actions/cache's words (a lost race says "another job"). */
  | { done: 'saved'; id: number; archiveBytes?: number; refused?: string }
  | { done: 'error'; message: string };

export type TransferReply = { phase: 'found'; key?: string } | Done;

/** How long the service may take to say whether an entry exists, at most. */
const LOOKUP_LIMIT_MS = 120_000;

/**
 * The worker entry point sits next to the bundle that imports this module (dist/ on a runner);
 * in tsc's unbundled output (lib/, used by the benchmarks) this module is one folder below it.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(path.basename(HERE) === 'cache' ? path.dirname(HERE) : HERE, 'cache-worker.js');

/** The key restored (undefined on a miss) and the compressed archive's size. */
export async function restoreWithin(
  limitMs: number,
  entry: EntryPaths,
  key: string,
  restoreKeys: string[],
): Promise<{ key?: string; archiveBytes?: number }> {
  const reply = await transfer({ op: 'restore', ...entry, key, restoreKeys }, limitMs);
  return reply.done === 'restored' ? { key: reply.key, archiveBytes: reply.archiveBytes } : {};
}

/** The cache id (-1 when the service refused, with its reason) and the compressed archive's size. */
export async function saveWithin(
  limitMs: number,
  entry: EntryPaths,
  key: string,
): Promise<{ id: number; archiveBytes?: number; refused?: string }> {
  const reply = await transfer({ op: 'save', ...entry, key }, limitMs);
  return reply.done === 'saved'
    ? { id: reply.id, archiveBytes: reply.archiveBytes, refused: reply.refused }
    : { id: -1 };
}

/**
 * The service refused a key because another job holds it: legs of one matrix run racing for the
 * same shared entry, or a rerun of a job that already saved. Not a failure: the entry exists.
 * (v2 answers 409 "cache entry with the same key, version, and scope already exists"; v1 "Cache
 * already exists"; a full cache or a denied write is something else, and a warning.)
 */
export function lostRace(refused: string | undefined): boolean {
  return refused !== undefined && /\(409\)|already exists/i.test(refused);
}

function transfer(request: TransferRequest, limitMs: number): Promise<Done> {
  // Its own process group: killing it also kills the tar and zstd it runs.
  // @actions/cache archives paths relative to GITHUB_WORKSPACE (else the working directory).
  const worker = spawn(process.execPath, [WORKER], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
    cwd: request.root,
    env: { ...process.env, GITHUB_WORKSPACE: request.root },
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error, reply?: Done) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        killGroup(worker.pid);
        reject(error);
      } else resolve(reply!);
    };
    const limit = (ms: number, what: string) =>
      setTimeout(() => finish(new TransferTimeout(`the cache service did not ${what} within ${formatLimit(ms)}`)), ms);
    let timer = limit(
      request.op === 'save' ? limitMs : Math.min(LOOKUP_LIMIT_MS, limitMs),
      request.op === 'save' ? 'finish the save' : 'answer the lookup',
    );
    worker.on('message', (m: TransferReply) => {
      if ('phase' in m) {
        clearTimeout(timer);
        timer = limit(limitMs, 'finish the restore');
      } else if (m.done === 'error') finish(new Error(m.message));
      else finish(undefined, m);
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code, signal) =>
      finish(new Error(`the cache worker exited (${signal ?? `code ${code}`}) without an answer`)),
    );
    worker.send(request);
  });
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function formatLimit(ms: number): string {
  return ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`;
}
