/**
 * Yocto's buildtools (python3, gcc, git, tar… for old or minimal hosts) for builds without a
 * container, through @actions/tool-cache: downloaded once, checked against its SHA-256, installed
 * once per version and architecture into the runner's tool cache, found there by later jobs.
 * The installer relocates itself to the directory it is installed in, so it is installed in its
 * final tool-cache directory: a copy made afterwards would point into a deleted directory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as exec from '@actions/exec';
import * as tc from '@actions/tool-cache';

import { type BuildtoolsConfig } from '../config/config.js';
import { ConfigError } from '../util/errors.js';
import { log } from '../util/log.js';
import { shownUrl } from '../util/url.js';

export const DEFAULT_BASE_URL = 'https://downloads.yoctoproject.org';
const TOOL = 'yocto-buildtools';

/** The architecture as Yocto names it in installer names: x86_64, aarch64. */
export function yoctoArch(nodeArch = process.arch): string {
  return nodeArch === 'arm64' ? 'aarch64' : nodeArch === 'x64' ? 'x86_64' : nodeArch;
}

/** The installer's URL, as kas builds it from the same keys. */
export function installerUrl(bt: BuildtoolsConfig, arch: string): string {
  const file = bt.filename ?? `buildtools-extended-${arch}-nativesdk-standalone-${bt.version}.sh`;
  const base = (bt.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  return `${base}/releases/yocto/yocto-${bt.version}/buildtools/${file}`;
}

/** A tool-cache version is semver: 5.0 is kept as 5.0.0. */
function cacheVersion(version: string): string {
  return version.split('.').length === 2 ? `${version}.0` : version;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface Buildtools {
  /** The environment-setup-* script to source before BitBake. */
  envFile: string;
  /** Whether this job downloaded and installed it (false: found in the tool cache). */
  installed: boolean;
}

/** Finds buildtools in the tool cache, else downloads, verifies and installs them there. */
export async function installBuildtools(bt: BuildtoolsConfig, arch = yoctoArch()): Promise<Buildtools> {
  if (!bt.sha256sum) {
    throw new ConfigError(
      `buildtools ${bt.version}: no sha256sum; set buildtools.sha256sum in smidr.yaml to the installer's SHA-256`,
    );
  }
  useToolCacheOutsideActions();
  const version = cacheVersion(bt.version);
  const found = tc.find(TOOL, version, arch);
  if (found) {
    log.info(`Buildtools ${bt.version} (${arch}) found in the tool cache: ${found}`);
    return { envFile: await envFile(found), installed: false };
  }
  const url = installerUrl(bt, arch);
  // A mirror's credentials in base_url stay out of the log and the errors.
  const shown = shownUrl(url);
  log.info(`Downloading buildtools ${bt.version} (${arch}) from ${shown}`);
  const file = await tc.downloadTool(url);
  try {
    const actual = await sha256(file);
    if (actual !== bt.sha256sum.toLowerCase()) {
      throw new ConfigError(
        `buildtools ${bt.version}: the installer from ${shown} has SHA-256 ${actual}, but ${bt.sha256sum.toLowerCase()} was expected; check the buildtools-sha256 input (or buildtools.sha256sum) and the download site`,
      );
    }
    // An empty directory is cached first, so the installer relocates itself to its final place.
    const empty = await fs.mkdtemp(path.join(path.dirname(file), 'buildtools-'));
    const dir = await tc.cacheDir(empty, TOOL, version, arch);
    const complete = `${dir}.complete`;
    // tc.find trusts this marker: it is written back only once the installer succeeded.
    await Promise.all([fs.rm(empty, { recursive: true, force: true }), fs.rm(complete, { force: true })]);
    const code = await exec.exec('bash', [file, '-y', '-d', dir], { ignoreReturnCode: true, silent: true });
    if (code !== 0) {
      await fs.rm(dir, { recursive: true, force: true });
      throw new Error(`the buildtools installer from ${shown} failed (exit code ${code})`);
    }
    await fs.writeFile(complete, '');
    log.info(`Buildtools ${bt.version} (${arch}) installed in the tool cache: ${dir}`);
    return { envFile: await envFile(dir), installed: true };
  } finally {
    await fs.rm(file, { force: true });
  }
}

/**
 * @actions/tool-cache needs the runner's tool cache and temporary directory. The smidr CLI has no
 * runner: it keeps its tools beside its other persistent directories, under ~/.smidr.
 */
function useToolCacheOutsideActions(env = process.env): void {
  env.RUNNER_TOOL_CACHE ||= path.join(os.homedir(), '.smidr', 'tool-cache');
  env.RUNNER_TEMP ||= os.tmpdir();
}

async function envFile(dir: string): Promise<string> {
  const entries = (await fs.readdir(dir)).filter((e) => e.startsWith('environment-setup-')).sort();
  if (entries.length === 0) throw new Error(`buildtools in ${dir} have no environment-setup-* script`);
  return path.join(dir, entries[0]!);
}
