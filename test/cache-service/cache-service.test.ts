/**
 * The loopback cache service against the real, unmodified @actions/cache client (in this process):
 * round trips on v2 (twirp + Azurite) and v1 (GHES), lookup semantics, scoping, immutability, and
 * the client's behaviour under each injected fault.
 *
 * The two ~140 MiB tests take about 5 s each here; CACHE_SERVICE_SKIP_LARGE=1 skips them.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as cache from '@actions/cache';
import { getOctokit } from '@actions/github';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { CachePermissionDenied, githubCacheEntries } from '../../src/cache/github-entries.js';
import {
  accelerateTimers,
  applyClientEnv,
  type CacheService,
  type CapturedRun,
  captureOutput,
  pullRequestScopes,
  pushScopes,
  runtimeToken,
  startCacheService,
} from '../support/cache-service/index.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MiB = 1024 * 1024;

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** Relative path → sha256 of every file below `dir` (undefined when `dir` is missing). */
async function digestTree(dir: string): Promise<Record<string, string> | undefined> {
  try {
    await stat(dir);
  } catch {
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = await sha256File(file);
  }
  return out;
}

/** A job: its own workspace (GITHUB_WORKSPACE), RUNNER_TEMP and the directory it caches. */
class Job {
  private constructor(
    readonly root: string,
    readonly workspace: string,
    readonly runnerTemp: string,
    readonly data: string,
  ) {}

  static async create(): Promise<Job> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'cache-job-'));
    const workspace = path.join(root, 'workspace');
    const runnerTemp = path.join(root, 'runner-temp');
    await mkdir(workspace);
    await mkdir(runnerTemp);
    return new Job(root, workspace, runnerTemp, path.join(workspace, 'downloads'));
  }

  env(): Record<string, string> {
    return { RUNNER_TEMP: this.runnerTemp, GITHUB_WORKSPACE: this.workspace };
  }

  async fill(label: string): Promise<Record<string, string>> {
    await rm(this.data, { recursive: true, force: true });
    await mkdir(path.join(this.data, 'nested', 'deeper'), { recursive: true });
    await writeFile(path.join(this.data, 'label.txt'), label);
    await writeFile(path.join(this.data, 'nested', 'random.bin'), randomBytes(64 * 1024));
    await writeFile(path.join(this.data, 'nested', 'deeper', 'text.txt'), `${label}\n`.repeat(1000));
    const digest = await digestTree(this.data);
    if (!digest) throw new Error('no data');
    return digest;
  }

  async clear(): Promise<void> {
    await rm(this.data, { recursive: true, force: true });
  }

  save(key: string, paths = [this.data]): Promise<CapturedRun<number>> {
    return captureOutput(() => cache.saveCache(paths, key));
  }

  restore(
    key: string,
    restoreKeys: string[] = [],
    paths = [this.data],
    options?: cache.DownloadOptions,
  ): Promise<CapturedRun<string | undefined>> {
    return captureOutput(() => cache.restoreCache(paths, key, restoreKeys, options));
  }

  async label(): Promise<string | undefined> {
    return readFile(path.join(this.data, 'label.txt'), 'utf8').catch(() => undefined);
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Per-test job + client environment for `service`. */
function useJob(getService: () => CacheService): () => Job {
  let job: Job | undefined;
  let restoreEnv: (() => void) | undefined;
  beforeEach(async () => {
    job = await Job.create();
    restoreEnv = applyClientEnv(getService(), job.env());
  });
  afterEach(async () => {
    restoreEnv?.();
    await getService().setFault({});
    await job?.dispose();
  });
  return () => {
    if (!job) throw new Error('no job');
    return job;
  };
}

const SKIP_LARGE = process.env['CACHE_SERVICE_SKIP_LARGE'] === '1';

/**
 * Saves and restores ~140 MiB of random data: above the client's 128 MiB single-shot limit, so the
 * upload is staged as 64 MiB blocks (Put Block ×3 + Put Block List).
 */
async function largeRoundTrip(service: CacheService, j: Job, key: string): Promise<void> {
  await mkdir(j.data, { recursive: true });
  const file = path.join(j.data, 'random.bin');
  const out = createWriteStream(file);
  for (let i = 0; i < 140; i++) if (!out.write(randomBytes(MiB))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const digest = await sha256File(file);
  service.resetCalls();

  const saved = await j.save(key);
  expect(saved.value).toBeGreaterThan(0);
  const entry = service.entries().find((e) => e.key === key);
  expect(entry?.sizeBytes).toBeGreaterThan(128 * MiB);
  expect(service.callCount('blob.PutBlob')).toBe(0);
  expect(service.callCount('blob.PutBlock')).toBe(Math.ceil((entry?.sizeBytes ?? 0) / (64 * MiB)));
  expect(service.callCount('blob.PutBlockList')).toBe(1);

  await j.clear();
  expect((await j.restore(key)).value).toBe(key);
  expect(await sha256File(file)).toBe(digest);
}

/** Timing of a block, for the log and for assertions on fast failure. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

describe('cache service v2 (github.com: twirp + Azure Blob via Azurite)', { timeout: 60_000 }, () => {
  let service: CacheService;
  beforeAll(async () => {
    service = await startCacheService({ protocol: 'v2' });
  }, 60_000);
  afterAll(async () => {
    expect(service.serverErrors()).toEqual([]);
    await service.stop();
  });
  const job = useJob(() => service);

  it('selects v2 from the environment it hands out', () => {
    expect(service.env).toMatchObject({
      ACTIONS_CACHE_SERVICE_V2: 'True',
      ACTIONS_RESULTS_URL: service.url,
      GITHUB_SERVER_URL: 'https://github.com',
    });
    expect(cache.isFeatureAvailable()).toBe(true);
  });

  it('round-trips a small directory: Put Blob upload, plain GET download', async () => {
    const j = job();
    const digest = await j.fill('small');
    service.resetCalls();
    const saved = await j.save('small-v2');
    expect(saved.value).toBeGreaterThan(0);
    expect(saved.warnings).toEqual([]);
    const entry = service.entries().find((e) => e.key === 'small-v2');
    expect(entry).toMatchObject({ id: saved.value, scope: 'refs/heads/main', committed: true });
    expect(entry?.sizeBytes).toBeGreaterThan(0);
    expect(entry?.version).toMatch(/^[0-9a-f]{64}$/);
    expect(service.calls()).toMatchObject({
      'twirp.CreateCacheEntry': 1,
      'blob.PutBlob': 1,
      'twirp.FinalizeCacheEntryUpload': 1,
    });
    expect(service.callCount('blob.PutBlock', 'blob.PutBlockList')).toBe(0);

    await j.clear();
    expect((await j.restore('small-v2', [], [j.data], { lookupOnly: true })).value).toBe('small-v2');
    expect(await digestTree(j.data)).toBeUndefined();
    const restored = await j.restore('small-v2');
    expect(restored.value).toBe('small-v2');
    expect(await digestTree(j.data)).toEqual(digest);
    expect(service.callCount('blob.GetBlob')).toBe(1);
    expect(service.callCount('blob.GetBlobProperties')).toBe(0);
  });

  it('misses with 200 {ok:false}: undefined, no warning', async () => {
    const r = await job().restore('never-saved', ['never-']);
    expect(r.value).toBeUndefined();
    expect(r.warnings).toEqual([]);
  });

  it('matches an exact key, else the newest entry with a prefix, restore keys in order', async () => {
    const j = job();
    await j.fill('old');
    expect((await j.save('rk-linux-aaa-1')).value).toBeGreaterThan(0);
    await j.fill('new');
    expect((await j.save('rk-linux-aaa-2')).value).toBeGreaterThan(0);
    await j.fill('other');
    expect((await j.save('rk-linux-bbb-1')).value).toBeGreaterThan(0);

    await j.clear();
    expect((await j.restore('rk-linux-aaa-1')).value).toBe('rk-linux-aaa-1');
    expect(await j.label()).toBe('old');
    // The primary key is also matched as a prefix (GitHub documents this).
    expect((await j.restore('rk-linux-aaa-')).value).toBe('rk-linux-aaa-2');
    // Restore keys in order: the first that matches anything wins, then the newest under it.
    expect((await j.restore('rk-linux-aaa-9', ['rk-linux-bbb-', 'rk-linux-'])).value).toBe('rk-linux-bbb-1');
    expect(await j.label()).toBe('other');
    expect((await j.restore('rk-linux-ccc-9', ['rk-linux-ccc-', 'rk-linux-aaa-'])).value).toBe('rk-linux-aaa-2');
    expect((await j.restore('rk-linux-ccc-9', ['rk-linux-'])).value).toBe('rk-linux-bbb-1');
    expect(await j.label()).toBe('other');
  });

  it('scopes entries by version: other paths, same key → miss', async () => {
    const j = job();
    await j.fill('v');
    expect((await j.save('version-key')).value).toBeGreaterThan(0);
    const other = path.join(j.workspace, 'elsewhere');
    await mkdir(other);
    expect((await j.restore('version-key', [], [other])).value).toBeUndefined();
    expect((await j.restore('version-key', [], [j.data, other])).value).toBeUndefined();
  });

  it('keeps entries immutable: a second save of the same key returns -1 without throwing', async () => {
    const j = job();
    await j.fill('first');
    const first = await j.save('immutable-key');
    expect(first.value).toBeGreaterThan(0);
    await j.fill('second');
    const second = await j.save('immutable-key');
    expect(second.value).toBe(-1);
    expect(second.output).toContain('Failed to save: Unable to reserve cache with key immutable-key');
    expect(service.entries().filter((e) => e.key === 'immutable-key')).toHaveLength(1);
    await j.clear();
    await j.restore('immutable-key');
    expect(await j.label()).toBe('first');
  });

  it('scopes entries to branches: a PR reads its base branch and writes only its own ref', async () => {
    const j = job();
    await j.fill('main');
    expect((await j.save('branch-key-main')).value).toBeGreaterThan(0);

    process.env['ACTIONS_RUNTIME_TOKEN'] = runtimeToken(pullRequestScopes(7, 'main'));
    await j.clear();
    expect((await j.restore('branch-key-pr7', ['branch-key-'])).value).toBe('branch-key-main');
    await j.fill('pr7');
    expect((await j.save('branch-key-pr7')).value).toBeGreaterThan(0);
    expect(service.entries().find((e) => e.key === 'branch-key-pr7')?.scope).toBe('refs/pull/7/merge');
    // The PR's own entry comes first for the PR ...
    expect((await j.restore('branch-key-x', ['branch-key-'])).value).toBe('branch-key-pr7');

    // ... and is invisible to main and to a sibling branch, which still sees main's.
    process.env['ACTIONS_RUNTIME_TOKEN'] = runtimeToken(pushScopes('main'));
    expect((await j.restore('branch-key-x', ['branch-key-'])).value).toBe('branch-key-main');
    process.env['ACTIONS_RUNTIME_TOKEN'] = runtimeToken(pushScopes('feature/x'));
    expect((await j.restore('branch-key-pr7', ['branch-key-'])).value).toBe('branch-key-main');
    // The same key may exist once per scope.
    expect((await j.save('branch-key-main')).value).toBeGreaterThan(0);
  });

  it('serves the REST endpoints: list by key prefix and ref, usage, delete by id and by key', async () => {
    const j = job();
    await j.fill('rest');
    expect((await j.save('rest-main-1')).value).toBeGreaterThan(0);
    expect((await j.save('rest-main-2')).value).toBeGreaterThan(0);
    process.env['ACTIONS_RUNTIME_TOKEN'] = runtimeToken(pushScopes('feature/x'));
    expect((await j.save('rest-feature-1')).value).toBeGreaterThan(0);
    const all = service.entries().filter((e) => e.key.startsWith('rest-'));
    expect(all.map((e) => [e.key, e.scope])).toEqual([
      ['rest-main-1', 'refs/heads/main'],
      ['rest-main-2', 'refs/heads/main'],
      ['rest-feature-1', 'refs/heads/feature/x'],
    ]);

    const api = githubCacheEntries(service.githubToken('write'), 'smidr/example', service.env['GITHUB_API_URL']);
    const listed = await api.list('rest-', 'refs/heads/main');
    expect(listed.map((e) => e.key).sort()).toEqual(['rest-main-1', 'rest-main-2']);
    expect(listed.every((e) => e.ref === 'refs/heads/main' && e.sizeBytes > 0 && e.createdAtMs > 0)).toBe(true);
    // A branch name is accepted for the ref, as GitHub does.
    expect((await api.list('rest-', 'feature/x')).map((e) => e.key)).toEqual(['rest-feature-1']);
    const usage = await api.usage();
    expect(usage.entries).toBe(service.entries().length);
    expect(usage.bytes).toBe(service.entries().reduce((n, e) => n + e.sizeBytes, 0));

    expect(await api.remove(all[0]!.id)).toBe(true);
    expect(await api.remove(all[0]!.id)).toBe(false);
    const octokit = getOctokit(service.githubToken('write'), { baseUrl: service.env['GITHUB_API_URL'] });
    const byKey = await octokit.rest.actions
      .deleteActionsCacheByKey({
        owner: 'smidr',
        repo: 'example',
        key: 'rest-feature-1',
        ref: 'refs/heads/main',
      })
      .catch((e: { status: number }) => e.status);
    expect(byKey).toBe(404);
    await octokit.rest.actions.deleteActionsCacheByKey({ owner: 'smidr', repo: 'example', key: 'rest-feature-1' });
    expect(
      service
        .entries()
        .filter((e) => e.key.startsWith('rest-'))
        .map((e) => e.key),
    ).toEqual(['rest-main-2']);
    // The archive went with the entry.
    await j.clear();
    expect((await j.restore('rest-feature-1')).value).toBeUndefined();
  });

  it('pages REST listings with Link headers, as Octokit paginates them', async () => {
    const j = job();
    await j.fill('pages');
    for (let i = 0; i < 5; i++) expect((await j.save(`page-${i}`)).value).toBeGreaterThan(0);
    const octokit = getOctokit(service.githubToken('read'), { baseUrl: service.env['GITHUB_API_URL'] });
    service.resetCalls();
    const pages = await octokit.paginate(octokit.rest.actions.getActionsCacheList, {
      owner: 'smidr',
      repo: 'example',
      key: 'page-',
      per_page: 2,
      sort: 'created_at',
      direction: 'asc',
    });
    expect(pages.map((c) => c.key)).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(service.callCount('rest.listCaches')).toBe(3);
  });

  it("answers GitHub's 403 to a token without actions: write, and 401 to an unknown one", async () => {
    const j = job();
    await j.fill('denied');
    expect((await j.save('denied-1')).value).toBeGreaterThan(0);
    const id = service.entries().find((e) => e.key === 'denied-1')!.id;
    const url = service.env['GITHUB_API_URL'];
    const reader = githubCacheEntries(service.githubToken('read'), 'smidr/example', url);
    expect((await reader.list('denied-', 'refs/heads/main')).map((e) => e.id)).toEqual([id]);
    await expect(reader.remove(id)).rejects.toThrow(CachePermissionDenied);
    await expect(reader.remove(id)).rejects.toThrow(/403 Resource not accessible by integration/);
    const none = githubCacheEntries(service.githubToken('none'), 'smidr/example', url);
    await expect(none.usage()).rejects.toThrow(CachePermissionDenied);
    const stranger = githubCacheEntries('ghs_unknown', 'smidr/example', url);
    await expect(stranger.usage()).rejects.toThrow(/401 Bad credentials/);
    const otherRepo = githubCacheEntries(service.githubToken('write'), 'smidr/other', url);
    await expect(otherRepo.usage()).rejects.toThrow(/404 Not Found/);
    expect(service.entries().some((e) => e.id === id)).toBe(true);
    // Only a fault aimed at the REST side fails it.
    await service.setFault({ serverError: { status: 502, target: 'rest' } });
    await expect(reader.usage()).rejects.toThrow(/502/);
    expect((await j.restore('denied-1')).value).toBe('denied-1');
  });

  it('honours ACTIONS_CACHE_MODE on the client side, without calling the service', async () => {
    const j = job();
    await j.fill('mode');
    expect((await j.save('mode-key')).value).toBeGreaterThan(0);
    service.resetCalls();
    process.env['ACTIONS_CACHE_MODE'] = 'read';
    expect((await j.save('mode-key-2')).value).toBe(-1);
    expect((await j.restore('mode-key')).value).toBe('mode-key');
    process.env['ACTIONS_CACHE_MODE'] = 'none';
    const none = await j.restore('mode-key');
    expect(none.value).toBeUndefined();
    expect(none.output).toContain("the effective cache-mode 'none' does not permit reads");
    process.env['ACTIONS_CACHE_MODE'] = 'write-only';
    expect((await j.restore('mode-key')).value).toBeUndefined();
    expect(service.calls()).toEqual({ 'twirp.GetCacheEntryDownloadURL': 1, 'blob.GetBlob': 1 });
  });

  it('still throws ValidationError for bad keys', async () => {
    const j = job();
    await j.fill('x');
    await expect(j.save('a,b')).rejects.toThrow(/cannot contain commas/);
    await expect(
      j.restore(
        'k',
        Array.from({ length: 10 }, (_, i) => `k${i}`),
      ),
    ).rejects.toThrow(/limited to a maximum of 10/);
  });

  describe('faults: the client returns undefined / -1 and never throws', () => {
    it('service down (connection refused): fails at once', async () => {
      const j = job();
      await j.fill('down');
      await service.setFault({ down: true });
      const r = await timed(() => j.restore('down-key'));
      expect(r.value.value).toBeUndefined();
      expect(r.value.warnings.join('\n')).toMatch(/ECONNREFUSED/);
      const s = await j.save('down-key');
      expect(s.value).toBe(-1);
      expect(r.ms).toBeLessThan(3000);
    });

    it('every API call answers 500 JSON: retried 5 times, then given up', async () => {
      const j = job();
      await j.fill('500');
      await service.setFault({ serverError: true });
      service.resetCalls();
      const fast = accelerateTimers();
      try {
        const r = await j.restore('err-key');
        expect(r.value).toBeUndefined();
        expect(r.warnings.join('\n')).toMatch(/Failed to make request after 5 attempts: Failed request: \(500\)/);
        expect(service.callCount('twirp.GetCacheEntryDownloadURL')).toBe(5);
        expect((await j.save('err-key')).value).toBe(-1);
        expect(service.callCount('twirp.CreateCacheEntry')).toBe(5);
      } finally {
        fast();
      }
    });

    it('non-JSON 502 pages: retried like 5xx, then given up', async () => {
      const j = job();
      await service.setFault({ nonJsonError: true });
      const fast = accelerateTimers();
      try {
        expect((await j.restore('html-key')).value).toBeUndefined();
        expect(service.entries().some((e) => e.key === 'html-key')).toBe(false);
      } finally {
        fast();
      }
    });

    it('429 rate limit: no retry', async () => {
      const j = job();
      await j.fill('429');
      await service.setFault({ rateLimited: { retryAfterSeconds: 30 } });
      service.resetCalls();
      const r = await j.restore('rl-key');
      expect(r.value).toBeUndefined();
      expect(r.output).toContain('rate limit will reset in 30 seconds');
      expect((await j.save('rl-key')).value).toBe(-1);
      expect(service.callCount('twirp.GetCacheEntryDownloadURL', 'twirp.CreateCacheEntry')).toBe(2);
    });

    it('slow API: the client has no request timeout and simply waits', async () => {
      const j = job();
      await j.fill('slow');
      expect((await j.save('slow-key')).value).toBeGreaterThan(0);
      await service.setFault({ delay: { ms: 1500 } });
      const r = await timed(() => j.restore('slow-key'));
      expect(r.value.value).toBe('slow-key');
      expect(r.ms).toBeGreaterThanOrEqual(1400);
    });

    it('truncated download: undefined', async () => {
      const j = job();
      await j.fill('trunc');
      expect((await j.save('trunc-key')).value).toBeGreaterThan(0);
      await j.clear();
      await service.setFault({ truncateDownload: true });
      const r = await j.restore('trunc-key');
      expect(r.value).toBeUndefined();
      expect(r.warnings.join('\n')).toMatch(/Failed to restore/);
    });

    it('corrupted archive: undefined (extraction fails)', async () => {
      const j = job();
      await j.fill('corrupt');
      expect((await j.save('corrupt-key')).value).toBeGreaterThan(0);
      await j.clear();
      await service.setFault({ corruptDownload: true });
      const r = await j.restore('corrupt-key');
      expect(r.value).toBeUndefined();
      expect(r.warnings.join('\n')).toMatch(/Failed to restore: "\/usr\/bin\/tar" failed/);
    });

    it('corrupted archive: undefined, yet extracted (damaged) files stay behind', async () => {
      const j = job();
      await mkdir(j.data, { recursive: true });
      for (let i = 0; i < 8; i++) await writeFile(path.join(j.data, `part-${i}.bin`), randomBytes(MiB));
      const digest = await digestTree(j.data);
      expect((await j.save('partial-key')).value).toBeGreaterThan(0);
      await j.clear();
      await service.setFault({ corruptDownload: true });
      expect((await j.restore('partial-key')).value).toBeUndefined();
      // restoreCache reports a miss yet leaves files behind, some of them damaged (zstd checks
      // its checksum only at the end of a frame): callers must clean up after a miss themselves.
      const left = await digestTree(j.data);
      expect(Object.keys(left ?? {}).length).toBeGreaterThan(0);
      expect(left).not.toEqual(digest);
    });

    it('stalled download: the 5 s socket idle timeout aborts it', { timeout: 30_000 }, async () => {
      const j = job();
      await j.fill('stall');
      expect((await j.save('stall-key')).value).toBeGreaterThan(0);
      await service.setFault({ stallDownload: true });
      const r = await timed(() => j.restore('stall-key'));
      expect(r.value.value).toBeUndefined();
      expect(r.ms).toBeGreaterThanOrEqual(4900);
    });

    it('storage quota used up: save returns -1', async () => {
      const j = job();
      await j.fill('quota');
      await service.setFault({ quotaExceeded: true });
      const s = await j.save('quota-key');
      expect(s.value).toBe(-1);
      // 6.3.0 turns the UsageError into a ReserveCacheError: only an info line, the quota text is debug-only.
      expect(s.output).toContain('Failed to save: Unable to reserve cache with key quota-key');
      expect(s.warnings).toEqual([]);
      expect(service.entries({ includePending: true }).some((e) => e.key === 'quota-key')).toBe(false);
    });

    it('read denied by the token: undefined with a warning', async () => {
      const j = job();
      await j.fill('rd');
      expect((await j.save('rd-key')).value).toBeGreaterThan(0);
      await service.setFault({ readDenied: true });
      const r = await j.restore('rd-key');
      expect(r.value).toBeUndefined();
      expect(r.warnings.join('\n')).toContain('cache read denied:');
    });

    it('write denied by the token: -1 with a warning', async () => {
      const j = job();
      await j.fill('wd');
      process.env['ACTIONS_RUNTIME_TOKEN'] = runtimeToken([{ scope: 'refs/heads/main', permission: 'read' }]);
      const s = await j.save('wd-key');
      expect(s.value).toBe(-1);
      expect(s.warnings.join('\n')).toContain('cache write denied:');
    });
  });

  it.skipIf(SKIP_LARGE)(
    'round-trips a ~140 MiB incompressible archive: Put Block + Put Block List, one GET',
    { timeout: 240_000 },
    async () => {
      await largeRoundTrip(service, job(), 'large-key');
      expect(service.callCount('blob.GetBlob')).toBe(1);
    },
  );
});

describe('cache service v2 with Azure-style blob hosts (Azure SDK download path)', { timeout: 60_000 }, () => {
  let service: CacheService;
  beforeAll(async () => {
    service = await startCacheService({ protocol: 'v2', blobHost: 'azure' });
  }, 60_000);
  afterAll(async () => {
    expect(service.serverErrors()).toEqual([]);
    await service.stop();
  });
  const job = useJob(() => service);

  it('round-trips through the Azure SDK (HEAD + ranged GET) in this process', async () => {
    const j = job();
    const digest = await j.fill('sdk');
    expect((await j.save('sdk-key')).value).toBeGreaterThan(0);
    await j.clear();
    service.resetCalls();
    expect((await j.restore('sdk-key')).value).toBe('sdk-key');
    expect(await digestTree(j.data)).toEqual(digest);
    expect(service.callCount('blob.GetBlobProperties')).toBeGreaterThanOrEqual(1);
  });

  it.skipIf(SKIP_LARGE)(
    'round-trips a ~140 MiB archive through the SDK (two 128 MiB segments of 4 MiB ranges)',
    { timeout: 240_000 },
    async () => {
      await largeRoundTrip(service, job(), 'sdk-large-key');
      expect(service.callCount('blob.GetBlob')).toBeGreaterThan(30);
    },
  );

  it('corrupted archive through the SDK: undefined', async () => {
    const j = job();
    await j.fill('sdk-corrupt');
    expect((await j.save('sdk-corrupt-key')).value).toBeGreaterThan(0);
    await j.clear();
    await service.setFault({ corruptDownload: true });
    expect((await j.restore('sdk-corrupt-key')).value).toBeUndefined();
  });

  it('truncated download through the SDK: retried, then undefined', async () => {
    const j = job();
    await j.fill('sdk-trunc');
    expect((await j.save('sdk-trunc-key')).value).toBeGreaterThan(0);
    await j.clear();
    await service.setFault({ truncateDownload: true });
    const fast = accelerateTimers();
    try {
      expect((await j.restore('sdk-trunc-key')).value).toBeUndefined();
    } finally {
      fast();
    }
  });

  it('works for a client in a child process through the NODE_OPTIONS preload in env', async () => {
    const j = job();
    const digest = await j.fill('child');
    expect((await j.save('child-key')).value).toBeGreaterThan(0);
    await j.clear();
    service.resetCalls();
    const script = `
      import * as cache from '@actions/cache';
import { getOctokit } from '@actions/github';
      const key = await cache.restoreCache([process.env.DATA_DIR], 'child-key');
      process.stderr.write('RESULT=' + key + '\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...service.env, ...j.env(), DATA_DIR: j.data },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('RESULT=child-key');
    expect(await digestTree(j.data)).toEqual(digest);
    expect(service.callCount('blob.GetBlobProperties')).toBeGreaterThanOrEqual(1);
  });
});

describe('cache service v1 (GHES: _apis/artifactcache)', { timeout: 60_000 }, () => {
  let service: CacheService;
  beforeAll(async () => {
    service = await startCacheService({ protocol: 'v1' });
  });
  afterAll(async () => {
    expect(service.serverErrors()).toEqual([]);
    await service.stop();
  });
  const job = useJob(() => service);

  it('round-trips a small directory: reserve, PATCH chunks, commit, GET archive', async () => {
    const j = job();
    const digest = await j.fill('v1');
    service.resetCalls();
    const saved = await j.save('small-v1');
    expect(saved.value).toBeGreaterThan(0);
    expect(saved.warnings).toEqual([]);
    expect(service.calls()).toMatchObject({ 'v1.reserveCache': 1, 'v1.uploadChunk': 1, 'v1.commitCache': 1 });
    expect(service.entries().find((e) => e.key === 'small-v1')).toMatchObject({
      id: saved.value,
      committed: true,
      scope: 'refs/heads/main',
    });
    await j.clear();
    expect((await j.restore('small-v1')).value).toBe('small-v1');
    expect(await digestTree(j.data)).toEqual(digest);
    expect(service.callCount('v1.getCacheEntry', 'v1.downloadArchive')).toBe(2);
  });

  it('serves the REST endpoints under /api/v3, as GHES does', async () => {
    const j = job();
    await j.fill('v1-rest');
    expect((await j.save('v1rest-1')).value).toBeGreaterThan(0);
    expect(service.env['GITHUB_API_URL']).toBe(`${service.url}api/v3`);
    const api = githubCacheEntries(service.githubToken('write'), 'smidr/example', service.env['GITHUB_API_URL']);
    const [listed] = await api.list('v1rest-', 'refs/heads/main');
    expect(listed).toMatchObject({ key: 'v1rest-1', ref: 'refs/heads/main' });
    expect(await api.remove(listed!.id)).toBe(true);
    expect(service.entries().some((e) => e.key === 'v1rest-1')).toBe(false);
  });

  it('matches prefixes newest-first and misses with 204', async () => {
    const j = job();
    await j.fill('a');
    expect((await j.save('v1rk-1')).value).toBeGreaterThan(0);
    await j.fill('b');
    expect((await j.save('v1rk-2')).value).toBeGreaterThan(0);
    await j.clear();
    expect((await j.restore('v1rk-9', ['v1rk-'])).value).toBe('v1rk-2');
    expect(await j.label()).toBe('b');
    const miss = await j.restore('v1-none', ['v1-none-']);
    expect(miss.value).toBeUndefined();
    expect(miss.warnings).toEqual([]);
  });

  it('keeps entries immutable: 409 on reserve, -1 from save', async () => {
    const j = job();
    await j.fill('one');
    expect((await j.save('v1-immutable')).value).toBeGreaterThan(0);
    const again = await j.save('v1-immutable');
    expect(again.value).toBe(-1);
    expect(again.output).toContain('Cache already exists. Scope: refs/heads/main, Key: v1-immutable');
  });

  it('PR token reads the base branch', async () => {
    const j = job();
    await j.fill('base');
    expect((await j.save('v1-branch-main')).value).toBeGreaterThan(0);
    process.env['ACTIONS_RUNTIME_TOKEN'] = runtimeToken(pullRequestScopes(3, 'main'));
    expect((await j.restore('v1-branch-pr', ['v1-branch-'])).value).toBe('v1-branch-main');
  });

  describe('faults', () => {
    it('service down: undefined / -1 after one 5 s retry (accelerated here)', async () => {
      const j = job();
      await j.fill('down');
      await service.setFault({ down: true });
      const fast = accelerateTimers();
      try {
        expect((await j.restore('v1-down')).value).toBeUndefined();
        expect((await j.save('v1-down')).value).toBe(-1);
      } finally {
        fast();
      }
    });

    it('500 JSON: not retried by v1, undefined / -1', async () => {
      const j = job();
      await j.fill('500');
      await service.setFault({ serverError: true });
      service.resetCalls();
      const r = await j.restore('v1-500');
      expect(r.value).toBeUndefined();
      expect(r.warnings.join('\n')).toContain('Cache service responded with 500');
      expect((await j.save('v1-500')).value).toBe(-1);
      expect(service.callCount('v1.getCacheEntry', 'v1.reserveCache')).toBe(2);
    });

    it('truncated and corrupted downloads: undefined', async () => {
      const j = job();
      await j.fill('damaged');
      expect((await j.save('v1-damaged')).value).toBeGreaterThan(0);
      await j.clear();
      await service.setFault({ truncateDownload: true });
      expect((await j.restore('v1-damaged')).value).toBeUndefined();
      await service.setFault({ corruptDownload: true });
      expect((await j.restore('v1-damaged')).value).toBeUndefined();
    });

    it('quota: 400 on reserve, -1 with the service message as a warning', async () => {
      const j = job();
      await j.fill('quota');
      await service.setFault({ quotaExceeded: true });
      const s = await j.save('v1-quota');
      expect(s.value).toBe(-1);
      expect(s.warnings.join('\n')).toContain('insufficient usage');
    });

    it('read and write denied: undefined / -1 with warnings', async () => {
      const j = job();
      await j.fill('denied');
      expect((await j.save('v1-denied')).value).toBeGreaterThan(0);
      await service.setFault({ readDenied: true, writeDenied: true });
      const r = await j.restore('v1-denied');
      expect(r.value).toBeUndefined();
      expect(r.warnings.join('\n')).toContain('cache read denied:');
      const s = await j.save('v1-denied-2');
      expect(s.value).toBe(-1);
      expect(s.warnings.join('\n')).toContain('cache write denied:');
    });
  });
});

describe('cache service with a clock of its own (GitHub against a self-hosted runner whose clock runs ahead)', () => {
  const AHEAD_MS = -10 * 60_000;
  let service: CacheService;
  beforeAll(async () => {
    service = await startCacheService({ protocol: 'v1', clockAheadMs: AHEAD_MS });
  });
  afterAll(async () => {
    expect(service.serverErrors()).toEqual([]);
    await service.stop();
  });
  const job = useJob(() => service);

  it("dates entries by its clock and tells it in the REST answers' Date header", async () => {
    const j = job();
    await j.fill('clock');
    const before = Date.now();
    expect((await j.save('clock-1')).value).toBeGreaterThan(0);
    const after = Date.now();
    const api = githubCacheEntries(service.githubToken('read'), 'smidr/example', service.env['GITHUB_API_URL']);
    const [entry] = await api.list('clock-', 'refs/heads/main');
    expect(entry!.createdAtMs).toBeGreaterThanOrEqual(before + AHEAD_MS);
    expect(entry!.createdAtMs).toBeLessThanOrEqual(after + AHEAD_MS);
    // Whole seconds, read before the answer arrived: at most a second and the round trip under the truth.
    const { githubAheadMs } = await api.usage();
    expect(githubAheadMs).toBeLessThanOrEqual(AHEAD_MS);
    expect(githubAheadMs).toBeGreaterThan(AHEAD_MS - 2000);
  });
});
