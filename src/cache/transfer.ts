/**
 * Restores and saves through @actions/cache in a worker process with a time limit. A cache
 * service that hangs must not hang the build: when a limit passes, the worker and the tar and
 * zstd it started are killed, so nothing is written into the cache directories afterwards.
 * Transfers that run at the same time (the parts of a restore or a save) share one worker: a
 * node process per transfer would cost a start-up each and hold @actions/cache's memory once per
 * part. A limit that passes stops the worker, and with it every transfer in it: a service that
 * hangs one of them is not trusted with the others.
 */
import { type ChildProcess, spawn } from 'node:child_process';
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

/** Between the step and the worker, each message names its transfer (`id` is a saved entry's). */
export type WorkerRequest = TransferRequest & { transfer: number };
export type WorkerReply = TransferReply & { transfer: number };

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

/** A transfer waiting for its answer. */
interface Pending {
  finish: (error?: Error, reply?: Done) => void;
  /** A reply arrived: restart the limit (the lookup's, then the restore's). */
  onPhase: () => void;
}

/** The worker transfers go to, while it has any; one per root (the worker works in it). */
class Worker {
  private readonly process: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextTransfer = 0;
  private closed = false;

  constructor(readonly root: string) {
    // Its own process group: killing it also kills the tar and zstd it runs.
    // @actions/cache archives paths relative to GITHUB_WORKSPACE (else the working directory).
    this.process = spawn(process.execPath, [WORKER], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
      cwd: root,
      env: { ...process.env, GITHUB_WORKSPACE: root },
    });
    this.process.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.transfer);
      if (!p) return;
      if ('phase' in m) p.onPhase();
      else if (m.done === 'error') p.finish(new Error(m.message));
      else p.finish(undefined, m);
    });
    this.process.on('error', (e) => this.stop(e));
    this.process.on('exit', (code, signal) =>
      this.stop(new Error(`the cache worker exited (${signal ?? `code ${code}`}) without an answer`)),
    );
  }

  /** Whether a new transfer may still join this worker. */
  get open(): boolean {
    return !this.closed;
  }

  run(request: TransferRequest, limitMs: number): Promise<Done> {
    const transfer = this.nextTransfer++;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const limit = (ms: number, what: string) =>
        setTimeout(
          () => this.stop(new TransferTimeout(`the cache service did not ${what} within ${formatLimit(ms)}`)),
          ms,
        );
      timer = limit(
        request.op === 'save' ? limitMs : Math.min(LOOKUP_LIMIT_MS, limitMs),
        request.op === 'save' ? 'finish the save' : 'answer the lookup',
      );
      this.pending.set(transfer, {
        finish: (error, reply) => {
          clearTimeout(timer);
          this.pending.delete(transfer);
          if (error) reject(error);
          else resolve(reply!);
          // The last answer: let the worker go, so the step can end.
          if (this.pending.size === 0 && !this.closed) {
            this.closed = true;
            this.process.disconnect();
          }
        },
        onPhase: () => {
          clearTimeout(timer);
          timer = limit(limitMs, 'finish the restore');
        },
      });
      this.process.send({ ...request, transfer } satisfies WorkerRequest);
    });
  }

  /** Kills the worker and its tar and zstd; every transfer still waiting fails with `error`. */
  private stop(error: Error): void {
    this.closed = true;
    if (this.pending.size > 0) killGroup(this.process.pid);
    for (const p of [...this.pending.values()]) p.finish(error);
  }
}

const workers = new Map<string, Worker>();

function transfer(request: TransferRequest, limitMs: number): Promise<Done> {
  let worker = workers.get(request.root);
  if (!worker?.open) {
    worker = new Worker(request.root);
    workers.set(request.root, worker);
  }
  return worker.run(request, limitMs);
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
