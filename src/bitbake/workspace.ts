/**
 * The unique build directory of one build, and the shared cache directories it uses. A build
 * directory is never reused: two builds of one config (a re-run, a second matrix leg, a local run
 * beside CI) each get their own TMPDIR, bitbake.lock and BitBake server.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { dbDirProblem } from '../local/db-dir.js';
import { privateCacheDirs } from '../local/private-dirs.js';
import { ConfigError } from '../util/errors.js';
import { log } from '../util/log.js';

export interface CacheDirs {
  downloads: string;
  sstate: string;
  /** The hash-equivalence DB directory, kept beside sstate: sstate without it loses reuse. */
  hashserv: string;
}

/** Where a build's things live: layer checkouts, build directories, shared caches. */
export interface PipelineDirs {
  /** Where immutable layer checkouts are kept. */
  layerStore: string;
  /** Under which each build gets its own directory. */
  buildsDir: string;
  caches: CacheDirs;
  /** smidr.yaml's directories.tmp: under it each build gets its own directory for its TMPDIR. */
  tmpDirs?: string;
}

export interface Workspace {
  id: string;
  /** TOPDIR: conf/, tmp/ (TMPDIR), the lock and the hash server socket live here. */
  buildDir: string;
  caches: CacheDirs;
  /** Set with directories.tmp: this build's own directory under it, holding TMPDIR (layout.ts HostDirs). */
  tmpRoot?: string;
}

/** A workspace's directories as the layout (layout.ts HostDirs) takes them, without the layers. */
export function hostDirsOf(w: Workspace): { buildDir: string; caches: CacheDirs; tmpRoot?: string } {
  return { buildDir: w.buildDir, caches: w.caches, ...(w.tmpRoot !== undefined && { tmpRoot: w.tmpRoot }) };
}

/** A readable id that is unique per build: run, attempt, job, machine, then randomness. */
export function buildId(env: NodeJS.ProcessEnv, machine: string): string {
  const parts = env.GITHUB_RUN_ID
    ? [env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT ?? '1', env.GITHUB_JOB ?? 'job', machine]
    : ['local', new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, ''), machine];
  const readable = parts
    .map((p) => p.replace(/[^A-Za-z0-9_.-]+/g, '-'))
    .join('-')
    .slice(0, 80);
  return `${readable}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates the build directory, and with `tmpDirs` the build's own TMPDIR directory under it (named
 * like the build, so it is never another build's); a collision (never expected) is an error.
 */
export async function createWorkspace(
  root: string,
  id: string,
  caches: CacheDirs,
  tmpDirs?: string,
): Promise<Workspace> {
  await fs.mkdir(root, { recursive: true });
  const buildDir = path.join(root, id);
  await fs.mkdir(buildDir);
  await fs.mkdir(path.join(buildDir, 'conf'));
  for (const dir of Object.values(caches)) await fs.mkdir(dir, { recursive: true });
  if (!tmpDirs) return { id, buildDir, caches };
  const tmpRoot = path.join(tmpDirs, id);
  await fs.mkdir(tmpDirs, { recursive: true });
  await fs.mkdir(tmpRoot);
  return { id, buildDir, caches, tmpRoot };
}

/** The cache directories under one root, as the action lays them out. */
export function cacheDirsUnder(root: string): CacheDirs {
  return {
    downloads: path.join(root, 'downloads'),
    sstate: path.join(root, 'sstate-cache'),
    hashserv: path.join(root, 'hashserv'),
  };
}

/** Where the action keeps things on a runner: all under RUNNER_TEMP unless told otherwise. */
export function actionDirs(env: NodeJS.ProcessEnv, workspaceDir?: string): PipelineDirs {
  const temp = env.RUNNER_TEMP;
  if (!temp) throw new Error('RUNNER_TEMP is not set: run this as a GitHub action, or use the smidr CLI locally');
  return {
    // The tool cache survives between jobs on self-hosted runners: checkouts are reused there.
    layerStore: path.join(env.RUNNER_TOOL_CACHE ?? temp, 'smidr-layers'),
    buildsDir: workspaceDir ?? path.join(temp, 'smidr', 'builds'),
    caches: cacheDirsUnder(path.join(temp, 'smidr', 'cache')),
  };
}

/**
 * Where the CLI keeps things: the config's persistent directories. Build directories go under
 * `workspaceDir` (--workspace-dir, the workspace-dir input), else directories.build, else beside sstate.
 */
export function localDirs(
  d: { downloads: string; sstate: string; layers: string; build?: string; tmp?: string },
  workspaceDir?: string,
): PipelineDirs {
  const root = path.dirname(d.sstate);
  const builds = workspaceDir ?? d.build;
  return {
    layerStore: d.layers,
    buildsDir: builds ? path.resolve(builds) : path.join(root, 'builds'),
    caches: { downloads: d.downloads, sstate: d.sstate, hashserv: path.join(root, 'hashserv') },
    ...(d.tmp && { tmpDirs: d.tmp }),
  };
}

/**
 * Self-hosted runners keep caches on the host, shared by every build there: under `cache-dir`
 * (one private directory per repository), else smidr.yaml's `directories:`.
 */
export async function selfHostedDirs(
  base: { layerStore: string },
  cacheDir: string | undefined,
  directories: { downloads: string; sstate: string; layers: string; build?: string; tmp?: string },
  repository: string,
  workspaceDir?: string,
): Promise<PipelineDirs> {
  let dirs: PipelineDirs;
  if (cacheDir) {
    const p = await privateCacheDirs(cacheDir, repository);
    for (const t of p.tightened) log.notice(`Made ${t} private to the runner user`);
    dirs = {
      layerStore: base.layerStore,
      buildsDir: workspaceDir ?? directories.build ?? p.buildsDir,
      caches: { downloads: p.downloads, sstate: p.sstate, hashserv: p.hashserv },
      ...(directories.tmp && { tmpDirs: directories.tmp }),
    };
  } else {
    dirs = { ...localDirs(directories, workspaceDir), layerStore: base.layerStore };
  }
  await fs.mkdir(dirs.caches.hashserv, { recursive: true });
  const problem = await dbDirProblem(dirs.caches.hashserv);
  if (problem) throw new ConfigError(problem);
  return dirs;
}
