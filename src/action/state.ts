/**
 * What the main step leaves for the post step: one object, built once by the main step and saved
 * whole under one state entry, which the post step reads back as it was (as rust-cache does with
 * its CacheConfig). Nothing in it is copied field by field from the inputs or the directories.
 */
import * as core from '@actions/core';

import type { PipelineDirs } from '../bitbake/workspace.js';
import type { RestoredCaches } from '../cache/caches.js';
import type { BuildResult } from '../pipeline.js';
import { State } from './constants.js';
import type { ActionInputs } from './inputs.js';

export interface StepState {
  buildId: string;
  buildDir: string;
  /** The build container, when BitBake runs in one: the post step removes it if the main step could not. */
  container?: { engine: 'docker' | 'podman'; name: string };
  /** Set once BitBake has finished. */
  result?: BuildResult;
  /** The cache inputs as the main step read them. */
  cache: ActionInputs['cache'];
  /** Whether the job summary is written (the post step appends to it). */
  summary: boolean;
  /** Where builds and caches live. */
  dirs: PipelineDirs;
  /** What the cache service restored (cache mode `actions`): the post step saves against it. */
  restored?: RestoredCaches;
  /** When the restore started: entries saved after it are a concurrent job's, which the post step never deletes. */
  restoreStartedMs?: number;
}

export function saveStepState(s: StepState): void {
  core.saveState(State.Step, JSON.stringify(s));
}

export function loadStepState(): StepState | undefined {
  const raw = core.getState(State.Step);
  return raw ? (JSON.parse(raw) as StepState) : undefined;
}
