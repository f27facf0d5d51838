/** The post step: runs after the job's other steps, also when the job failed or was cancelled. */
import * as core from '@actions/core';
import { removeContainer } from './container.js';
import { loadBuildState } from './state.js';

async function run(): Promise<void> {
  const state = loadBuildState();
  if (!state) {
    core.info('The main step did not start a build; nothing to do.');
    return;
  }
  // The main step removes its container; a main step killed outright could not.
  if (state.containerEngine && state.containerName) removeContainer(state.containerEngine, state.containerName);
  core.info(`Build ${state.buildId}: ${state.result ?? 'did not finish'}`);
}

run().catch((e: unknown) => core.warning(`post step: ${e instanceof Error ? e.message : String(e)}`));
