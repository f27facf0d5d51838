/**
 * The storage side of v2: signed blob URLs point here, and requests are forwarded to Azurite
 * unchanged except for the host (host-style `<account>.blob.core.windows.net` URLs are rewritten to
 * Azurite's path style; SAS signatures do not cover the host). Passing through here lets the
 * service count blob operations and damage downloads.
 */
import * as http from 'node:http';

import type { Azurite } from './azurite.js';
import { downloadFault, type ServiceContext } from './context.js';
import { pipeBody } from './http-util.js';
import type { CallName } from './types.js';

export const AZURE_BLOB_HOST_SUFFIX = '.blob.core.windows.net';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
]);

/** The Azurite path for a request, or undefined when the request is not for blob storage. */
export function blobUpstreamPath(azurite: Azurite, host: string, url: URL): string | undefined {
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  if (hostname === `${azurite.account}${AZURE_BLOB_HOST_SUFFIX}`)
    return `/${azurite.account}${url.pathname}${url.search}`;
  if (url.pathname.startsWith(`/${azurite.account}/`)) return `${url.pathname}${url.search}`;
  return undefined;
}

export function blobCallName(method: string, url: URL): CallName {
  const comp = url.searchParams.get('comp');
  if (method === 'PUT' && comp === null) return 'blob.PutBlob';
  if (method === 'PUT' && comp === 'block') return 'blob.PutBlock';
  if (method === 'PUT' && comp === 'blocklist') return 'blob.PutBlockList';
  if (method === 'GET' && comp === null) return 'blob.GetBlob';
  if (method === 'HEAD' && comp === null) return 'blob.GetBlobProperties';
  return 'blob.other';
}

function forwardHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

export function storageErrorXml(
  status: number,
  code: string,
  message: string,
): { status: number; body: string; headers: Record<string, string> } {
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return { status, body, headers: { 'x-ms-error-code': code } };
}

export function proxyToAzurite(
  ctx: ServiceContext,
  azurite: Azurite,
  agent: http.Agent,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstreamPath: string,
  name: CallName,
): Promise<void> {
  return new Promise((resolve) => {
    const upstream = http.request({
      host: '127.0.0.1',
      port: azurite.port,
      method: req.method,
      path: upstreamPath,
      headers: { ...forwardHeaders(req.headers), host: `127.0.0.1:${azurite.port}` },
      agent,
    });
    upstream.on('response', (upstreamRes) => {
      const status = upstreamRes.statusCode ?? 502;
      res.writeHead(status, forwardHeaders(upstreamRes.headers));
      const fault =
        name === 'blob.GetBlob' && (status === 200 || status === 206) ? downloadFault(ctx.faults()) : undefined;
      const length = Number(upstreamRes.headers['content-length'] ?? 0);
      if (fault && length > 0) {
        void pipeBody(upstreamRes, res, length, fault).then(resolve);
      } else {
        upstreamRes.pipe(res);
        res.on('close', () => {
          if (!upstreamRes.complete) upstreamRes.destroy();
          resolve();
        });
      }
    });
    upstream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
}
