/**
 * The repository's cache entries through GitHub's REST API: usage, the entries of one ref by key
 * prefix, deletion by id. Octokit from @actions/github, which takes the API's address from
 * GITHUB_API_URL (GHES included) and keeps the token out of its error messages.
 */
import { getOctokit } from '@actions/github';

import { errorMessage } from '../util/errors.js';

/** What the repository's cache entries take up, as GitHub counts it. */
export interface CacheUsage {
  bytes: number;
  entries: number;
  /**
   * How far GitHub's clock is ahead of the runner's, at least (negative: behind), from the answer's
   * Date header: GitHub dates entries by its own clock, and a self-hosted runner's may be off.
   */
  githubAheadMs?: number;
}

/** One cache entry as the REST API lists it. */
export interface CacheEntryInfo {
  id: number;
  key: string;
  ref: string;
  sizeBytes: number;
  createdAtMs: number;
}

/** The three calls the clean-up makes: the seam its unit tests replace. */
export interface CacheEntriesApi {
  usage(): Promise<CacheUsage>;
  /** Entries of `ref` whose key starts with `keyPrefix`, every page. */
  list(keyPrefix: string, ref: string): Promise<CacheEntryInfo[]>;
  /** False when the entry was already gone (evicted, or deleted by another job). */
  remove(id: number): Promise<boolean>;
}

/** GitHub refused for want of permission: the token lacks `actions: write` (or `read`). */
export class CachePermissionDenied extends Error {
  override name = 'CachePermissionDenied';
}

/** Longest one REST call (a listing: all its pages) may take: a hung API must not hang the post step. */
const CALL_LIMIT_MS = 60_000;

/** `baseUrl`: the API's address; @actions/github reads GITHUB_API_URL when it is loaded. */
export function githubCacheEntries(token: string, repository: string, baseUrl?: string): CacheEntriesApi {
  const [owner = '', repo = ''] = repository.split('/');
  const octokit = getOctokit(token, baseUrl ? { baseUrl } : {});
  const request = () => ({ signal: AbortSignal.timeout(CALL_LIMIT_MS) });
  return {
    usage: () =>
      call('GET actions/cache/usage', async () => {
        const { data, headers } = await octokit.rest.actions.getActionsCacheUsage({ owner, repo, request: request() });
        // GitHub's clock read the Date (whole seconds) before the answer arrived: a lower bound.
        const githubAheadMs = Date.parse(headers.date ?? '') - Date.now();
        return {
          bytes: data.active_caches_size_in_bytes,
          entries: data.active_caches_count,
          githubAheadMs: Number.isNaN(githubAheadMs) ? undefined : githubAheadMs,
        };
      }),
    list: (keyPrefix, ref) =>
      call('GET actions/caches', async () => {
        const caches = await octokit.paginate(octokit.rest.actions.getActionsCacheList, {
          owner,
          repo,
          key: keyPrefix,
          ref,
          per_page: 100,
          request: request(),
        });
        return caches.map((c) => ({
          id: c.id ?? 0,
          key: c.key ?? '',
          ref: c.ref ?? '',
          sizeBytes: c.size_in_bytes ?? 0,
          createdAtMs: c.created_at ? Date.parse(c.created_at) : Number.NaN,
        }));
      }),
    remove: (id) =>
      call(`DELETE actions/caches/${id}`, async () => {
        try {
          await octokit.rest.actions.deleteActionsCacheById({ owner, repo, cache_id: id, request: request() });
          return true;
        } catch (e) {
          if (statusOf(e) === 404) return false;
          throw e;
        }
      }),
  };
}

/**
 * One call, its failure named: a 403 for want of permission becomes CachePermissionDenied. GitHub
 * answers its secondary rate limits with 403 too; those are trouble, not a missing permission.
 */
async function call<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    const status = statusOf(e);
    const message = errorMessage(e);
    if (status === 403 && !/rate limit/i.test(message)) throw new CachePermissionDenied(`${what}: 403 ${message}`);
    throw new Error(`${what}: ${status ? `${status} ` : ''}${message}`, { cause: e });
  }
}

function statusOf(e: unknown): number | undefined {
  const status = (e as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status > 0 ? status : undefined;
}
