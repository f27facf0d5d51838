/** Loopback GitHub Actions cache service (v2 twirp + Azurite, v1 GHES) for tests. See README.md. */
export { startCacheService, CACHE_ENV_KEYS, GHES_SERVER_URL, type CacheService } from './service.js';
export { applyClientEnv, captureOutput, accelerateTimers, type CapturedRun } from './client.js';
export { installDnsOverride, DNS_OVERRIDE_ENV } from './dns-override.js';
export { runtimeToken, pushScopes, pullRequestScopes, scopesFromToken, toRef } from './token.js';
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
