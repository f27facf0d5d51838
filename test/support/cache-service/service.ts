/**
 * A loopback implementation of the GitHub Actions cache service, for the unmodified
 * @actions/cache client. See README.md in this directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  ARTIFACT_TWIRP_PREFIX,
  ArtifactStore,
  handleArtifactTwirp,
  isArtifactMethod,
  type StoredArtifact,
} from './artifacts.js';
import { type Azurite, startAzurite } from './azurite.js';
import {
  AZURE_BLOB_HOST_SUFFIX,
  blobCallName,
  blobUpstreamPath,
  proxyToAzurite,
  storageErrorXml,
} from './blob-proxy.js';
import type { ServiceContext } from './context.js';
import { DNS_OVERRIDE_ENV } from './dns-override.js';
import { bearerToken, RequestError, sendJson, sendText } from './http-util.js';
import { GHES_API_PREFIX, handleRest, isRestPath, restCallName } from './rest.js';
import { EntryStore, publicView, type StoredEntry } from './store.js';
import { runtimeToken } from './token.js';
import { handleTwirp, isTwirpMethod, TWIRP_PREFIX, twirpError } from './twirp.js';
import type {
  ActionsPermission,
  CacheEntry,
  CacheProtocol,
  CacheServiceOptions,
  CallName,
  FaultPlan,
  FaultTarget,
  ScopeGrant,
} from './types.js';
import { handleV1, serveV1Archive, V1_API_PREFIX, V1_ARCHIVE_PREFIX, v1CallName } from './v1.js';

/** Every variable through which the environment selects or configures the cache service. */
export const CACHE_ENV_KEYS = [
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_CACHE_MODE',
  'GITHUB_SERVER_URL',
  'GITHUB_API_URL',
  DNS_OVERRIDE_ENV,
] as const;

/** A GITHUB_SERVER_URL that is not github.com, *.ghe.com or *.localhost: the client picks v1. */
export const GHES_SERVER_URL = 'https://ghes.example.test';

export interface CacheService {
  readonly protocol: CacheProtocol;
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** What the client process needs; the token grants the service's default scopes. */
  readonly env: Readonly<Record<string, string>>;
  /** Variables the client process must not have (they would select or configure another service). */
  readonly unsetEnv: readonly string[];
  /** Entries, oldest first; committed ones only unless asked. */
  entries(options?: { includePending?: boolean }): CacheEntry[];
  /** Calls counted by name since start or the last resetCalls(). */
  calls(): Partial<Record<CallName, number>>;
  /** Sum of the counts of `names`. */
  callCount(...names: CallName[]): number;
  resetCalls(): void;
  /** Replaces the fault plan (undefined or {} = healthy). Resolves once `down` has taken effect. */
  setFault(plan?: FaultPlan): Promise<void>;
  /** The stored archive of an entry, as uploaded. */
  readArchive(id: number): Promise<Buffer>;
  /** Deletes the matching entries (like GitHub's eviction); returns how many. */
  deleteEntries(match: (entry: CacheEntry) => boolean): Promise<number>;
  /**
   * A GITHUB_TOKEN-like token for the REST endpoints (the action's `github-token` input), granting
   * the workflow's `permissions: actions: <permission>` on the service's repository.
   */
  githubToken(permission: ActionsPermission): string;
  /** v2: artifacts finalized through the artifact service (@actions/artifact), oldest first. */
  artifacts(): Omit<StoredArtifact, 'location'>[];
  /** v2: the blob (the zip) of an artifact, as uploaded. */
  readArtifact(id: number): Promise<Buffer>;
  /** Unexpected exceptions inside the service (a test can assert there are none). */
  serverErrors(): string[];
  stop(): Promise<void>;
}

const DEFAULT_SCOPES: readonly ScopeGrant[] = [{ scope: 'refs/heads/main', permission: 'readwrite' }];
const DEFAULT_REPOSITORY = 'smidr/example';

type Side = 'api' | 'storage' | 'rest';

function faultHits(target: FaultTarget | undefined, fallback: FaultTarget, where: Side): boolean {
  const t = target ?? fallback;
  return t === 'all' || t === where;
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startCacheService(options: CacheServiceOptions): Promise<CacheService> {
  const { protocol } = options;
  const blobHost = options.blobHost ?? 'loopback';
  const defaultScopes = options.scopes ?? DEFAULT_SCOPES;
  const log = options.log === true || process.env['CACHE_SERVICE_LOG'] === '1';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cache-service-'));
  const archiveDir = path.join(dir, 'v1-archives');
  await mkdir(archiveDir);

  let azurite: Azurite | undefined;
  if (protocol === 'v2') {
    await mkdir(path.join(dir, 'azurite'));
    try {
      azurite = await startAzurite(path.join(dir, 'azurite'));
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  const clock = () => new Date(Date.now() + (options.clockAheadMs ?? 0));
  const store = new EntryStore(clock);
  const artifacts = new ArtifactStore();
  const counts = new Map<CallName, number>();
  const errors: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  let plan: FaultPlan = { ...options.faults };
  let port = 0;
  const restTokens = new Map<string, ActionsPermission>();

  async function removeEntry(entry: StoredEntry): Promise<void> {
    store.remove(entry);
    if (azurite) await azurite.deleteBlob(entry.location);
    else await unlink(entry.location).catch(() => undefined);
  }

  const ctx: ServiceContext = {
    store,
    defaultScopes,
    archiveDir,
    azurite,
    faults: () => plan,
    baseUrl: () => `http://127.0.0.1:${port}/`,
    blobUrl(blobName, sas) {
      if (!azurite) throw new Error('no blob storage in a v1 service');
      const origin =
        blobHost === 'azure'
          ? `http://${azurite.account}${AZURE_BLOB_HOST_SUFFIX}:${port}`
          : `http://127.0.0.1:${port}/${azurite.account}`;
      return `${origin}/${azurite.container}/${blobName}?${sas}`;
    },
    count(name) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    },
    repository: options.repository ?? DEFAULT_REPOSITORY,
    restPermission: (token) => restTokens.get(token),
    removeEntry,
  };

  function sendServerError(res: http.ServerResponse, where: Side, status: number): void {
    const message = 'injected fault: internal server error';
    if (where === 'rest') {
      sendJson(res, status, { message, documentation_url: 'https://docs.github.com/rest', status: String(status) });
    } else if (where === 'storage' && protocol === 'v2') {
      const xml = storageErrorXml(status, 'InternalError', message);
      sendText(res, xml.status, 'application/xml', xml.body, xml.headers);
    } else if (protocol === 'v2') {
      twirpError(res, 'internal', message, status);
    } else {
      sendJson(res, status, { message, typeKey: 'InternalServerErrorException' });
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://cache-service.invalid');
    const method = req.method ?? 'GET';
    const upstreamPath = azurite ? blobUpstreamPath(azurite, req.headers.host ?? '', url) : undefined;
    let name: CallName = 'unknown';
    let where: Side = 'api';
    if (isRestPath(url.pathname)) {
      name = restCallName(method, url.pathname);
      where = 'rest';
    } else if (upstreamPath !== undefined) {
      name = blobCallName(method, url);
      where = 'storage';
    } else if (protocol === 'v2' && url.pathname.startsWith(TWIRP_PREFIX)) {
      const twirpMethod = url.pathname.slice(TWIRP_PREFIX.length);
      name = isTwirpMethod(twirpMethod) ? `twirp.${twirpMethod}` : 'twirp.unknown';
    } else if (protocol === 'v2' && url.pathname.startsWith(ARTIFACT_TWIRP_PREFIX)) {
      const artifactMethod = url.pathname.slice(ARTIFACT_TWIRP_PREFIX.length);
      name = isArtifactMethod(artifactMethod) ? `artifact.${artifactMethod}` : 'artifact.unknown';
    } else if (protocol === 'v1' && url.pathname.startsWith(V1_API_PREFIX)) {
      name = v1CallName(method, url.pathname.slice(V1_API_PREFIX.length));
    } else if (protocol === 'v1' && url.pathname.startsWith(V1_ARCHIVE_PREFIX)) {
      name = 'v1.downloadArchive';
      where = 'storage';
    }
    ctx.count(name);
    if (log)
      res.on('finish', () =>
        process.stderr.write(
          `[cache-service ${protocol}] ${method} ${url.pathname}${url.search.slice(0, 80)} ${name} → ${res.statusCode}\n`,
        ),
      );

    const faults = plan;
    if (faults.delay && faultHits(faults.delay.target, 'api', where)) await sleep(faults.delay.ms);
    if (faults.serverError) {
      const spec = faults.serverError === true ? {} : faults.serverError;
      if (faultHits(spec.target, 'api', where)) return sendServerError(res, where, spec.status ?? 500);
    }
    if (where === 'api') {
      if (faults.nonJsonError)
        return sendText(
          res,
          502,
          'text/html',
          '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
        );
      if (faults.rateLimited) {
        const seconds = faults.rateLimited === true ? 60 : (faults.rateLimited.retryAfterSeconds ?? 60);
        const headers = { 'Retry-After': String(seconds) };
        if (protocol === 'v2')
          return sendJson(res, 429, { code: 'resource_exhausted', msg: 'rate limit exceeded' }, headers);
        return sendJson(res, 429, { message: 'rate limit exceeded', typeKey: 'RateLimitExceededException' }, headers);
      }
      if (!bearerToken(req)) {
        if (protocol === 'v2') return twirpError(res, 'unauthenticated', 'missing bearer token');
        return sendJson(res, 401, { message: 'missing bearer token', typeKey: 'UnauthorizedException' });
      }
    }

    if (where === 'rest') {
      // The service's clock, as GitHub's API tells its own in every answer.
      res.setHeader('Date', clock().toUTCString());
      return handleRest(ctx, req, res, url, name);
    }
    if (upstreamPath !== undefined && azurite) return proxyToAzurite(ctx, azurite, agent, req, res, upstreamPath, name);
    if (name.startsWith('twirp.')) {
      const twirpMethod = url.pathname.slice(TWIRP_PREFIX.length);
      if (!isTwirpMethod(twirpMethod)) return twirpError(res, 'bad_route', `no such method: ${twirpMethod}`);
      return handleTwirp(ctx, req, res, twirpMethod);
    }
    if (name.startsWith('artifact.')) {
      const artifactMethod = url.pathname.slice(ARTIFACT_TWIRP_PREFIX.length);
      if (!isArtifactMethod(artifactMethod)) return twirpError(res, 'bad_route', `no such method: ${artifactMethod}`);
      return handleArtifactTwirp(ctx, artifacts, req, res, artifactMethod);
    }
    if (name === 'v1.downloadArchive') return serveV1Archive(ctx, req, res, url);
    if (name.startsWith('v1.')) return handleV1(ctx, req, res, url, name);
    if (protocol === 'v2') return twirpError(res, 'bad_route', `no route for ${method} ${url.pathname}`);
    return sendJson(res, 404, { message: `no route for ${method} ${url.pathname}`, typeKey: 'NotFoundException' });
  }

  const server = http.createServer((req, res) => {
    req.on('error', () => res.destroy());
    route(req, res).catch((error: unknown) => {
      if (error instanceof RequestError) {
        if (!res.headersSent)
          sendJson(res, error.status, { code: 'invalid_argument', msg: error.message, message: error.message });
        return;
      }
      errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
      if (!res.headersSent) sendJson(res, 500, { code: 'internal', msg: String(error), message: String(error) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  port = await listen(server, 0);

  const url = `http://127.0.0.1:${port}/`;
  const token = runtimeToken(defaultScopes);
  const env: Record<string, string> =
    protocol === 'v2'
      ? {
          ACTIONS_CACHE_SERVICE_V2: 'True',
          ACTIONS_RESULTS_URL: url,
          ACTIONS_RUNTIME_TOKEN: token,
          GITHUB_SERVER_URL: 'https://github.com',
          // api.github.com has no path; Octokit appends `/repos/…` to this as it is.
          GITHUB_API_URL: url.slice(0, -1),
        }
      : {
          ACTIONS_CACHE_URL: url,
          ACTIONS_RUNTIME_TOKEN: token,
          GITHUB_SERVER_URL: GHES_SERVER_URL,
          GITHUB_API_URL: `${url.slice(0, -1)}${GHES_API_PREFIX}`,
        };
  if (protocol === 'v2' && blobHost === 'azure' && azurite) {
    env[DNS_OVERRIDE_ENV] = `${azurite.account}${AZURE_BLOB_HOST_SUFFIX}`;
    env['NODE_OPTIONS'] =
      `--import=${pathToFileURL(fileURLToPath(new URL('./dns-override.ts', import.meta.url))).href}`;
  }
  const unsetEnv = CACHE_ENV_KEYS.filter((k) => !(k in env));

  const find = (id: number) => {
    const entry = store.byId(id);
    if (!entry) throw new Error(`no cache entry ${id}`);
    return entry;
  };

  return {
    protocol,
    url,
    env,
    unsetEnv,
    entries: ({ includePending = false } = {}) =>
      store
        .all()
        .filter((e) => includePending || e.committed)
        .map(publicView),
    calls: () => Object.fromEntries(counts),
    callCount: (...names) => names.reduce((sum, n) => sum + (counts.get(n) ?? 0), 0),
    resetCalls: () => counts.clear(),
    async setFault(next = {}) {
      plan = { ...next };
      if (plan.down && server.listening) await close(server);
      else if (!plan.down && !server.listening) await listen(server, port);
    },
    async readArchive(id) {
      const entry = find(id);
      return azurite ? azurite.readBlob(entry.location) : readFile(entry.location);
    },
    async deleteEntries(match) {
      const doomed = store.all().filter((e) => match(publicView(e)));
      for (const entry of doomed) await removeEntry(entry);
      return doomed.length;
    },
    githubToken(permission) {
      // Shaped like an installation token; random, so a test can look for it in logs.
      const t = `ghs_loopback${permission}${randomBytes(12).toString('hex')}`;
      restTokens.set(t, permission);
      return t;
    },
    artifacts: () => artifacts.all().flatMap(({ location: _, ...a }) => (a.finalized ? [a] : [])),
    async readArtifact(id) {
      const artifact = artifacts.all().find((a) => a.id === id);
      if (!artifact || !azurite) throw new Error(`no artifact ${id}`);
      return azurite.readBlob(artifact.location);
    },
    serverErrors: () => [...errors],
    async stop() {
      plan = {};
      await close(server);
      agent.destroy();
      await azurite?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
