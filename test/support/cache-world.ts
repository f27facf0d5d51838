/**
 * What every cache end-to-end file starts from: a scratch root, the poky stand-in as a git
 * remote, and a v2 cache service on loopback; and runner settings for jobs that share caches.
 */
import * as path from 'node:path';

import { expect } from 'vitest';

import { type CacheService, startCacheService } from './cache-service/index.js';
import type { GitRemote } from './git-remotes.js';
import type { RunnerEnv } from './run-action.js';
import { BUILDER_IMAGE, dockerAvailable, pokyRemote, scratch } from './world.js';

export interface CacheWorld {
  root: string;
  poky: GitRemote;
  service: CacheService;
}

export async function startCacheWorld(name: string): Promise<CacheWorld> {
  if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/test.sh`);
  const root = scratch(name);
  return { root, poky: pokyRemote(root), service: await startCacheService({ protocol: 'v2' }) };
}

/** Stops the service; a request it failed on its own side fails the file. */
export async function stopCacheWorld(w: CacheWorld): Promise<void> {
  expect(w.service.serverErrors()).toEqual([]);
  await w.service.stop();
}

export interface CacheJob {
  workspace: string;
  /** A runner that keeps RUNNER_TEMP elsewhere than the others (default: the world's one path). */
  runnerTemp?: string;
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  eventName?: string;
}

/**
 * Job `runId` on a fresh machine, using the cache service. All jobs of a world share RUNNER_TEMP's
 * path, as GitHub-hosted runners do: the cache version hashes the cached paths.
 */
export function cacheRunner(w: CacheWorld, runId: number, o: CacheJob): RunnerEnv {
  return {
    workspace: o.workspace,
    jobDir: path.join(w.root, 'jobs', String(runId)),
    runnerTemp: o.runnerTemp ?? path.join(w.root, 'runner-temp'),
    runId: String(runId),
    eventName: o.eventName,
    inputs: { config: 'smidr.yaml', cache: 'actions', ...o.inputs },
    env: { ...w.service.env, ...o.env },
  };
}
