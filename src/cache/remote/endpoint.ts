/**
 * The read-through mirror BitBake fetches from: an HTTP server on 127.0.0.1 that answers
 * `GET|HEAD /sstate-cache/<path>` and `GET|HEAD /downloads/<name>` from the bucket, so that
 * SSTATE_MIRRORS and PREMIRRORS can point at plain http:// URLs. BitBake fetches lazily, only
 * what its setscene and fetch tasks ask for; the builder image needs neither the AWS CLI nor
 * credentials, which stay in this process (docs/architecture.md says why this and not BitBake's
 * s3:// fetcher or a restore before the build).
 *
 * A store that fails is never the build's failure: the endpoint answers 404, BitBake builds what
 * it could not fetch, and after a few consecutive failures the store is not asked again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

import { errorMessage } from '../../util/errors.js';
import { objectKey, REMOTE_FOLDERS, type RemoteKind, type RemoteSettings, safeRelPath } from './location.js';
import type { ObjectStore } from './store.js';

/** After this many failures in a row the store counts as down for the rest of the build. */
const FAILURES_UNTIL_DOWN = 3;

export interface EndpointStats {
  /** Objects sent whole, as `kind/rel`. */
  served: string[];
  bytesServed: number;
  /** Requests for objects the bucket does not hold. */
  misses: number;
  /** Requests the store failed on (answered 404); the first error's message. */
  failures: number;
  firstFailure?: string;
  /** Whether the store was given up on. */
  down: boolean;
}

export interface MirrorEndpoint {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  stats(): EndpointStats;
  close(): Promise<void>;
}

export function mirrorPath(kind: RemoteKind): string {
  return `/${REMOTE_FOLDERS[kind]}`;
}

export async function startMirrorEndpoint(store: ObjectStore, settings: RemoteSettings): Promise<MirrorEndpoint> {
  const stats: EndpointStats = { served: [], bytesServed: 0, misses: 0, failures: 0, down: false };
  let failuresInRow = 0;

  const fail = (e: unknown) => {
    stats.failures += 1;
    stats.firstFailure ??= errorMessage(e);
    if (++failuresInRow >= FAILURES_UNTIL_DOWN) stats.down = true;
  };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = parseTarget(req.url ?? '');
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !target) return end(res, 404);
    if (stats.down) return end(res, 404);
    const key = objectKey(settings, target.kind, target.rel);
    if (req.method === 'HEAD') {
      const head = await store.head(key);
      failuresInRow = 0;
      if (!head) {
        stats.misses += 1;
        return end(res, 404);
      }
      res.writeHead(200, { 'content-length': head.size, 'content-type': 'application/octet-stream' });
      return void res.end();
    }
    const object = await store.get(key);
    failuresInRow = 0;
    if (!object) {
      stats.misses += 1;
      return end(res, 404);
    }
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (object.size !== undefined) headers['content-length'] = object.size;
    res.writeHead(200, headers);
    let bytes = 0;
    object.body.on('data', (chunk: Buffer) => (bytes += chunk.length));
    // A body cut short leaves the client a short file and a closed connection: BitBake's fetcher
    // then reports a failed fetch, never a complete object.
    await pipeline(object.body, res);
    stats.bytesServed += bytes;
    stats.served.push(`${target.kind}/${target.rel}`);
  }

  const server: Server = createServer((req, res) => {
    answer(req, res).catch((e: unknown) => {
      fail(e);
      if (!res.headersSent) end(res, 404);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ ...stats, served: [...stats.served] }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseTarget(url: string): { kind: RemoteKind; rel: string } | undefined {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url, 'http://127.0.0.1').pathname);
  } catch {
    return undefined;
  }
  for (const kind of ['sstate', 'downloads'] as const) {
    const folder = mirrorPath(kind);
    if (pathname.startsWith(folder)) {
      const rel = safeRelPath(pathname.slice(folder.length));
      return rel ? { kind, rel } : undefined;
    }
  }
  return undefined;
}

function end(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}
