/**
 * One build: layers → workspace → conf → BitBake. The action's main step and the local CLI both
 * run it; they differ only in where directories are and how results are shown.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

import * as exec from '@actions/exec';

import { type BitbakePaths, renderAutoConf, renderBblayersConf } from './bitbake/conf.js';
import {
  BUILD_LABEL,
  BUILD_USER_GITCONFIG,
  builderUser,
  type ContainerSpec,
  engineAvailable,
  ensureImage,
  IN_CONTAINER,
  type Mount,
  userNamespaceOptions,
} from './bitbake/container.js';
import {
  type BuildTools,
  checkoutLayers,
  findBuildTools,
  type ResolvedLayer,
  versionAtLeast,
} from './bitbake/layers.js';
import { taskLabel, tasksRun } from './bitbake/output.js';
import { type BitbakeHost, type BitbakeRunResult, RUN_BITBAKE_SH, runBitbake } from './bitbake/run.js';
import { buildId, createWorkspace, type PipelineDirs, type Workspace } from './bitbake/workspace.js';
import { type BuildConfig } from './config/config.js';
import {
  containerResources,
  type Parallelism,
  PRESSURE_SINCE,
  runnerResources,
  sizeParallelism,
} from './host/sizing.js';
import { diskUsage, type FsUsage, NEARLY_FULL_BYTES } from './report/disk.js';
import { stringEnv } from './util/env.js';
import { ConfigError } from './util/errors.js';
import { formatBytes } from './util/format.js';
import { log } from './util/log.js';

export type { PipelineDirs };

export interface PreparedBuild {
  config: BuildConfig;
  workspace: Workspace;
  layers: ResolvedLayer[];
  tools: BuildTools;
  distro: string;
  /** Set when BitBake runs in a container. */
  containerName?: string;
}

/** `stopped`: the stop-after budget ran out; what finished is in sstate and the next run goes on from there. */
export type BuildResult = 'success' | 'failure' | 'cancelled' | 'stopped';

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

/** BitBake >= 2.18 puts hashserv.db in BB_HASHSERVE_DB_DIR (BRIEF §3). */
const HASHSERVE_DB_DIR_SINCE = '2.18';

/** What the runner adds to a build beyond the config. */
export interface PrepareOptions {
  /** INHERIT += "rm_work", keeping these recipes' work directories. */
  rmWork?: { exclude: string[] };
  env?: NodeJS.ProcessEnv;
}

export async function prepareBuild(
  config: BuildConfig,
  dirs: PipelineDirs,
  options: PrepareOptions = {},
): Promise<PreparedBuild> {
  const env = options.env ?? process.env;
  const layers = await log.group('Layers', () => checkoutLayers(config.layers, dirs.layerStore, config.dir));
  const tools = await findBuildTools(layers);
  const distro =
    config.distro ??
    (layers.some((l) => l.sublayers.some((s) => path.basename(s) === 'meta-poky')) ? 'poky' : 'nodistro');

  const workspace = await createWorkspace(dirs.buildsDir, buildId(env, config.machine), dirs.caches);
  const inContainer = config.container.engine !== 'none';
  const seen = bitbakePaths(workspace, layers, inContainer);
  const hasPoky = layers.some((l) => l.sublayers.some((s) => path.basename(s) === 'meta-poky'));
  await fs.writeFile(
    path.join(workspace.buildDir, 'conf', 'bblayers.conf'),
    renderBblayersConf(seen.layers, hasPoky ? '2' : undefined),
  );
  await fs.writeFile(
    path.join(workspace.buildDir, 'conf', 'auto.conf'),
    renderAutoConf({
      machine: config.machine,
      distro,
      paths: seen,
      hashservDbDirSupported: versionAtLeast(tools.version, HASHSERVE_DB_DIR_SINCE),
      ...parallelism(config, tools.version),
      rmWork: options.rmWork,
      localConf: config.localConf,
    }),
  );
  await fs.mkdir(path.join(workspace.buildDir, '.smidr', 'home'), { recursive: true });
  if (inContainer)
    await fs.writeFile(path.join(workspace.buildDir, '.smidr', 'home', '.gitconfig'), BUILD_USER_GITCONFIG);
  await fs.writeFile(path.join(workspace.buildDir, '.smidr', 'run-bitbake.sh'), RUN_BITBAKE_SH, { mode: 0o755 });
  log.info(`Build directory: ${workspace.buildDir} (BitBake ${tools.version}, ${distro}, ${config.machine})`);
  return { config, workspace, layers, tools, distro, containerName: inContainer ? `smidr-${workspace.id}` : undefined };
}

/**
 * Tasks and compiler jobs for the cores and memory BitBake really gets: the container's limits
 * (BitBake inside sees the host's nproc and memory whatever the limit), else the runner's.
 */
function parallelism(config: BuildConfig, bitbakeVersion: string): Parallelism {
  const runner = runnerResources();
  const resources = config.container.engine === 'none' ? runner : containerResources(config.container, runner);
  const sized = sizeParallelism(
    resources,
    { bbNumberThreads: config.bbNumberThreads, parallelMake: config.parallelMake },
    versionAtLeast(bitbakeVersion, PRESSURE_SINCE),
  );
  log.info(`Parallelism: ${sized.explanation}`);
  return sized;
}

/** Layer, build and cache paths as BitBake will see them. */
function bitbakePaths(ws: Workspace, layers: ResolvedLayer[], inContainer: boolean): BitbakePaths {
  const layerRoot = (l: ResolvedLayer) => (inContainer ? `${IN_CONTAINER.layers}/${l.name}` : l.dir);
  const sub = (root: string, s: string) => (s === '.' ? root : `${root}/${s}`);
  const layerDirs = layers.flatMap((l) => l.sublayers.map((s) => sub(layerRoot(l), s)));
  return inContainer
    ? {
        topdir: IN_CONTAINER.build,
        downloads: IN_CONTAINER.downloads,
        sstate: IN_CONTAINER.sstate,
        hashserv: IN_CONTAINER.hashserv,
        layers: layerDirs,
      }
    : { topdir: ws.buildDir, ...ws.caches, layers: layerDirs };
}

export interface RunBuildOptions {
  /** Seconds between progress lines (default 60). */
  progressInterval?: number;
  /** Epoch ms at which BitBake is stopped gracefully, and the stop-after minutes it came from. */
  budget?: { deadlineMs: number; minutes: number };
}

export async function runPreparedBuild(b: PreparedBuild, options: RunBuildOptions = {}): Promise<BuildOutcome> {
  const opts = {
    progressInterval: options.progressInterval ?? 60,
    graceSeconds: 120,
    deadlineMs: options.budget?.deadlineMs,
  };
  const { config, workspace } = b;
  const argv = [...config.bitbakeArgs, ...config.targets];
  const host = b.containerName ? await containerHost(b, argv) : directHost(b);
  const commandLine = `bitbake ${argv.join(' ')}`;
  const run = await log.group(
    `${commandLine} (${b.containerName ? `in ${config.container.image}` : 'on the runner'})`,
    () => runBitbake(host, argv, opts),
  );
  const deployDir = await findDeployDir(workspace.buildDir);
  const images = await listImages(path.join(deployDir, 'images', config.machine));
  const outcome: BuildOutcome = {
    result:
      run.exitCode === 0 ? 'success' : run.stoppedBy === 'budget' ? 'stopped' : run.stoppedBy ? 'cancelled' : 'failure',
    run,
    deployDir,
    images,
    tasksRun: tasksRun(run.summary),
    tasksReused: run.summary.tasksReused,
  };
  if (outcome.result !== 'success') {
    outcome.failureMessage = failureMessage(b, run, options);
    const full = await fullDisk(b, run);
    if (full) outcome.failureMessage = `${full}. ${outcome.failureMessage}`;
  }
  return outcome;
}

/** A build that failed for want of space says so first: the task errors are only its symptoms. */
async function fullDisk(b: PreparedBuild, run: BitbakeRunResult): Promise<string | undefined> {
  const enospc = run.summary.errors.some((e) => /No space left on device|disk space monitor/i.test(e));
  const dirs = {
    'the build directory': b.workspace.buildDir,
    DL_DIR: b.workspace.caches.downloads,
    SSTATE_DIR: b.workspace.caches.sstate,
  };
  const usage = await diskUsage(dirs).catch(() => []);
  const fullest = usage.reduce<FsUsage | undefined>((a, u) => (!a || u.freeBytes < a.freeBytes ? u : a), undefined);
  if (!fullest || (!enospc && fullest.freeBytes >= NEARLY_FULL_BYTES)) return undefined;
  const where = fullest.holds.map((h) => `${h} (${dirs[h as keyof typeof dirs]})`).join(', ');
  return (
    `No space left on the file system holding ${where}: ${formatBytes(fullest.freeBytes)} free of ${formatBytes(fullest.totalBytes)}; ` +
    'free space on the runner, put workspace-dir (and the caches) on a bigger disk, or add INHERIT += "rm_work" to local-conf so finished recipes leave TMPDIR'
  );
}

function failureMessage(b: PreparedBuild, run: BitbakeRunResult, options: RunBuildOptions): string {
  const s = run.summary;
  if (run.oomKilled) {
    const victims =
      s.failures.length > 0 ? `${s.failures.map(taskLabel).join(', ')} failed: ` : 'BitBake was stopped: ';
    return `${victims}the out-of-memory killer stopped a process at the container memory limit (container.memory: ${b.config.container.memory ?? 'none'}); raise container.memory or lower build.bb_number_threads / parallel_make`;
  }
  if (run.stoppedBy === 'budget') return budgetMessage(run, options.budget!.minutes);
  if (run.stoppedBy) return 'BitBake was stopped because the job was cancelled';
  if (s.failures.length > 0) {
    return `BitBake failed: ${s.failures.length} task(s) failed: ${s.failures.map(taskLabel).join(', ')}`;
  }
  if (s.parseErrors.length > 0) {
    return `BitBake could not parse: ${s.parseErrors.map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`;
  }
  const last = s.errors.at(-1);
  return `BitBake exited with code ${run.exitCode}${last ? `: ${last}` : ''}`;
}

function budgetMessage(run: BitbakeRunResult, minutes: number): string {
  const p = run.summary.lastProgress;
  const where = !p
    ? 'before any task ran'
    : p.phase === 'setscene'
      ? `while reusing sstate (${p.current} of ${p.total} setscene tasks), before any real task`
      : `after ${p.current} of ${p.total} tasks; ${p.total - p.current} remain`;
  return (
    `BitBake was stopped at the time budget (stop-after: ${minutes} minutes) ${where}. ` +
    'Everything that finished is in sstate and is saved with the caches: run the job again with the same config to continue from here'
  );
}

async function containerHost(b: PreparedBuild, argv: string[]): Promise<BitbakeHost> {
  const { config, workspace, tools } = b;
  const engine = config.container.engine as 'docker' | 'podman';
  const missing = await engineAvailable(engine);
  if (missing) throw new Error(missing);
  await ensureImage(engine, config.container.image);
  const user = builderUser();
  // A root runner builds as a regular user: the directories it writes must be that user's. Only
  // what is not already: a shared sstate directory of a self-hosted host is mostly the build
  // user's, and changing every file's owner (and ctime) on every build is needless work. Other
  // builds may remove their temporary files meanwhile, so find's complaints about those are no
  // failure; a file really left unwritable shows as BitBake's own permission error.
  if (process.getuid?.() === 0) {
    for (const dir of [workspace.buildDir, ...Object.values(workspace.caches)]) {
      await exec.exec(
        'find',
        [
          dir,
          '(',
          '!',
          '-uid',
          String(user.uid),
          '-o',
          '!',
          '-gid',
          String(user.gid),
          ')',
          '-exec',
          'chown',
          '-h',
          `${user.uid}:${user.gid}`,
          '{}',
          '+',
        ],
        { silent: true, ignoreReturnCode: true },
      );
    }
  }
  const userns = userNamespaceOptions();
  if (userns.warning) log.warning(userns.warning);
  const mounts: Mount[] = [
    ...b.layers.map((l) => ({ source: l.dir, target: `${IN_CONTAINER.layers}/${l.name}`, readonly: true })),
    { source: workspace.buildDir, target: IN_CONTAINER.build, readonly: false },
    { source: workspace.caches.downloads, target: IN_CONTAINER.downloads, readonly: false },
    { source: workspace.caches.sstate, target: IN_CONTAINER.sstate, readonly: false },
    { source: workspace.caches.hashserv, target: IN_CONTAINER.hashserv, readonly: false },
  ];
  const spec: ContainerSpec = {
    engine,
    image: config.container.image,
    name: b.containerName!,
    user,
    mounts,
    env: {
      ...localeEnv(),
      HOME: `${IN_CONTAINER.build}/.smidr/home`,
      USER: 'builder',
      LOGNAME: 'builder',
      SMIDR_BUILD_DIR: IN_CONTAINER.build,
      SMIDR_INIT_ENV: `${IN_CONTAINER.layers}/${tools.initEnv.layer}/${tools.initEnv.file}`,
      SMIDR_BITBAKE_DIR: bitbakeDirFor(tools, `${IN_CONTAINER.layers}/${tools.bitbake.layer}`),
    },
    workdir: IN_CONTAINER.build,
    memory: config.container.memory,
    cpus: config.container.cpuCount,
    securityOptions: userns.options,
    labels: { [BUILD_LABEL]: workspace.id },
    command: ['/bin/bash', `${IN_CONTAINER.build}/.smidr/run-bitbake.sh`, ...argv],
  };
  return { kind: 'container', spec };
}

function directHost(b: PreparedBuild): BitbakeHost {
  if (process.getuid?.() === 0) {
    throw new ConfigError(
      'container-engine none runs BitBake on the runner, and BitBake refuses to run as root; use a container engine or a non-root runner',
    );
  }
  const { workspace, tools, layers } = b;
  const dir = (name: string) => layers.find((l) => l.name === name)!.dir;
  const env = stringEnv(process.env);
  // The host's TMPDIR must not reach BitBake, nor a server address, nor the runner's secrets.
  for (const k of Object.keys(env)) {
    if (
      k === 'TMPDIR' ||
      k === 'BBSERVER' ||
      k.startsWith('ACTIONS_') ||
      k.startsWith('INPUT_') ||
      k.startsWith('GITHUB_TOKEN')
    )
      delete env[k];
  }
  Object.assign(env, {
    ...localeEnv(),
    SMIDR_BUILD_DIR: workspace.buildDir,
    SMIDR_INIT_ENV: path.join(dir(tools.initEnv.layer), tools.initEnv.file),
    SMIDR_BITBAKE_DIR: bitbakeDirFor(tools, dir(tools.bitbake.layer)),
  });
  return {
    kind: 'direct',
    script: path.join(workspace.buildDir, '.smidr', 'run-bitbake.sh'),
    env,
    cwd: workspace.buildDir,
  };
}

/** oe-init-build-env finds poky's bitbake/ itself; the split layout must name the directory. */
function bitbakeDirFor(tools: BuildTools, layerRoot: string): string {
  if (tools.bitbake.layer === tools.initEnv.layer && tools.bitbake.dir === 'bitbake') return '';
  return tools.bitbake.dir === '.' ? layerRoot : `${layerRoot}/${tools.bitbake.dir}`;
}

function localeEnv(): Record<string, string> {
  return { LANG: 'en_US.UTF-8', LC_ALL: 'en_US.UTF-8' };
}

/** TMPDIR may carry a libc suffix (scarthgap's tmp-glibc): take the deploy dir that exists. */
async function findDeployDir(buildDir: string): Promise<string> {
  const entries = await fs.readdir(buildDir).catch(() => [] as string[]);
  const candidates = entries
    .filter((e) => /^tmp(-[A-Za-z0-9]+)?$/.test(e))
    .map((e) => path.join(buildDir, e, 'deploy'));
  return candidates.find((c) => existsSync(c)) ?? path.join(buildDir, 'tmp', 'deploy');
}

async function listImages(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(dir, e.name))
    .sort();
}
