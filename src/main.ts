/** The main step: read config and inputs, restore caches, build, report. */
import * as path from 'node:path';

import * as core from '@actions/core';

import { TestEnv } from './action/constants.js';
import { type ActionInputs, INPUT_NAMING, readInputs } from './action/inputs.js';
import { saveStepState, type StepState } from './action/state.js';
import { actionDirs, selfHostedDirs } from './bitbake/workspace.js';
import { restoreCaches } from './cache/caches.js';
import { cacheKeys } from './cache/keys.js';
import { type BuildConfig, loadConfig } from './config/config.js';
import { freeDiskDecision, freeDiskSpace } from './host/free-disk.js';
import { diskCandidates, placeBuild } from './host/placement.js';
import { type PipelineDirs, prepareBuild, type PreparedBuild, runPreparedBuild } from './pipeline.js';
import { diskUsage } from './report/disk.js';
import { checkDisk, reportBuild, setCacheOutputs, setLayersOutput, setOutputs } from './report/report.js';
import { ConfigError, errorMessage, errorStack } from './util/errors.js';
import { log } from './util/log.js';

// The stop-after budget counts from here: restoring caches and checking out layers use the job's time too.
const mainStartedMs = Date.now();

/** The directories of a build, and where a hosted runner's build was placed. */
type Placed = PipelineDirs & { placement?: string; freed?: string };

async function run(): Promise<void> {
  const inputs = readInputs();
  const config = loadConfig(inputs.configFile, inputs.overrides, { naming: INPUT_NAMING });
  const dirs = await pipelineDirs(inputs, config);
  const build = await prepareBuild(config, dirs, { rmWork: inputs.runner.rmWork });
  setLayersOutput(build);
  const diskAtStart = await checkDisk(build.workspace, 'start');
  const state: StepState = {
    buildId: build.workspace.id,
    buildDir: build.workspace.buildDir,
    container: build.containerName
      ? { engine: config.container.engine as 'docker' | 'podman', name: build.containerName }
      : undefined,
    cache: inputs.cache,
    summary: inputs.report.summary,
    dirs,
  };
  saveStepState(state);
  if (inputs.cache.mode === 'actions') {
    state.restored = await restore(inputs, build);
    saveStepState(state);
  }
  const outcome = await runPreparedBuild(build, {
    budget:
      inputs.stopAfterMinutes === undefined
        ? undefined
        : { deadlineMs: mainStartedMs + inputs.stopAfterMinutes * 60_000, minutes: inputs.stopAfterMinutes },
  });
  state.result = outcome.result;
  saveStepState(state);
  setOutputs(build, outcome);
  await reportBuild(build, outcome, {
    summary: inputs.report.summary,
    restored: state.restored,
    diskAtStart,
    placement: dirs.placement,
    freed: dirs.freed,
  });
  if (outcome.failureMessage) core.setFailed(outcome.failureMessage);
}

async function pipelineDirs(inputs: ActionInputs, config: BuildConfig): Promise<Placed> {
  const base = actionDirs(process.env, inputs.workspaceDir);
  if (inputs.cache.mode !== 'local') {
    // Only a hosted runner's disks are the action's to choose; a self-hosted owner sets workspace-dir.
    const placeOnHost = !inputs.workspaceDir && inputs.runner.githubHosted;
    const root = path.join(process.env.RUNNER_TEMP!, 'smidr');
    const extra = process.env[TestEnv.ExtraDisk] || '/mnt';
    const room = placeOnHost
      ? Math.max(...(await diskCandidates(root, extra)).map((c) => c.freeBytes))
      : await freeBytesFor(base.buildsDir);
    const freed = await makeRoom(inputs, room);
    if (!placeOnHost) return { ...base, freed };
    const placement = await placeBuild(root, path.dirname(base.caches.downloads), extra);
    log.info(`Build placed on ${placement.description}`);
    return { ...base, buildsDir: placement.buildsDir, placement: placement.description, freed };
  }
  const dirs = await selfHostedDirs(
    base,
    inputs.cache.dir,
    config.directories,
    process.env.GITHUB_REPOSITORY ?? 'local/repository',
    inputs.workspaceDir,
  );
  return { ...dirs, freed: await makeRoom(inputs, await freeBytesFor(dirs.buildsDir)) };
}

/** free-disk-space: removes the hosted image's unused toolchains when the build needs the room. */
async function makeRoom(inputs: ActionInputs, buildFreeBytes: number): Promise<string | undefined> {
  const decision = freeDiskDecision(inputs.runner.freeDiskSpace, inputs.runner.githubHosted, buildFreeBytes);
  if (!decision.free) {
    log.info(`Not freeing disk space: ${decision.why}`);
    return undefined;
  }
  const root = process.env[TestEnv.RunnerRoot] || '/';
  const freed = await log.group('Freeing disk space', () => freeDiskSpace(root));
  log.info(`Freed disk space because ${decision.why}: ${freed.description}`);
  return freed.description;
}

async function freeBytesFor(dir: string): Promise<number> {
  return (await diskUsage({ build: dir }))[0]?.freeBytes ?? 0;
}

async function restore(inputs: ActionInputs, build: PreparedBuild) {
  const { config, layers, workspace } = build;
  const keys = cacheKeys({
    userPrefix: inputs.cache.keyPrefix,
    series: config.yoctoSeries ?? 'unknown-series',
    distro: build.distro,
    machine: config.machine,
    targets: config.targets,
    layers: layers.map((l) => ({ name: l.name, commit: l.commit })),
    localConf: config.localConf,
    run: `${process.env.GITHUB_RUN_ID ?? 'run'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`,
  });
  const inventoryFile = path.join(process.env.RUNNER_TEMP!, 'smidr', `inventory-${workspace.id}.json`);
  const restored = await restoreCaches(keys, workspace.caches, inventoryFile, inputs.cache.timeoutMs);
  setCacheOutputs(restored);
  return restored;
}

run().catch((e: unknown) => {
  // A ConfigError is the user's to fix and says so; anything else is ours, and its stack helps.
  if (!(e instanceof ConfigError)) log.debug(errorStack(e));
  core.setFailed(errorMessage(e));
});
