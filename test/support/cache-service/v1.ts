/**
 * Cache service v1 (GHES), under `ACTIONS_CACHE_URL`:
 *   GET   _apis/artifactcache/cache?keys=<k1,k2,...>&version=<v>  → 200 entry JSON | 204 miss
 *   GET   _apis/artifactcache/caches?key=<k>                      → listing (client debug mode only)
 *   POST  _apis/artifactcache/caches {key, version, cacheSize}    → 201 {cacheId}
 *   PATCH _apis/artifactcache/caches/<id>  Content-Range: bytes a-b/*  (chunks, in parallel)
 *   POST  _apis/artifactcache/caches/<id> {size}                  → 204
 * Archives are files on disk, served from `_v1-archives/<id>?sig=<secret>` (the `archiveLocation`),
 * with HEAD and single-range GET support. Errors are JSON `{message, typeKey}`.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

import {
  downloadFault,
  QUOTA_MESSAGE,
  READ_DENIED_MESSAGE,
  requestScopes,
  type ServiceContext,
  WRITE_DENIED_MESSAGE,
} from './context.js';
import { pipeBody, readJson, RequestError, sendJson } from './http-util.js';
import type { StoredEntry } from './store.js';
import type { CallName } from './types.js';

export const V1_API_PREFIX = '/_apis/artifactcache/';
export const V1_ARCHIVE_PREFIX = '/_v1-archives/';

function v1Error(res: ServerResponse, status: number, message: string, typeKey = 'ArtifactCacheException'): void {
  sendJson(res, status, {
    $id: '1',
    innerException: null,
    message,
    typeName: `GitHub.Services.ArtifactCache.${typeKey}`,
    typeKey,
    errorCode: 0,
    eventId: 3000,
  });
}

/** Classifies a request under the v1 API prefix. */
export function v1CallName(method: string, rest: string): CallName {
  if (method === 'GET' && rest === 'cache') return 'v1.getCacheEntry';
  if (method === 'GET' && rest === 'caches') return 'v1.listCaches';
  if (method === 'POST' && rest === 'caches') return 'v1.reserveCache';
  if (method === 'PATCH' && /^caches\/\d+$/.test(rest)) return 'v1.uploadChunk';
  if (method === 'POST' && /^caches\/\d+$/.test(rest)) return 'v1.commitCache';
  return 'v1.unknown';
}

function entryView(ctx: ServiceContext, entry: StoredEntry): Record<string, unknown> {
  return {
    cacheKey: entry.key,
    scope: entry.scope,
    cacheVersion: entry.version,
    creationTime: entry.createdAt.toISOString(),
    archiveLocation: `${ctx.baseUrl()}${V1_ARCHIVE_PREFIX.slice(1)}${entry.id}?sig=${entry.secret}`,
  };
}

export async function handleV1(
  ctx: ServiceContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  name: CallName,
): Promise<void> {
  const scopes = requestScopes(ctx, req);
  const id = Number(url.pathname.split('/').pop());
  switch (name) {
    case 'v1.getCacheEntry': {
      if (scopes.read.length === 0) return v1Error(res, 403, READ_DENIED_MESSAGE, 'CacheReadDeniedException');
      const keys = (url.searchParams.get('keys') ?? '').split(',').filter((k) => k !== '');
      const version = url.searchParams.get('version') ?? '';
      if (keys.length === 0 || !version) return v1Error(res, 400, 'keys and version are required', 'ArgumentException');
      const hit = ctx.store.lookup(scopes.read, keys, version);
      if (!hit) {
        res.writeHead(204).end();
        return;
      }
      return sendJson(res, 200, entryView(ctx, hit));
    }
    case 'v1.listCaches': {
      const caches = ctx.store
        .withPrefix(url.searchParams.get('key') ?? '')
        .filter((e) => scopes.read.includes(e.scope));
      return sendJson(res, 200, { totalCount: caches.length, artifactCaches: caches.map((e) => entryView(ctx, e)) });
    }
    case 'v1.reserveCache': {
      const body = await readJson(req);
      const key = typeof body['key'] === 'string' ? body['key'] : '';
      const version = typeof body['version'] === 'string' ? body['version'] : '';
      if (!key || !version) return v1Error(res, 400, 'key and version are required', 'ArgumentException');
      if (!scopes.write) return v1Error(res, 403, WRITE_DENIED_MESSAGE, 'CacheWriteDeniedException');
      if (ctx.faults().quotaExceeded) return v1Error(res, 400, QUOTA_MESSAGE, 'CacheStorageQuotaExceededException');
      const entry = ctx.store.reserve(key, version, scopes.write, (entryId) => ({
        location: path.join(ctx.archiveDir, `${entryId}.archive`),
        secret: randomBytes(16).toString('hex'),
      }));
      if (!entry) {
        return v1Error(
          res,
          409,
          `Cache already exists. Scope: ${scopes.write}, Key: ${key}, Version: ${version}`,
          'ArtifactCacheAlreadyExistsException',
        );
      }
      await writeFile(entry.location, '');
      return sendJson(res, 201, { cacheId: entry.id });
    }
    case 'v1.uploadChunk': {
      const entry = ctx.store.byId(id);
      if (!entry || entry.committed)
        return v1Error(res, 404, `no cache reservation ${id}`, 'ArtifactCacheNotFoundException');
      const m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(req.headers['content-range'] ?? '');
      if (!m) return v1Error(res, 400, 'Content-Range must be "bytes <start>-<end>/*"', 'ArgumentException');
      const start = Number(m[1]);
      const end = Number(m[2]);
      const declared = Number(req.headers['content-length'] ?? end - start + 1);
      if (end < start || declared !== end - start + 1)
        return v1Error(
          res,
          400,
          `Content-Range ${m[0]} does not match Content-Length ${declared}`,
          'ArgumentException',
        );
      await pipeline(req, createWriteStream(entry.location, { flags: 'r+', start }));
      res.writeHead(204).end();
      return;
    }
    case 'v1.commitCache': {
      const entry = ctx.store.byId(id);
      if (!entry || entry.committed)
        return v1Error(res, 404, `no cache reservation ${id}`, 'ArtifactCacheNotFoundException');
      const body = await readJson(req);
      const size = Number(body['size']);
      const stored = (await stat(entry.location)).size;
      if (stored !== size)
        return v1Error(
          res,
          400,
          `Uploaded cache size ${stored} does not match the committed size ${size}`,
          'ArgumentException',
        );
      entry.sizeBytes = stored;
      entry.committed = true;
      res.writeHead(204).end();
      return;
    }
    default:
      return v1Error(res, 404, `unknown route ${req.method} ${url.pathname}`, 'NotFoundException');
  }
}

/** GET/HEAD of an archive (the `archiveLocation` of a v1 entry), with download faults. */
export async function serveV1Archive(
  ctx: ServiceContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const entry = ctx.store.byId(Number(url.pathname.slice(V1_ARCHIVE_PREFIX.length)));
  if (!entry || !entry.committed || url.searchParams.get('sig') !== entry.secret)
    return v1Error(res, 404, 'archive not found', 'NotFoundException');
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new RequestError(405, `${req.method} not allowed`);
  const size = entry.sizeBytes;
  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    start = Number(range[1]);
    end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start > end) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
  }
  const length = size === 0 ? 0 : end - start + 1;
  res.writeHead(status, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    'Accept-Ranges': 'bytes',
    ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  await pipeBody(createReadStream(entry.location, { start, end }), res, length, downloadFault(ctx.faults()));
}
