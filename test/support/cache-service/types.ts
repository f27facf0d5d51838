/** Types shared by the loopback cache service and the tests that use it. */

/** `v2`: github.com (twirp + Azure Blob). `v1`: GHES (`_apis/artifactcache`). */
export type CacheProtocol = 'v2' | 'v1';

/** Permission bits as in the `ac` claim of ACTIONS_RUNTIME_TOKEN: read = 1, write = 2, both = 3. */
export type ScopePermission = 'read' | 'write' | 'readwrite';

/** One entry of the token's `ac` claim: a ref the job may read and/or write cache entries under. */
export interface ScopeGrant {
  /** A ref, e.g. `refs/heads/main` or `refs/pull/7/merge`. */
  scope: string;
  permission: ScopePermission;
}

/**
 * Which side of the service a fault hits: the cache API, archive storage (blobs, v1 archives), or
 * the REST API's cache endpoints (list, delete, usage).
 */
export type FaultTarget = 'api' | 'storage' | 'rest' | 'all';

/**
 * What a GITHUB_TOKEN-like REST token may do with caches: the workflow's `permissions: actions:`
 * (`write` deletes, `read` lists and reads usage, `none` nothing).
 */
export type ActionsPermission = 'write' | 'read' | 'none';

/**
 * Faults the service injects. Every field is independent; an empty plan means a healthy service.
 * Replace the whole plan with `service.setFault(plan)`.
 */
export interface FaultPlan {
  /** Stop listening: connections are refused (ECONNREFUSED) until the fault is cleared. */
  down?: boolean;
  /** Answer with this status (default 500) and an error body (JSON on the API, XML on storage). */
  serverError?: boolean | { status?: number; target?: FaultTarget };
  /** Hold every request this long before handling it (default target: the API). */
  delay?: { ms: number; target?: FaultTarget };
  /** API calls get a 502 HTML page, as from a broken proxy (the v2 client retries non-JSON ~30 s). */
  nonJsonError?: boolean;
  /** API calls get 429 with Retry-After (the v2 client gives up at once with a warning). */
  rateLimited?: boolean | { retryAfterSeconds?: number };
  /** Creating an entry fails as when the repository's cache storage quota is used up. */
  quotaExceeded?: boolean;
  /** The token is treated as having no readable scopes: lookups are refused (`cache read denied:`). */
  readDenied?: boolean;
  /** The token is treated as having no writable scopes: reservations are refused (`cache write denied:`). */
  writeDenied?: boolean;
  /** Archive downloads send the full Content-Length, then the connection is cut halfway through. */
  truncateDownload?: boolean;
  /** Archive downloads deliver every byte, but 16 bytes in the middle are inverted. */
  corruptDownload?: boolean;
  /** Archive downloads send headers and half the body, then go silent with the socket left open. */
  stallDownload?: boolean;
}

/** What the service knows about one cache entry. */
export interface CacheEntry {
  id: number;
  key: string;
  version: string;
  /** The ref the entry was written under (the token's first writable scope). */
  scope: string;
  /** Archive size; 0 until the upload is committed. */
  sizeBytes: number;
  /** When the entry was reserved (CreateCacheEntry / reserve). */
  createdAt: Date;
  /** When a lookup last matched it (its creation until then). */
  lastAccessedAt: Date;
  /** False while reserved but not yet finalized (v2) / committed (v1). */
  committed: boolean;
}

/** Names under which calls are counted (`service.calls()`); counted when they arrive, faults or not. */
export type CallName =
  | 'twirp.CreateCacheEntry'
  | 'twirp.FinalizeCacheEntryUpload'
  | 'twirp.GetCacheEntryDownloadURL'
  | 'twirp.unknown'
  | 'artifact.CreateArtifact'
  | 'artifact.FinalizeArtifact'
  | 'artifact.ListArtifacts'
  | 'artifact.GetSignedArtifactURL'
  | 'artifact.unknown'
  | 'v1.getCacheEntry'
  | 'v1.listCaches'
  | 'v1.reserveCache'
  | 'v1.uploadChunk'
  | 'v1.commitCache'
  | 'v1.downloadArchive'
  | 'v1.unknown'
  | 'blob.PutBlob'
  | 'blob.PutBlock'
  | 'blob.PutBlockList'
  | 'blob.GetBlob'
  | 'blob.GetBlobProperties'
  | 'blob.other'
  | 'rest.listCaches'
  | 'rest.deleteCachesByKey'
  | 'rest.deleteCacheById'
  | 'rest.cacheUsage'
  | 'rest.unknown'
  | 'unknown';

/** How the v2 signed blob URLs name the storage host. */
export type BlobHostStyle =
  /** `http://127.0.0.1:<port>/<account>/<container>/<blob>`: the client downloads with one plain GET. */
  | 'loopback'
  /**
   * `http://<account>.blob.core.windows.net:<port>/<container>/<blob>`: the client downloads through
   * the Azure SDK (HEAD + ranged GETs). The client process must resolve that host to 127.0.0.1:
   * see `installDnsOverride` (in-process) and the NODE_OPTIONS preload in `service.env`.
   */
  | 'azure';

export interface CacheServiceOptions {
  protocol: CacheProtocol;
  /** Faults active from the start (default: none). */
  faults?: FaultPlan;
  /**
   * Scopes for requests whose bearer token carries none (anything but a JWT with an `ac` claim).
   * Also encoded into `env.ACTIONS_RUNTIME_TOKEN`. Default: read/write on `refs/heads/main`.
   */
  scopes?: readonly ScopeGrant[];
  /** v2 only. Default `loopback`. */
  blobHost?: BlobHostStyle;
  /** `owner/name` the REST endpoints answer for (others are 404). Default `smidr/example`. */
  repository?: string;
  /** Log each request to stderr (also when CACHE_SERVICE_LOG=1). */
  log?: boolean;
  /**
   * How far the service's clock is ahead of this machine's (negative: behind), as GitHub's may be
   * of a self-hosted runner's: entries' `created_at` and the REST answers' Date header follow it.
   */
  clockAheadMs?: number;
}
