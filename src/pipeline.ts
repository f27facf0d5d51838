/**
 * One build: layers → workspace → conf → BitBake → result. The action's main step and the local
 * CLI both run it; they differ only in where directories are and how results are shown.
 */
import * as path from 'node:path';

import { containerName } from './bitbake/container.js';
import { findDeployDir, listImages } from './bitbake/deploy.js';
import { bitbakeHost, type HostRequest } from './bitbake/host.js';
import {
  assertMachineProvided,
  type BuildTools,
  checkoutLayers,
  findBuildTools,
  type ResolvedLayer,
} from './bitbake/layers.js';
import { tasksRun } from './bitbake/output.js';
import { type BitbakeRunResult, runBitbake } from './bitbake/run.js';
import { defaultDistro, writeBuildFiles } from './bitbake/setup.js';
import { buildId, createWorkspace, hostDirsOf, type PipelineDirs, type Workspace } from './bitbake/workspace.js';
import { type BuildConfig, type ConfAssignment } from './config/config.js';
import { finishKasConfig } from './config/kas/load.js';
import { diskUsage } from './report/disk.js';
import { type BuildResult, buildResult, failureMessage, fullDiskDirs } from './report/outcome.js';
import { log } from './util/log.js';

export type { BuildResult, PipelineDirs };

export interface PreparedBuild {
  config: BuildConfig;
  workspace: Workspace;
  layers: ResolvedLayer[];
  tools: BuildTools;
  distro: string;
  /** Set when BitBake runs in a container. */
  containerName?: string;
  /** The container shares the runner's network (to reach the remote cache's endpoint on 127.0.0.1). */
  hostNetwork?: boolean;
}

/** What BitBake shares beyond this host: the remote cache's mirrors and a shared hash server. */
export interface SharedCacheConf {
  mirrors?: ConfAssignment[];
  hashServe?: Record<string, string>;
}

export interface BuildOutcome {
  result: BuildResult;
  run: BitbakeRunResult;
  deployDir: string;
  images: string[];
  tasksRun?: number;
  tasksReused?: number;
  /** Why the build failed, in words a user can act on. */
  failureMessage?: string;
}

/** What the runner adds to a build beyond the config: the shared caches' conf lines, rm_work. */
export interface PrepareOptions extends SharedCacheConf {
  /** INHERIT += "rm_work", keeping these recipes' work directories. */
  rmWork?: { exclude: string[] };
  env?: NodeJS.ProcessEnv;
}

export async function prepareBuild(
  loaded: BuildConfig,
  dirs: PipelineDirs,
  options: PrepareOptions = {},
): Promise<PreparedBuild> {
  const config = await finishKas(loaded, dirs.layerStore);
  const env = options.env ?? process.env;
  const shared: SharedCacheConf = { mirrors: options.mirrors, hashServe: options.hashServe };
  const layers = await log.group('Layers', () =>
    checkoutLayers(config.layers, dirs.layerStore, config.dir, config.yoctoSeries),
  );
  assertMachineProvided(layers, config.machine);
  const tools = await findBuildTools(layers);
  const distro = config.distro ?? defaultDistro(layers);
  const workspace = await createWorkspace(dirs.buildsDir, buildId(env, config.machine), dirs.caches, dirs.tmpDirs);
  const inContainer = config.container.engine !== 'none';
  await writeBuildFiles({ config, workspace, layers, tools, distro, inContainer, shared, rmWork: options.rmWork });
  log.info(`Build directory: ${workspace.buildDir} (BitBake ${tools.version}, ${distro}, ${config.machine})`);
  return {
    config,
    workspace,
    layers,
    tools,
    distro,
    containerName: inContainer ? containerName(workspace.id) : undefined,
    hostNetwork: inContainer && (shared.mirrors !== undefined || shared.hashServe !== undefined),
  };
}

export interface RunBuildOptions {
  /** Seconds between progress lines (default 60). */
  progressInterval?: number;
  /** Epoch ms at which BitBake is stopped gracefully, and the stop-after minutes it came from. */
  budget?: { deadlineMs: number; minutes: number };
}

export async function runPreparedBuild(b: PreparedBuild, options: RunBuildOptions = {}): Promise<BuildOutcome> {
  const { config, workspace } = b;
  const argv = [...config.bitbakeArgs, ...config.targets];
  const host = await bitbakeHost(hostRequest(b), argv);
  const where = b.containerName ? `in ${config.container.image}` : 'on the runner';
  const run = await log.group(`bitbake ${argv.join(' ')} (${where})`, () =>
    runBitbake(host, argv, {
      progressInterval: options.progressInterval ?? 60,
      graceSeconds: 120,
      deadlineMs: options.budget?.deadlineMs,
    }),
  );
  const deployDir = findDeployDir(workspace.tmpRoot ?? workspace.buildDir);
  const outcome: BuildOutcome = {
    result: buildResult(run),
    run,
    deployDir,
    images: listImages(path.join(deployDir, 'images', config.machine)),
    tasksRun: tasksRun(run.summary),
    tasksReused: run.summary.tasksReused,
  };
  if (outcome.result !== 'success') {
    const diskDirs = fullDiskDirs(workspace.buildDir, workspace.caches, workspace.tmpRoot);
    outcome.failureMessage = failureMessage(run, {
      containerMemory: config.container.memory,
      budgetMinutes: options.budget?.minutes,
      disk: await diskUsage(diskDirs).catch(() => []),
      diskDirs,
      hostTools: b.containerName ? { image: config.container.image } : { buildtools: config.buildtools?.version },
    });
  }
  return outcome;
}

/**
 * A kas project whose includes name other repositories is read again once they are checked out
 * (into the layer store, where the build's own checkout then finds them).
 */
export async function finishKas(config: BuildConfig, layerStore: string): Promise<BuildConfig> {
  const reload = config.kas?.reload;
  if (!reload || config.kas?.read.missingRepos.length === 0) return config;
  return log.group('Repositories holding kas includes', () =>
    finishKasConfig(
      config,
      async (layers) => new Map((await checkoutLayers(layers, layerStore, config.dir)).map((l) => [l.name, l.dir])),
      reload,
    ),
  );
}

function hostRequest(b: PreparedBuild): HostRequest {
  return {
    container: b.config.container,
    dirs: { ...hostDirsOf(b.workspace), layers: b.layers },
    tools: b.tools,
    buildId: b.workspace.id,
    containerName: b.containerName,
    hostNetwork: b.hostNetwork,
    passEnv: b.config.passEnv,
    buildtools: b.config.buildtools,
  };
}
