/**
 * The files the action writes into a fresh build directory: bblayers.conf and auto.conf with the
 * paths BitBake will see, the build user's HOME, and the script that starts BitBake.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { BuildConfig, ConfAssignment } from '../config/config.js';
import { type AutoConfSettings, renderAutoConf, renderBblayersConf, renderKasLocalConf } from './conf.js';
import { BUILD_USER_GITCONFIG } from './container.js';
import { type BuildTools, type ResolvedLayer, versionAtLeast } from './layers.js';
import { bitbakeLayout, confPaths } from './layout.js';
import { RUN_BITBAKE_SH } from './run.js';
import type { Workspace } from './workspace.js';

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
}

export async function writeBuildFiles(f: BuildFiles): Promise<void> {
  const { config, workspace, layers } = f;
  const dirs = { layers, buildDir: workspace.buildDir, caches: workspace.caches };
  const paths = confPaths(bitbakeLayout(dirs, f.inContainer), layers);
  const conf = path.join(workspace.buildDir, 'conf');
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
      ),
    ),
  );
  // Written on the host, where the layout's paths are the host's own.
  const onHost = bitbakeLayout(dirs, false);
  await fs.mkdir(onHost.home, { recursive: true });
  if (f.inContainer) await fs.writeFile(path.join(onHost.home, '.gitconfig'), BUILD_USER_GITCONFIG);
  await fs.writeFile(onHost.script, RUN_BITBAKE_SH, { mode: 0o755 });
}

/** What auto.conf says for a config, once the distro, the paths and BitBake's version are known. */
export function autoConfSettings(
  config: ConfOfConfig,
  known: Pick<AutoConfSettings, 'distro' | 'paths' | 'hashservDbDirSupported'>,
  shared: BuildFiles['shared'] = {},
): AutoConfSettings {
  return {
    machine: config.machine,
    ...known,
    ...parallelism(config),
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
 * BitBake sizes its parallelism from the CPUs it sees, and a container's CPU limit does not change
 * what nproc says: follow container.cpu_count unless the config sets parallelism itself.
 */
export function parallelism(config: Pick<BuildConfig, 'container' | 'bbNumberThreads' | 'parallelMake'>): {
  bbNumberThreads?: number;
  parallelMake?: string;
} {
  const cpus =
    config.container.engine !== 'none' && config.container.cpuCount
      ? Math.max(1, Math.ceil(config.container.cpuCount))
      : undefined;
  return {
    bbNumberThreads: config.bbNumberThreads ?? cpus,
    parallelMake: config.parallelMake ?? (cpus ? `-j ${cpus}` : undefined),
  };
}
