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
const write = process.stdout.write.bind(process.stdout) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const m = /Cache Size: ~\d+ MB \((\d+) B\)|::debug::File Size: (\d+)/.exec(String(chunk));
  if (m) archiveBytes = Number(m[1] ?? m[2]);
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

function reply(message: TransferReply): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function run(request: TransferRequest): Promise<TransferReply> {
  if (request.op === 'save') {
    const id = await cache.saveCache([...request.paths], request.key);
    return { done: 'saved', id, archiveBytes };
  }
  // Look up first, so a service that never answers is told apart from a long download.
  const found = await cache.restoreCache([...request.paths], request.key, [...request.restoreKeys], {
    lookupOnly: true,
  });
  await reply({ phase: 'found', key: found });
  if (!found) return { done: 'restored' };
  const key = await cache.restoreCache([...request.paths], request.key, [...request.restoreKeys]);
  return { done: 'restored', key, archiveBytes: key ? archiveBytes : undefined };
}

// The step that started this worker is gone: nobody is waiting for the answer.
process.once('disconnect', () => process.exit(0));

process.once('message', (request: TransferRequest) => {
  void run(request)
    .catch((e: unknown) => ({ done: 'error', message: errorMessage(e) }) as TransferReply)
    .then(reply)
    .finally(() => process.disconnect());
});
