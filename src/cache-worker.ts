/**
 * Runs one @actions/cache restore or save in a process of its own, so the main or post step can
 * stop it when the cache service stops answering: the client has no request timeout, and a
 * restore that is abandoned in-process could still unpack into the directories BitBake is using.
 * Speaks to its parent over the IPC channel (see cache-transfer.ts).
 */
import * as cache from '@actions/cache';

import type { TransferReply, TransferRequest } from './cache/transfer.js';
import { errorMessage } from './util/errors.js';

/**
 * @actions/cache tells the archive's size only in its log: `Cache Size: ~N MB (B B)` when it
 * restores, `File Size: B` (debug) when it saves. Read it on its way out.
 */
let archiveBytes: number | undefined;
/** Why the last restore failed, in @actions/cache's words: it logs the reason and returns undefined. */
let restoreFailure: string | undefined;
/** Why the last save gave no id: an info line for a key another job holds, a warning otherwise. */
let saveFailure: string | undefined;
/**
 * The service's own answer to a refused reservation: v2 turns every refusal (a key that exists,
 * a full cache) into the same "another job may be creating this cache", and says which only in
 * this debug line.
 */
let reserveFailure: string | undefined;
const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = String(chunk);
  const m = /Cache Size: ~\d+ MB \((\d+) B\)|::debug::File Size: (\d+)/.exec(text);
  if (m) archiveBytes = Number(m[1] ?? m[2]);
  const failed = /::(?:warning|error)::Failed to restore: (.*)/.exec(text);
  if (failed) restoreFailure = failed[1]!.trim();
  const refused = /^(?:::(?:warning|error)::)?Failed to save: (.*)/m.exec(text);
  if (refused) saveFailure = refused[1]!.trim();
  const reserve = /^::debug::Failed to reserve cache: (.*)/m.exec(text);
  if (reserve) reserveFailure = reserve[1]!.trim();
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

/**
 * Downloads of an entry the lookup found. @actions/cache gives up on a download after 5 s without
 * a byte (its SocketTimeout) and then reports the entry as missing; on a loaded runner a second
 * attempt usually gets through.
 */
const RESTORE_ATTEMPTS = 2;

function reply(message: TransferReply): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function run(request: TransferRequest): Promise<TransferReply> {
  if (request.op === 'save') {
    const id = await cache.saveCache([...request.paths], request.key);
    const refused = [saveFailure, reserveFailure].filter(Boolean).join(': ');
    return { done: 'saved', id, archiveBytes, refused: id === -1 ? refused || undefined : undefined };
  }
  // Look up first, so a service that never answers is told apart from a long download.
  const found = await cache.restoreCache([...request.paths], request.key, [...request.restoreKeys], {
    lookupOnly: true,
  });
  await reply({ phase: 'found', key: found });
  if (!found) return { done: 'restored' };
  const failures: string[] = [];
  for (let attempt = 1; attempt <= RESTORE_ATTEMPTS; attempt++) {
    restoreFailure = undefined;
    const key = await cache.restoreCache([...request.paths], request.key, [...request.restoreKeys]);
    if (key) return { done: 'restored', key, archiveBytes };
    // Not found this time, without a failure: removed since the lookup, a miss after all.
    if (restoreFailure === undefined) return { done: 'restored' };
    failures.push(restoreFailure);
  }
  // Never a silent miss: the entry exists, so saying "miss" would hide a broken round trip.
  return {
    done: 'error',
    message: `${found} was found but could not be restored (${RESTORE_ATTEMPTS} attempts: ${failures.join('; ')})`,
  };
}

// The step that started this worker is gone: nobody is waiting for the answer.
process.once('disconnect', () => process.exit(0));

process.once('message', (request: TransferRequest) => {
  void run(request)
    .catch((e: unknown) => ({ done: 'error', message: errorMessage(e) }) as TransferReply)
    .then(reply)
    .finally(() => process.disconnect());
});
