/**
 * Superseded cache entries deleted after a save, end to end: dist/ main then post as the runner
 * runs them, the real @actions/cache client and Octokit talking to the loopback service (the cache
 * protocol and the REST endpoints of one repository), the BitBake stand-in in the builder container.
 * Each job that saves first changes one recipe, so it has something new to save.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatBytes } from '../../src/util/format.js';
import { type CacheEntry, pullRequestScopes, pushScopes, runtimeToken } from '../support/cache-service/index.js';
import {
  type CacheJob,
  cacheRunner,
  type CacheWorld,
  startCacheWorld,
  stopCacheWorld,
} from '../support/cache-world.js';
import { git } from '../support/git-remotes.js';
import { runJob, type StepResult } from '../support/run-action.js';
import { jobWorkspace, smidrYaml } from '../support/world.js';

const LONG = 900_000;
const FEATURE = 'refs/heads/feature/x';
let world: CacheWorld;
let jobs = 0;

type Job = { main: StepResult; post: StepResult };

/**
 * GitHub tells its clock in whole seconds, so the clean-up keeps an entry saved up to a second
 * or so before its restore (it could be a concurrent job's). Jobs here follow each other within
 * a second, as jobs on GitHub never do: wait until the newest entry is older than that.
 */
async function afterGitHubsSecond(): Promise<void> {
  const newest = Math.max(0, ...world.service.entries().map((e) => e.createdAt.getTime()));
  const wait = newest + 2000 - Date.now();
  if (wait > 0) await sleep(wait);
}

async function job(o: CacheJob): Promise<Job> {
  jobs += 1;
  await afterGitHubsSecond();
  // The single-entry layout, whose lineages superseded.ts derives from its keys.
  return runJob(cacheRunner(world, 7000 + jobs, { ...o, env: { SMIDR_CACHE_LAYOUT: 'single', ...o.env } }));
}

function ok(r: Job): void {
  expect(r.main.exitCode, r.main.stdout).toBe(0);
  expect(r.post.exitCode, r.post.stdout).toBe(0);
}

/** A new output for smidr-app, committed: the next job builds and saves new sstate objects. */
function changeRecipe(ws: string, label: string): void {
  const app = path.join(ws, 'meta-smidr-test', 'recipes-test', 'smidr-app', 'smidr-app_1.0.bb');
  writeFileSync(
    app,
    readFileSync(app, 'utf8').replace(/STANDIN_OUTPUT = ".*"/, `STANDIN_OUTPUT = "smidr-app ${label}"`),
  );
  git(ws, 'commit', '-q', '-am', label);
}

/** Entries of one cache-key-prefix, oldest first. */
const entriesOf = (prefix: string) => world.service.entries().filter((e) => e.key.startsWith(`smidr-v1-${prefix}-`));
const sstateOf = (prefix: string) => entriesOf(prefix).filter((e) => e.key.includes('-sstate-'));
const keysOf = (list: CacheEntry[]) => list.map((e) => e.key);

/** The notices and warnings of a step. */
const notices = (s: StepResult) => s.annotations.filter((a) => a.startsWith('::notice'));
const warnings = (s: StepResult) => s.annotations.filter((a) => a.startsWith('::warning'));

beforeAll(async () => {
  world = await startCacheWorld('cache-cleanup');
}, LONG);

afterAll(() => stopCacheWorld(world));

describe('a second save on the same ref', () => {
  const inputs = { 'cache-key-prefix': 'lineage' };
  let ws: string;
  let first: Job;
  let feature: Job;
  let second: Job;
  let before: { main: CacheEntry[]; feature: CacheEntry[] };

  beforeAll(async () => {
    ws = jobWorkspace(world.root, 'ws-lineage', smidrYaml(world.poky.url));
    const token = world.service.githubToken('write');
    first = await job({ workspace: ws, inputs: { ...inputs, 'github-token': token } });
    changeRecipe(ws, 'on a feature branch');
    feature = await job({
      workspace: ws,
      inputs: { ...inputs, 'github-token': token },
      env: { GITHUB_REF: FEATURE, ACTIONS_RUNTIME_TOKEN: runtimeToken(pushScopes('feature/x')) },
    });
    before = {
      main: entriesOf('lineage').filter((e) => e.scope === 'refs/heads/main'),
      feature: entriesOf('lineage').filter((e) => e.scope === FEATURE),
    };
    changeRecipe(ws, 'on main again');
    second = await job({ workspace: ws, inputs: { ...inputs, 'github-token': token } });
  }, LONG);

  it('the first save on each ref deletes nothing; a branch restores main entries', () => {
    ok(first);
    ok(feature);
    expect(first.post.stdout).toContain('No superseded cache entries under smidr-v1-lineage-sstate-');
    expect(first.post.stdout).not.toContain('Deleted superseded cache entry');
    // GitHub's scoping: a branch reads the default branch's entries, and saves under its own ref.
    expect(feature.main.outputs['sstate-cache-hit']).not.toBe('miss');
    expect(keysOf(before.feature)).toHaveLength(1);
    expect(feature.post.stdout).not.toContain('Deleted superseded cache entry');
    expect(keysOf(before.main).filter((k) => k.includes('-sstate-'))).toHaveLength(1);
  });

  it("deletes exactly the superseded sstate entry of its ref; the other ref's and the downloads stay", () => {
    ok(second);
    const [oldSstate] = before.main.filter((e) => e.key.includes('-sstate-'));
    const newSstate = sstateOf('lineage').find((e) => e.scope === 'refs/heads/main' && e.id !== oldSstate!.id);
    expect(newSstate, second.post.stdout).toBeDefined();
    // Gone: the older sstate of main. Kept: everything else that was there, and the new entry.
    const expected = [...before.main, ...before.feature].filter((e) => e.id !== oldSstate!.id).map((e) => e.id);
    expect(
      entriesOf('lineage')
        .map((e) => e.id)
        .sort((a, b) => a - b),
    ).toEqual([...expected, newSstate!.id].sort((a, b) => a - b));
    const deletedLines = second.post.stdout.split('\n').filter((l) => l.startsWith('Deleted superseded cache entry'));
    expect(deletedLines).toEqual([
      `Deleted superseded cache entry ${oldSstate!.key} (${formatBytes(oldSstate!.sizeBytes)}) on refs/heads/main`,
    ]);
    expect(notices(second.post)).toEqual([]);
    expect(warnings(second.post)).toEqual([]);
  });

  it('the summary shows usage before and after, and the deleted key with its size', () => {
    const [oldSstate] = before.main.filter((e) => e.key.includes('-sstate-'));
    const summary = second.post.summary;
    expect(summary).toContain('### Repository cache');
    expect(summary).toMatch(/\| usage before saving \| \d+ \| [\d.]+ \w+ \|/);
    expect(summary).toMatch(/\| usage after \(GitHub refreshes it about every 5 minutes\) \| \d+ \| [\d.]+ \w+ \|/);
    expect(summary).toContain(`| deleted as superseded | 1 | ${formatBytes(oldSstate!.sizeBytes)} |`);
    expect(summary).toContain(`| \`${oldSstate!.key}\` | \`refs/heads/main\` | ${formatBytes(oldSstate!.sizeBytes)} |`);
    // The loopback service counts at once; the entry count after is what the service holds.
    const after = /\| usage after[^|]*\| (\d+) \|/.exec(summary)![1];
    expect(Number(after)).toBe(world.service.entries().length);
  });
});

describe('who may not delete', () => {
  it(
    'a pull_request build that saves deletes nothing and asks nothing of the REST API',
    async () => {
      const inputs = { 'cache-key-prefix': 'pr', 'github-token': world.service.githubToken('write') };
      const ws = jobWorkspace(world.root, 'ws-pr', smidrYaml(world.poky.url));
      ok(await job({ workspace: ws, inputs }));
      changeRecipe(ws, 'in a pull request');
      const before = entriesOf('pr');
      world.service.resetCalls();
      const pr = await job({
        workspace: ws,
        eventName: 'pull_request',
        inputs: { ...inputs, save: 'true' },
        env: { GITHUB_REF: 'refs/pull/7/merge', ACTIONS_RUNTIME_TOKEN: runtimeToken(pullRequestScopes(7, 'main')) },
      });
      ok(pr);
      expect(pr.post.stdout).toMatch(/sstate cache: saved smidr-v1-pr-sstate-/);
      expect(pr.post.stdout).toContain('Superseded cache entries are not deleted: a pull_request build never deletes');
      expect(world.service.callCount('rest.listCaches', 'rest.deleteCacheById', 'rest.cacheUsage')).toBe(0);
      // Everything that was there still is; the PR's own entry went to its merge ref.
      expect(keysOf(entriesOf('pr').filter((e) => before.some((b) => b.id === e.id)))).toEqual(keysOf(before));
      expect(entriesOf('pr').filter((e) => e.scope === 'refs/pull/7/merge')).toHaveLength(1);
    },
    LONG,
  );

  it(
    'a token without actions: write: exactly one notice naming the permission, a successful job, nothing deleted',
    async () => {
      const ws = jobWorkspace(world.root, 'ws-read-only', smidrYaml(world.poky.url));
      const write = { 'cache-key-prefix': 'readonly', 'github-token': world.service.githubToken('write') };
      ok(await job({ workspace: ws, inputs: write }));
      for (const permission of ['read', 'none'] as const) {
        changeRecipe(ws, `with actions: ${permission}`);
        const before = entriesOf('readonly');
        const token = world.service.githubToken(permission);
        const r = await job({ workspace: ws, inputs: { ...write, 'github-token': token } });
        ok(r);
        expect(r.main.outputs.result).toBe('success');
        expect(r.post.stdout).toMatch(/sstate cache: saved smidr-v1-readonly-sstate-/);
        expect(notices(r.post), permission).toEqual([
          expect.stringContaining(
            'add to the workflow, or to this job: permissions: { actions: write, contents: read }',
          ),
        ]);
        expect(warnings(r.post), permission).toEqual([]);
        // The saves went through; nothing was deleted.
        expect(entriesOf('readonly').filter((e) => before.some((b) => b.id === e.id))).toHaveLength(before.length);
        expect(entriesOf('readonly').length).toBe(before.length + 1);
        for (const step of [r.main, r.post]) expect(step.stdout.includes(token)).toBe(false);
      }
    },
    LONG,
  );

  it(
    'a REST API that fails: one warning, the save stands and the job succeeds',
    async () => {
      const ws = jobWorkspace(world.root, 'ws-rest-down', smidrYaml(world.poky.url));
      const inputs = { 'cache-key-prefix': 'restdown', 'github-token': world.service.githubToken('write') };
      ok(await job({ workspace: ws, inputs }));
      changeRecipe(ws, 'while the REST API fails');
      await world.service.setFault({ serverError: { status: 502, target: 'rest' } });
      try {
        const r = await job({ workspace: ws, inputs });
        ok(r);
        expect(sstateOf('restdown')).toHaveLength(2);
        expect(warnings(r.post)).toEqual([expect.stringContaining('cache clean-up: GET actions/cache/usage: 502')]);
        expect(notices(r.post)).toEqual([]);
      } finally {
        await world.service.setFault({});
      }
    },
    LONG,
  );
});
