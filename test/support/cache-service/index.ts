/** Loopback GitHub Actions cache service (v2 twirp + Azurite, v1 GHES) for tests. See README.md. */
export type { StoredArtifact } from './artifacts.js';
export { accelerateTimers, applyClientEnv, type CapturedRun, captureOutput } from './client.js';
export { DNS_OVERRIDE_ENV, installDnsOverride } from './dns-override.js';
export { CACHE_ENV_KEYS, type CacheService, GHES_SERVER_URL, startCacheService } from './service.js';
export { pullRequestScopes, pushScopes, RESULTS_BACKEND_IDS, runtimeToken, scopesFromToken, toRef } from './token.js';
export type {
  BlobHostStyle,
  CacheEntry,
  CacheProtocol,
  CacheServiceOptions,
  CallName,
  FaultPlan,
  FaultTarget,
  ScopeGrant,
  ScopePermission,
} from './types.js';
