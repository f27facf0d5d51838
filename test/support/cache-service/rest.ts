/**
 * The REST API's cache endpoints (api.github.com, or `<host>/api/v3` on GHES), over the same
 * entries the cache protocols write:
 *   GET    /repos/{owner}/{repo}/actions/caches?key=<prefix>&ref=<ref>&sort=&direction=&per_page=&page=
 *   DELETE /repos/{owner}/{repo}/actions/caches?key=<complete key>[&ref=<ref>]
 *   DELETE /repos/{owner}/{repo}/actions/caches/{cache_id}
 *   GET    /repos/{owner}/{repo}/actions/cache/usage
 * Authorization is a GITHUB_TOKEN-like token the service handed out (`githubToken(permission)`):
 * reading needs `actions: read`, deleting `actions: write`; a token without it gets GitHub's 403
 * "Resource not accessible by integration". An entry's `ref` is the scope it was saved under,
 * which comes from the saving job's ACTIONS_RUNTIME_TOKEN, as on GitHub.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ServiceContext } from './context.js';
import { sendJson } from './http-util.js';
import type { StoredEntry } from './store.js';
import { toRef } from './token.js';
import type { ActionsPermission, CallName } from './types.js';

/** GHES serves the REST API under /api/v3; github.com at the root of api.github.com. */
export const GHES_API_PREFIX = '/api/v3';

const ROUTE = /^(?:\/api\/v3)?\/repos\/([^/]+)\/([^/]+)\/actions\/(caches|caches\/(\d+)|cache\/usage)$/;

const DOCS = 'https://docs.github.com/rest/actions/cache';

/** Whether a path is one of the REST endpoints (on either API root). */
export function isRestPath(pathname: string): boolean {
  return /^(?:\/api\/v3)?\/repos\//.test(pathname);
}

export function restCallName(method: string, pathname: string): CallName {
  const m = ROUTE.exec(pathname);
  if (!m) return 'rest.unknown';
  if (m[3] === 'caches' && method === 'GET') return 'rest.listCaches';
  if (m[3] === 'caches' && method === 'DELETE') return 'rest.deleteCachesByKey';
  if (m[4] !== undefined && method === 'DELETE') return 'rest.deleteCacheById';
  if (m[3] === 'cache/usage' && method === 'GET') return 'rest.cacheUsage';
  return 'rest.unknown';
}

function restError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { message, documentation_url: DOCS, status: String(status) });
}

/** GitHub accepts `Authorization: token X` and `Bearer X`. */
function restToken(req: IncomingMessage): string | undefined {
  return /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** The entry as the REST API shows it. */
function restView(e: StoredEntry): Record<string, unknown> {
  return {
    id: e.id,
    ref: e.scope,
    key: e.key,
    version: e.version,
    last_accessed_at: e.lastAccessedAt.toISOString(),
    created_at: e.createdAt.toISOString(),
    size_in_bytes: e.sizeBytes,
  };
}

const SORT_FIELDS = {
  created_at: (e: StoredEntry) => e.createdAt.getTime(),
  last_accessed_at: (e: StoredEntry) => e.lastAccessedAt.getTime(),
  size_in_bytes: (e: StoredEntry) => e.sizeBytes,
} as const;

function sorted(entries: StoredEntry[], url: URL): StoredEntry[] {
  const sort = url.searchParams.get('sort') ?? 'last_accessed_at';
  const field = SORT_FIELDS[sort as keyof typeof SORT_FIELDS] ?? SORT_FIELDS.last_accessed_at;
  const sign = url.searchParams.get('direction') === 'asc' ? 1 : -1;
  return [...entries].sort((a, b) => sign * (field(a) - field(b)) || sign * (a.id - b.id));
}

/** A page of `items` and the Link header Octokit's paginate follows. */
function page<T>(items: T[], url: URL, host: string): { items: T[]; link?: string } {
  const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
  const number = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const at = (n: number) => {
    const u = new URL(url.pathname + url.search, `http://${host}`);
    u.searchParams.set('per_page', String(perPage));
    u.searchParams.set('page', String(n));
    return u.href;
  };
  const links = [
    ...(number < last ? [`<${at(number + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`] : []),
    ...(number > 1 ? [`<${at(1)}>; rel="first"`, `<${at(number - 1)}>; rel="prev"`] : []),
  ];
  return {
    items: items.slice((number - 1) * perPage, number * perPage),
    link: links.length > 0 ? links.join(', ') : undefined,
  };
}

export async function handleRest(
  ctx: ServiceContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  name: CallName,
): Promise<void> {
  const token = restToken(req);
  const permission: ActionsPermission | undefined = token === undefined ? undefined : ctx.restPermission(token);
  if (permission === undefined) return restError(res, 401, 'Bad credentials');
  const m = ROUTE.exec(url.pathname);
  if (!m || name === 'rest.unknown') return restError(res, 404, 'Not Found');
  if (`${m[1]}/${m[2]}`.toLowerCase() !== ctx.repository.toLowerCase()) return restError(res, 404, 'Not Found');
  const writes = name === 'rest.deleteCachesByKey' || name === 'rest.deleteCacheById';
  if (permission === 'none' || (writes && permission !== 'write'))
    return restError(res, 403, 'Resource not accessible by integration');

  const committed = ctx.store.all().filter((e) => e.committed);
  const refParam = url.searchParams.get('ref');
  const onRef = (e: StoredEntry) => refParam === null || e.scope === toRef(refParam);
  switch (name) {
    case 'rest.listCaches': {
      const prefix = url.searchParams.get('key') ?? '';
      const matching = sorted(
        committed.filter((e) => e.key.startsWith(prefix) && onRef(e)),
        url,
      );
      const { items, link } = page(matching, url, req.headers.host ?? '127.0.0.1');
      return sendJson(
        res,
        200,
        { total_count: matching.length, actions_caches: items.map(restView) },
        link ? { Link: link } : {},
      );
    }
    case 'rest.deleteCachesByKey': {
      const key = url.searchParams.get('key');
      if (!key) return restError(res, 422, 'key is required');
      const doomed = committed.filter((e) => e.key === key && onRef(e));
      if (doomed.length === 0) return restError(res, 404, 'Not Found');
      for (const e of doomed) await ctx.removeEntry(e);
      return sendJson(res, 200, { total_count: doomed.length, actions_caches: doomed.map(restView) });
    }
    case 'rest.deleteCacheById': {
      const entry = committed.find((e) => e.id === Number(m[4]));
      if (!entry) return restError(res, 404, 'Not Found');
      await ctx.removeEntry(entry);
      res.writeHead(204).end();
      return;
    }
    case 'rest.cacheUsage':
      return sendJson(res, 200, {
        full_name: ctx.repository,
        active_caches_size_in_bytes: committed.reduce((n, e) => n + e.sizeBytes, 0),
        active_caches_count: committed.length,
      });
  }
}
