/** The main step: read config and inputs, restore caches, build, report. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import * as core from '@actions/core';

import { Outputs, TestEnv } from './action/constants.js';
import { type ActionInputs, INPUT_NAMING, readInputs } from './action/inputs.js';
import { saveStepState, type StepState } from './action/state.js';
import { copyDeployDir } from './bitbake/deploy.js';
import { actionDirs, cacheDirsUnder, selfHostedDirs } from './bitbake/workspace.js';
import { restoreCaches } from './cache/caches.js';
import { cacheKeys, cacheLayout } from './cache/keys.js';
import { configuredHashServer, sharedHashServe } from './cache/remote/hashserve.js';
import { finishRemote, mirrorConf, type RemoteSession, startRemote } from './cache/remote/session.js';
import { checkReport, formatOf, loadAnyConfig } from './check.js';
import { type BuildConfig, forbidsNetwork, logConfigWarnings } from './config/config.js';
import { freeDiskDecision, freeDiskSpace } from './host/free-disk.js';
import { diskCandidates, placeBuild } from './host/placement.js';
import {
  type BuildOutcome,
  type PipelineDirs,
  prepareBuild,
  type PreparedBuild,
  runPreparedBuild,
} from './pipeline.js';
import { selectArtifacts, uploadArtifacts } from './report/artifacts.js';
import { diskUsage } from './report/disk.js';
import { checkDisk, reportBuild, setCacheOutputs, setLayersOutput, setOutputs } from './report/report.js';
import { appendSummary } from './report/summary.js';
import { ConfigError, errorMessage, errorStack } from './util/errors.js';
import { log } from './util/log.js';

// The stop-after budget counts from here: restoring caches and checking out layers use the job's time too.
const mainStartedMs = Date.now();

/** The directories of a build, and where a hosted runner's build was placed. */
type Placed = PipelineDirs & { placement?: string; freed?: string };

async function run(): Promise<void> {
  const inputs = readInputs();
  const config = loadAnyConfig(inputs.configFile, inputs.overrides, { naming: INPUT_NAMING });
  logConfigWarnings(config);
  if (inputs.checkOnly) {
    const report = checkReport(config, formatOf(inputs.configFile).name, { rmWork: inputs.runner.rmWork });
    await log.group('Config check', () => Promise.resolve(log.info(report)));
    // A fence longer than any backtick run in the report, so no config value ends it early.
    const fence = '`'.repeat(Math.max(3, ...(report.match(/`+/g) ?? []).map((run) => run.length + 1)));
    if (inputs.report.summary) await appendSummary(`## Config check\n\n${fence}\n${report}${fence}\n`);
    return;
  }
  warnInapplicable(config, inputs.cache.mode);
  const dirs = await pipelineDirs(inputs, config);
  const remote = inputs.cache.mode === 'remote' ? await startRemote(inputs.cache.remote!) : undefined;
  try {
    await runBuild(inputs, config, dirs, remote);
  } finally {
    // The endpoint keeps the process alive; a build that ended early must not leave it open.
    if (remote) await remote.endpoint.close();
  }
}

async function runBuild(
  inputs: ActionInputs,
  config: BuildConfig,
  dirs: Placed,
  remote: RemoteSession | undefined,
): Promise<void> {
  // The hashserve input wins over smidr.yaml's advanced.bb_hashserve: host:port.
  const server = inputs.hashServe ?? configuredHashServer(config);
  const hashServe = server && (await sharedHashServe(server, inputs.cache.save));
  const build = await prepareBuild(config, dirs, {
    mirrors: remote && mirrorConf(remote.endpoint.url, { noNetwork: forbidsNetwork(config) }),
    hashServe: hashServe?.conf,
    rmWork: inputs.runner.rmWork,
  });
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
    state.restoreStartedMs = Date.now();
    state.restored = await restore(inputs, build);
    saveStepState(state);
  }
  // The stop-after input wins over the config's advanced.build_timeout.
  const budgetMinutes = inputs.stopAfterMinutes ?? config.buildTimeoutMinutes;
  const outcome = await runPreparedBuild(build, {
    budget:
      budgetMinutes === undefined
        ? undefined
        : { deadlineMs: mainStartedMs + budgetMinutes * 60_000, minutes: budgetMinutes },
  });
  const served = remote && (await finishRemote(remote, build.workspace.buildDir));
  state.result = outcome.result;
  saveStepState(state);
  setOutputs(build, outcome);
  if (inputs.cache.mode === 'local') await copyDeploy(build, outcome);
  await artifacts(inputs, build, outcome.deployDir);
  await reportBuild(build, outcome, {
    summary: inputs.report.summary,
    restored: state.restored,
    diskAtStart,
    placement: dirs.placement,
    freed: dirs.freed,
    remote: served && {
      settings: inputs.cache.remote!,
      served: served.served.length,
      bytesServed: served.bytesServed,
      misses: served.misses,
      failures: served.failures,
      down: served.down,
      mayWrite: inputs.cache.save,
      saveReason: inputs.cache.saveReason,
    },
    hashServer: hashServe,
  });
  if (outcome.failureMessage) core.setFailed(outcome.failureMessage);
}

/** directories.deploy: a successful build's deploy output copied to `<deploy>/<build id>`; a failed copy is a warning. */
async function copyDeploy(build: PreparedBuild, outcome: BuildOutcome): Promise<void> {
  const into = build.config.directories.deploy;
  if (!into || outcome.result !== 'success') return;
  try {
    const copy = await copyDeployDir(outcome.deployDir, into, build.workspace.id);
    log.info(`Copied the deploy directory to ${copy} (directories.deploy)`);
  } catch (e) {
    log.warning(
      `${build.config.file}: directories.deploy: could not copy the deploy directory to ${into}: ${errorMessage(e)}`,
    );
  }
}

/** smidr.yaml's artifacts: the output always, the workflow artifact when upload-artifacts asks. */
async function artifacts(inputs: ActionInputs, build: PreparedBuild, deployDir: string): Promise<void> {
  const files = selectArtifacts(deployDir, build.config.artifacts ?? []);
  core.setOutput(Outputs.Artifacts, JSON.stringify(files));
  if (inputs.uploadArtifacts) await uploadArtifacts(`smidr-${build.workspace.id}`, files, deployDir);
}

/** One warning for each key that applies to local and self-hosted runs only, or not at all. */
function warnInapplicable(config: BuildConfig, cacheMode: ActionInputs['cache']['mode']): void {
  const d = config.directories;
  // A hosted runner's disk goes with the machine: places on it outlive nothing. With cache: local
  // (a self-hosted runner) these directories apply as in `smidr build`.
  if (cacheMode !== 'local') {
    const local = (['tmp', 'build', 'deploy', 'source'] as const).filter((k) => d[k] !== undefined);
    for (const k of local)
      log.warning(
        `${config.file}: directories.${k}: not used with cache: ${cacheMode}: it places files on a persistent host (cache: local on a self-hosted runner, or smidr build); here each build keeps its ${k === 'source' ? 'downloads in the cache' : k === 'deploy' ? 'deploy output in its build directory (the deploy-dir output)' : 'directories in the workspace'}`,
      );
  }
  if (config.container.entrypoint)
    log.warning(
      `${config.file}: container.entrypoint: not used: the action runs BitBake through its own fixed script in the container, so no shell ever sees a config value; an image's own entrypoint is bypassed the same way`,
    );
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
    const placement = await placeBuild(root, extra);
    log.info(`Build placed on ${placement.description}`);
    return {
      ...base,
      buildsDir: placement.buildsDir,
      caches: cacheDirsUnder(placement.cacheDir),
      placement: placement.description,
      freed,
    };
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
    // A patched checkout (kas patches) builds other sources than its commit alone.
    layers: layers.map((l) => ({ name: l.name, commit: l.patches ? `${l.commit}+${l.patches.digest}` : l.commit })),
    // The settings' conf lines change what BitBake builds exactly as local_conf does.
    localConf: [...(config.settingsConf ?? []), ...config.localConf],
    confText: config.confText && config.confText.bblayersConf + config.confText.localConf,
    run: `${process.env.GITHUB_RUN_ID ?? 'run'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`,
    buildHost: config.container.engine === 'none' ? runnerOs() : config.container.image,
    layout: cacheLayout(process.env),
  });
  const inventoryFile = path.join(process.env.RUNNER_TEMP!, 'smidr', `inventory-${workspace.id}.json`);
  const restored = await restoreCaches(keys, workspace.caches, inventoryFile, inputs.cache.timeoutMs);
  setCacheOutputs(restored);
  return restored;
}

/** The runner's OS as os-release names it (`ubuntu-24.04`), what NATIVELSBSTRING derives from without uninative. */
function runnerOs(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    const field = (name: string) => new RegExp(`^${name}="?([^"\n]*)"?$`, 'm').exec(release)?.[1] ?? '';
    return `${field('ID')}-${field('VERSION_ID')}-${process.arch}`;
  } catch {
    return `${process.platform}-${process.arch}`;
  }
}

run().catch((e: unknown) => {
  // A ConfigError is the user's to fix and says so; anything else is ours, and its stack helps.
  if (!(e instanceof ConfigError)) log.debug(errorStack(e));
  core.setFailed(errorMessage(e));
});
