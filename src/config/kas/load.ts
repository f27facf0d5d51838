/**
 * Loading a kas project as kas does: read the files, give `{repo, file}` includes the directories
 * of the repositories they name, read again, until nothing is missing. Repositories without url
 * are directories already; the others are checked out by the caller (finishKasConfig), because
 * the layer store is the pipeline's.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { ConfigError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { chooseBuildtools } from '../buildtools-yaml.js';
import type { BuildConfig, ConfigOptions, ConfigOverrides, LayerConfig } from '../config.js';
import { type CheckedOverrides, checkOverrides, reportOverride } from '../overrides.js';
import { YamlReader } from '../yaml-reader.js';
import { isDict, isKasText, readKasFiles, repoRoot } from './files.js';
import { type KasEnv, kasProject } from './project.js';

/**
 * Is this `config` value a kas project? A colon-separated list (kas's `base.yml:machine.yml`),
 * or one file whose header has a version.
 */
export function isKasConfig(file: string): boolean {
  if (kasFileList(file).length > 1) return true;
  try {
    return statSync(file).isFile() && isKasText(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** A colon-separated list of files, unless the whole value names a file that exists. */
export function kasFileList(value: string): string[] {
  if (existsSync(value) || !value.includes(':')) return [value];
  return value.split(':').filter((f) => f !== '');
}

/**
 * Reads a kas project into a BuildConfig (before the action's inputs are laid over it).
 * `repoDirs` holds repositories checked out so far for includes; includes still missing are in
 * `config.kas.read.missingRepos`. Warnings are logged once, by the caller's choice (`quiet`).
 */
export function loadKasConfig(
  value: string,
  env: KasEnv,
  options: { home?: string; repoDirs?: ReadonlyMap<string, string>; quiet?: boolean } = {},
): BuildConfig {
  const topFiles = kasFileList(value).map((f) => path.resolve(f));
  const topRepo = repoRoot(path.dirname(topFiles[0]!));
  const dirs = new Map(options.repoDirs ?? []);
  for (;;) {
    const read = readKasFiles(topFiles, dirs);
    // Includes from a repository without url (the project's own, or a `path`) need no checkout.
    const repos = isDict(read.merged.repos) ? read.merged.repos : {};
    const local = read.missingRepos.filter((id) => {
      const cfg = repos[id];
      return id in repos && (cfg === null || (isDict(cfg) && (cfg.url === undefined || cfg.url === null)));
    });
    if (local.length > 0) {
      for (const id of local) {
        const cfg = repos[id];
        const p = isDict(cfg) && typeof cfg.path === 'string' ? cfg.path : undefined;
        dirs.set(id, p === undefined ? topRepo : path.resolve(topRepo, p));
      }
      continue;
    }
    const unknown = read.missingRepos.filter((id) => !(id in repos));
    if (unknown.length > 0 && unknown.length === read.missingRepos.length) {
      throw new ConfigError(
        `${topFiles[0]}: header.includes: names ${unknown.map((u) => `repo ${u}`).join(', ')}, which no file defines under repos; expected every { repo, file } include to name a repository of the project`,
      );
    }
    const { config, errors, warnings } = kasProject(read, topFiles, topRepo, env, options.home);
    if (!options.quiet) for (const w of [...read.notes, ...warnings]) warnOnce(w);
    if (!config) throw new ConfigError(errors.join('\n'));
    return config;
  }
}

/**
 * A kas project as the build's config: read, then the action's inputs (or the CLI's flags) laid
 * over it with the same strict checks as over smidr.yaml. Precedence: input, then KAS_* from the
 * environment, then the files.
 */
export function loadKasProject(
  value: string,
  overrides: ConfigOverrides,
  options: ConfigOptions,
  env: KasEnv = process.env,
): BuildConfig {
  const read = (repoDirs: ReadonlyMap<string, string>): BuildConfig => {
    const base = loadKasConfig(value, env, { home: options.home, repoDirs });
    const r = new YamlReader('', base.file);
    const o = checkOverrides(overrides, options.naming, r);
    const config = laidOver(base, o);
    const tools = chooseBuildtools(base.kas?.buildtools?.config, o.buildtools, config.container.engine, options.naming);
    const where = base.kas?.buildtools?.where ?? base.file;
    if (tools.warning) warnOnce(`${where}: buildtools: ${tools.warning}`);
    if (tools.error?.about === 'file') r.report(0, `${where}: ${tools.error.what}; expected ${tools.error.expected}`);
    else if (tools.error) reportOverride(r, options.naming, 'buildtools', tools.error.what, tools.error.expected);
    r.throwProblems();
    if (tools.buildtools) config.buildtools = tools.buildtools;
    config.kas!.reload = read;
    return config;
  };
  return read(new Map());
}

function laidOver(base: BuildConfig, o: CheckedOverrides): BuildConfig {
  return {
    ...base,
    machine: o.machine ?? base.machine,
    distro: o.distro ?? base.distro,
    targets: o.targets ?? base.targets,
    bitbakeArgs: [...base.bitbakeArgs, ...o.bitbakeArgs],
    localConf: [...base.localConf, ...o.localConf],
    container: { ...base.container, engine: o.engine ?? base.container.engine, image: o.image ?? base.container.image },
  };
}

/** A project read again (after a checkout for includes) repeats its warnings: say each once. */
const warned = new Set<string>();
function warnOnce(text: string): void {
  if (!warned.has(text)) log.warning(text);
  warned.add(text);
}

/** Checks out repositories (without patches) and says where each is, by layer name. */
export type CheckoutForIncludes = (layers: LayerConfig[]) => Promise<Map<string, string>>;

/**
 * Finishes a kas project whose includes name repositories that must be checked out first (kas's
 * repo loop): checks them out, reads again, and repeats until nothing is missing. `reload` reads
 * the project again with the directories known so far (loadKasConfig plus the inputs).
 */
export async function finishKasConfig(
  config: BuildConfig,
  checkout: CheckoutForIncludes,
  reload: (repoDirs: ReadonlyMap<string, string>) => BuildConfig,
): Promise<BuildConfig> {
  const dirs = new Map<string, string>();
  let current = config;
  let before: string[] = [];
  for (;;) {
    const kas = current.kas;
    const missing = kas?.read.missingRepos ?? [];
    if (!kas || missing.length === 0) return current;
    if (missing.join('\n') === before.join('\n')) {
      throw new ConfigError(
        `${kas.topFiles[0]}: could not read every include: repositories ${missing.join(', ')} are still missing; expected each { repo, file } include to name a repository defined under repos`,
      );
    }
    before = missing;
    const wanted = kas.repos.filter((r) => missing.includes(r.id));
    const layers = current.layers.filter((l) => wanted.some((r) => r.name === l.name)).map(({ patches: _, ...l }) => l);
    const found = await checkout(layers);
    for (const r of wanted) {
      const dir = found.get(r.name);
      if (dir !== undefined) dirs.set(r.id, dir);
    }
    current = reload(dirs);
  }
}
