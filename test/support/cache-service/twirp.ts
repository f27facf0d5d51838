/**
 * Cache service v2 (github.com): twirp JSON on
 * `POST /twirp/github.actions.results.api.v1.CacheService/<Method>`, field names as in the proto
 * (`restore_keys`, `size_bytes` as an int64 string, `signed_upload_url`, `matched_key`, ...).
 * Errors are twirp JSON `{code, msg}` with the status twirp maps the code to.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import {
  QUOTA_MESSAGE,
  READ_DENIED_MESSAGE,
  requestScopes,
  type ServiceContext,
  WRITE_DENIED_MESSAGE,
} from './context.js';
import { readJson, RequestError, sendJson } from './http-util.js';

export const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.CacheService/';

type TwirpCode =
  | 'malformed'
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'failed_precondition'
  | 'bad_route'
  | 'already_exists'
  | 'resource_exhausted'
  | 'internal'
  | 'unavailable';

const TWIRP_STATUS: Record<TwirpCode, number> = {
  malformed: 400,
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  failed_precondition: 412,
  bad_route: 404,
  already_exists: 409,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503,
};

export function twirpError(res: ServerResponse, code: TwirpCode, msg: string, status = TWIRP_STATUS[code]): void {
  sendJson(res, status, { code, msg });
}

export function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value : '';
}

/**
 * A twirp call's JSON body; undefined when the request was answered already (not a POST, or a
 * body that is not JSON), as twirp answers those.
 */
export async function readTwirpBody(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Record<string, unknown> | undefined> {
  if (req.method !== 'POST') {
    twirpError(res, 'bad_route', `unsupported method ${req.method}`);
    return undefined;
  }
  try {
    return await readJson(req);
  } catch (error) {
    twirpError(res, 'malformed', error instanceof RequestError ? error.message : String(error));
    return undefined;
  }
}

export const TWIRP_METHODS = ['CreateCacheEntry', 'FinalizeCacheEntryUpload', 'GetCacheEntryDownloadURL'] as const;
export type TwirpMethod = (typeof TWIRP_METHODS)[number];

export function isTwirpMethod(name: string): name is TwirpMethod {
  return (TWIRP_METHODS as readonly string[]).includes(name);
}

export async function handleTwirp(
  ctx: ServiceContext,
  req: IncomingMessage,
  res: ServerResponse,
  method: TwirpMethod,
): Promise<void> {
  const azurite = ctx.azurite;
  if (!azurite) throw new Error('v2 service without blob storage');
  const body = await readTwirpBody(req, res);
  if (!body) return;
  const key = stringField(body, 'key');
  const version = stringField(body, 'version');
  if (!key) return twirpError(res, 'invalid_argument', 'key is required');
  if (!version) return twirpError(res, 'invalid_argument', 'version is required');
  const scopes = requestScopes(ctx, req);

  switch (method) {
    case 'CreateCacheEntry': {
      if (ctx.faults().quotaExceeded) return twirpError(res, 'resource_exhausted', QUOTA_MESSAGE);
      if (!scopes.write) return sendJson(res, 200, { ok: false, message: WRITE_DENIED_MESSAGE });
      const entry = ctx.store.reserve(key, version, scopes.write, (id) => ({ location: `entries/${id}`, secret: '' }));
      if (!entry)
        return twirpError(res, 'already_exists', 'cache entry with the same key, version, and scope already exists');
      return sendJson(res, 200, {
        ok: true,
        signed_upload_url: ctx.blobUrl(entry.location, azurite.sas(entry.location, 'cw')),
      });
    }
    case 'FinalizeCacheEntryUpload': {
      if (!scopes.write) return sendJson(res, 200, { ok: false, message: WRITE_DENIED_MESSAGE });
      const entry = ctx.store.pending(key, version, scopes.write);
      if (!entry) return twirpError(res, 'not_found', 'no cache entry is being created with this key and version');
      const declared = Number(body['size_bytes'] ?? 0);
      const stored = await azurite.blobSize(entry.location);
      if (stored === undefined) return sendJson(res, 200, { ok: false, message: 'the cache archive was not uploaded' });
      if (stored !== declared)
        return sendJson(res, 200, {
          ok: false,
          message: `size mismatch: uploaded ${stored} bytes, finalized with ${declared}`,
        });
      entry.sizeBytes = stored;
      entry.committed = true;
      return sendJson(res, 200, { ok: true, entry_id: String(entry.id) });
    }
    case 'GetCacheEntryDownloadURL': {
      if (scopes.read.length === 0) return twirpError(res, 'permission_denied', READ_DENIED_MESSAGE);
      const raw = body['restore_keys'];
      const restoreKeys = Array.isArray(raw) ? raw.filter((k): k is string => typeof k === 'string') : [];
      const hit = ctx.store.lookup(scopes.read, [key, ...restoreKeys], version);
      if (!hit) return sendJson(res, 200, { ok: false });
      return sendJson(res, 200, {
        ok: true,
        signed_download_url: ctx.blobUrl(hit.location, azurite.sas(hit.location, 'r')),
        matched_key: hit.key,
      });
    }
  }
}
