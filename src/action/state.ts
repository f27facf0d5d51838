/** What the main step leaves for the post step, in one state entry. */
import * as core from '@actions/core';

import type { CacheDirs } from '../bitbake/workspace.js';
import type { BuildResult } from '../pipeline.js';
import { State } from './constants.js';
import type { CacheMode } from './inputs.js';

export interface BuildState {
  buildId: string;
  buildDir: string;
  caches: CacheDirs;
  containerEngine?: 'docker' | 'podman';
  containerName?: string;
  result?: BuildResult;
  cacheMode: CacheMode;
  /** Whether the job summary is written (the post step appends to it). */
  summary: boolean;
  /** Self-hosted mode: what the post step cleans up on the host. */
  housekeeping?: { sstate: string; buildsDir: string; sstateMaxAgeDays: number; workspaceMaxAgeDays: number };
}

export function saveBuildState(s: BuildState): void {
  core.saveState(State.Build, JSON.stringify(s));
}

export function loadBuildState(): BuildState | undefined {
  const raw = core.getState(State.Build);
  return raw ? (JSON.parse(raw) as BuildState) : undefined;
}
