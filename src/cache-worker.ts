/**
 * Runs @actions/cache restores and saves in a process of its own, so the main or post step can
 * stop them when the cache service stops answering: the client has no request timeout, and a
 * restore that is abandoned in-process could still unpack into the directories BitBake is using.
 * Speaks to its parent over the IPC channel (see cache/transfer.ts): several transfers at once,
 * each message naming its transfer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import * as cache from '@actions/cache';

import type { TransferReply, TransferRequest, WorkerReply, WorkerRequest } from './cache/transfer.js';
import { errorMessage } from './util/errors.js';

/**
 * What @actions/cache said of one transfer, read from its log (it tells nothing else):
 * - `archiveBytes`: `Cache Size: ~N MB (B B)` when it restores, `File Size: B` (debug) when it saves;
 * - `restoreFailure`: why a restore failed (it logs the reason and returns undefined);
 * - `saveFailure`: why a save gave no id (an info line for a key another job holds, a warning otherwise);
 * - `reserveFailure`: the service's own answer to a refused reservation: v2 turns every refusal (a
 *   key that exists, a full cache) into the same "another job may be creating this cache", and
 *   says which only in this debug line.
 */
interface Said {
  archiveBytes?: number;
  restoreFailure?: string;
  saveFailure?: string;
  reserveFailure?: string;
}

/** The transfer a log line belongs to: transfers run side by side, each in its own async context. */
const current = new AsyncLocalStorage<Said>();

const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const said = current.getStore();
  if (said) {
    const text = String(chunk);
    const m = /Cache Size: ~\d+ MB \((\d+) B\)|::debug::File Size: (\d+)/.exec(text);
    if (m) said.archiveBytes = Number(m[1] ?? m[2]);
    const failed = /::(?:warning|error)::Failed to restore: (.*)/.exec(text);
    if (failed) said.restoreFailure = failed[1]!.trim();
    const refused = /^(?:::(?:warning|error)::)?Failed to save: (.*)/m.exec(text);
    if (refused) said.saveFailure = refused[1]!.trim();
    const reserve = /^::debug::Failed to reserve cache: (.*)/m.exec(text);
    if (reserve) said.reserveFailure = reserve[1]!.trim();
  }
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

/**
 * Downloads of an entry the lookup found. @actions/cache gives up on a download after 5 s without
 * a byte (its SocketTimeout) and then reports the entry as missing; on a loaded runner a second
 * attempt usually gets through.
 */
const RESTORE_ATTEMPTS = 2;

function reply(transfer: number, message: TransferReply): Promise<void> {
  return new Promise((resolve) => process.send!({ ...message, transfer } satisfies WorkerReply, () => resolve()));
}

async function run(
  request: TransferRequest,
  said: Said,
  found: (key?: string) => Promise<void>,
): Promise<TransferReply> {
  if (request.op === 'save') {
    const id = await cache.saveCache([...request.paths], request.key);
    const refused = [said.saveFailure, said.reserveFailure].filter(Boolean).join(': ');
    return {
      done: 'saved',
      id,
      archiveBytes: said.archiveBytes,
      refused: id === -1 ? refused || undefined : undefined,
    };
  }
  // Look up first, so a service that never answers is told apart from a long download.
  const hit = await cache.restoreCache([...request.paths], request.key, [...request.restoreKeys], {
    lookupOnly: true,
  });
  await found(hit);
  if (!hit) return { done: 'restored' };
  const failures: string[] = [];
  for (let attempt = 1; attempt <= RESTORE_ATTEMPTS; attempt++) {
    said.restoreFailure = undefined;
    const key = await cache.restoreCache([...request.paths], request.key, [...request.restoreKeys]);
    if (key) return { done: 'restored', key, archiveBytes: said.archiveBytes };
    // Not found this time, without a failure: removed since the lookup, a miss after all.
    if (said.restoreFailure === undefined) return { done: 'restored' };
    failures.push(said.restoreFailure);
  }
  // Never a silent miss: the entry exists, so saying "miss" would hide a broken round trip.
  return {
    done: 'error',
    message: `${hit} was found but could not be restored (${RESTORE_ATTEMPTS} attempts: ${failures.join('; ')})`,
  };
}

// The step that started this worker is gone, or has no more transfers for it.
process.once('disconnect', () => process.exit(0));

process.on('message', ({ transfer, ...request }: WorkerRequest) => {
  const said: Said = {};
  void current
    .run(said, () => run(request, said, (key) => reply(transfer, { phase: 'found', key })))
    .catch((e: unknown) => ({ done: 'error', message: errorMessage(e) }) as TransferReply)
    .then((r) => reply(transfer, r));
});
