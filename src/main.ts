/** The main step: read config and inputs, build, report. */
import * as core from '@actions/core';
import { loadConfig } from './config.js';
import { readInputs } from './inputs.js';
import { prepareBuild, runPreparedBuild } from './pipeline.js';
import { setLayersOutput, setOutputs, writeSummary } from './report.js';
import { saveBuildState } from './state.js';
import { actionDirs } from './workspace.js';

async function run(): Promise<void> {
  const inputs = readInputs();
  const config = loadConfig(inputs.configFile, inputs.overrides);
  const build = await prepareBuild(config, actionDirs(process.env, inputs.workspaceDir));
  setLayersOutput(build);
  const state = {
    buildId: build.workspace.id, buildDir: build.workspace.buildDir, caches: build.workspace.caches,
    containerEngine: build.containerName ? (config.container.engine as 'docker' | 'podman') : undefined,
    containerName: build.containerName,
  };
  saveBuildState(state);
  const outcome = await runPreparedBuild(build);
  saveBuildState({ ...state, result: outcome.result });
  setOutputs(build, outcome);
  await writeSummary(build, outcome);
  if (outcome.failureMessage) core.setFailed(outcome.failureMessage);
}

run().catch((e: unknown) => core.setFailed(e instanceof Error ? e.message : String(e)));
