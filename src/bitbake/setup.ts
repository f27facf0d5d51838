/**
 * The files the action writes into a fresh build directory: bblayers.conf and auto.conf with the
 * paths BitBake will see, the build user's HOME, and the script that starts BitBake.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { BuildConfig, ConfAssignment } from '../config/config.js';
import {
  containerResources,
  type Parallelism,
  PRESSURE_SINCE,
  type Resources,
  runnerResources,
  sizeParallelism,
} from '../host/sizing.js';
import { log } from '../util/log.js';
import { type AutoConfSettings, renderAutoConf, renderBblayersConf, renderKasLocalConf } from './conf.js';
import { BUILD_USER_GITCONFIG } from './container.js';
import { type BuildTools, type ResolvedLayer, versionAtLeast } from './layers.js';
import { bitbakeLayout, confPaths } from './layout.js';
import { RUN_BITBAKE_SH } from './run.js';
import { hostDirsOf, type Workspace } from './workspace.js';

/** BitBake >= 2.18 puts hashserv.db in BB_HASHSERVE_DB_DIR (BRIEF §3). */
const HASHSERVE_DB_DIR_SINCE = '2.18';

/** What auto.conf needs of the config. */
type ConfOfConfig = Pick<
  BuildConfig,
  | 'machine'
  | 'localConf'
  | 'container'
  | 'bbNumberThreads'
  | 'parallelMake'
  | 'settingsConf'
  | 'hashEquivalence'
  | 'confText'
>;

export interface BuildFiles {
  config: ConfOfConfig;
  workspace: Workspace;
  layers: ResolvedLayer[];
  tools: BuildTools;
  distro: string;
  inContainer: boolean;
  /** The remote cache's mirrors and a shared hash server's assignments (pipeline.ts SharedCacheConf). */
  shared?: { mirrors?: ConfAssignment[]; hashServe?: Record<string, string> };
  /** INHERIT += "rm_work", keeping these recipes' work directories. */
  rmWork?: { exclude: string[] };
  /** The runner's CPUs and memory; read from the machine when not given. */
  runner?: Resources;
}

export async function writeBuildFiles(f: BuildFiles): Promise<void> {
  const { config, workspace, layers } = f;
  const dirs = { ...hostDirsOf(workspace), layers };
  const paths = confPaths(bitbakeLayout(dirs, f.inContainer), layers);
  const conf = path.join(workspace.buildDir, 'conf');
  const sized = parallelism(config, f.tools.version, f.runner);
  log.info(`Parallelism: ${sized.explanation}`);
  await fs.writeFile(path.join(conf, 'bblayers.conf'), bblayersConf(paths.layers, layers, config.confText));
  // A kas project's local_conf_header snippets are local.conf, as kas writes them.
  if (config.confText) await fs.writeFile(path.join(conf, 'local.conf'), renderKasLocalConf(config.confText.localConf));
  await fs.writeFile(
    path.join(conf, 'auto.conf'),
    renderAutoConf(
      autoConfSettings(
        config,
        { distro: f.distro, paths, hashservDbDirSupported: versionAtLeast(f.tools.version, HASHSERVE_DB_DIR_SINCE) },
        f.shared,
        { sized, rmWork: f.rmWork },
      ),
    ),
  );
  // Written on the host, where the layout's paths are the host's own.
  const onHost = bitbakeLayout(dirs, false);
  await fs.mkdir(onHost.home, { recursive: true });
  if (f.inContainer) await fs.writeFile(path.join(onHost.home, '.gitconfig'), BUILD_USER_GITCONFIG);
  await fs.writeFile(onHost.script, RUN_BITBAKE_SH, { mode: 0o755 });
}

/** What the runner adds to auto.conf: rm_work, and the parallelism sized for its CPUs and memory. */
export interface RunnerConf {
  /** Default: sized for this machine, for a BitBake that reads BB_HASHSERVE_DB_DIR (the check's assumption). */
  sized?: Parallelism;
  rmWork?: { exclude: string[] };
}

/**
 * What auto.conf says for a config, once the distro, the paths and BitBake's version are known:
 * the one place both the build and the config check (check.ts) get their lines from.
 */
export function autoConfSettings(
  config: ConfOfConfig,
  known: Pick<AutoConfSettings, 'distro' | 'paths' | 'hashservDbDirSupported'>,
  shared: BuildFiles['shared'] = {},
  runner: RunnerConf = {},
): AutoConfSettings {
  const sized = runner.sized ?? parallelism(config, HASHSERVE_DB_DIR_SINCE);
  return {
    machine: config.machine,
    ...known,
    bbNumberThreads: sized.bbNumberThreads,
    parallelMake: sized.parallelMake,
    pressureMaxMemory: sized.pressureMaxMemory,
    rmWork: runner.rmWork,
    localConf: config.localConf,
    settingsConf: config.settingsConf,
    hashEquivalence: config.hashEquivalence,
    mirrors: shared.mirrors,
    hashServe: shared.hashServe,
  };
}

/**
 * bblayers.conf for BBLAYERS in order: poky's version line when meta-poky is there (its sanity
 * check wants it), and a kas project's bblayers_conf_header snippets.
 */
export function bblayersConf(
  layerDirs: string[],
  layers: Pick<ResolvedLayer, 'sublayers'>[],
  confText?: BuildConfig['confText'],
): string {
  return renderBblayersConf(layerDirs, hasPoky(layers) ? '2' : undefined, confText?.bblayersConf);
}

/** The distro when the config names none: poky's when its meta-poky layer is there, else OE-core's. */
export function defaultDistro(layers: ResolvedLayer[]): string {
  return hasPoky(layers) ? 'poky' : 'nodistro';
}

function hasPoky(layers: Pick<ResolvedLayer, 'sublayers'>[]): boolean {
  return layers.some((l) => l.sublayers.some((s) => path.basename(s) === 'meta-poky'));
}

/**
 * Tasks and compiler jobs for the cores and memory BitBake really gets: the container's limits
 * (BitBake in a container sees the host's nproc and memory whatever the limit), else the runner's.
 */
export function parallelism(
  config: Pick<BuildConfig, 'container' | 'bbNumberThreads' | 'parallelMake'>,
  bitbakeVersion: string,
  runner: Resources = runnerResources(),
): Parallelism {
  const resources = config.container.engine === 'none' ? runner : containerResources(config.container, runner);
  return sizeParallelism(
    resources,
    { bbNumberThreads: config.bbNumberThreads, parallelMake: config.parallelMake },
    versionAtLeast(bitbakeVersion, PRESSURE_SINCE),
  );
}
