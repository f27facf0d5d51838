/**
 * The Smidr config: smidr.yaml as written by users, validated, with the action's inputs (or the
 * CLI's flags) laid over it. Nothing here touches the network or writes a file. This module is
 * the contract other modules use; the reading is in yaml-reader.ts (YAML access and errors),
 * smidr-yaml.ts and layers-yaml.ts (the file's rules) and overrides.ts (inputs and flags).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ContainerEngine } from '../action/constants.js';
import type { ConfAssignment } from '../bitbake/conf-line.js';
import { ConfigError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { Environment } from './env-substitution.js';
import type { KasProject } from './kas/project.js';
import type { OverrideNaming } from './overrides.js';
import { readSmidrYaml } from './smidr-yaml.js';
import { YamlReader } from './yaml-reader.js';

export type { ConfAssignment } from '../bitbake/conf-line.js';
export { DEFAULT_DIRECTORIES } from './directories-yaml.js';
export { CONFIG_KEYS, type ConfigSection } from './keys.js';
export type { OverrideField, OverrideNaming } from './overrides.js';
export { BASE_PROVIDERS, POKY_GIT_URL } from './smidr-yaml.js';

/** Where a layer's repository comes from. */
export type LayerSource =
  | {
      kind: 'git';
      url: string;
      branch?: string;
      tag?: string;
      commit?: string;
      /** The branch was not written: it follows yocto_series, and `<series>-*` is tried when it is missing. */
      branchFromSeries?: boolean;
    }
  /** The repository under test itself (or a directory in it), at its current commit. */
  | { kind: 'path'; path: string };

export interface LayerConfig {
  name: string;
  source: LayerSource;
  /**
   * Directories inside the repository that are BitBake layers (hold conf/layer.conf), relative to
   * the repository root; '.' is the root itself. Undefined: every directory holding
   * conf/layer.conf, found after checkout.
   */
  sublayers?: string[];
  /** YAML line of the layer entry, for errors found after checkout. */
  line?: number;
  /** kas include priority of a sublayer (higher: earlier in BBLAYERS); unset is 0. */
  priorities?: Record<string, number>;
  /** Patches applied to the checkout (kas `patches`), in order; a patched checkout is its own store entry. */
  patches?: LayerPatch[];
}

/** One kas patch entry: a patch file or a quilt directory (with `series`) in a repository of the project. */
export interface LayerPatch {
  id: string;
  /** Name of the layer whose checkout holds the patch. */
  repo: string;
  /** Relative to that checkout. */
  path: string;
}

export interface BuildConfig {
  /** Absolute path of the config file, and its directory (relative paths resolve against it). */
  file: string;
  dir: string;
  name: string;
  description?: string;
  yoctoSeries?: string;
  machine: string;
  /** Undefined: 'poky' when a meta-poky layer is present, else 'nodistro' (decided after checkout). */
  distro?: string;
  targets: string[];
  layers: LayerConfig[];
  localConf: ConfAssignment[];
  bitbakeArgs: string[];
  /** PARALLEL_MAKE value, e.g. "-j 8". */
  parallelMake?: string;
  bbNumberThreads?: number;
  /**
   * Persistent directories for local runs and self-hosted runners; absolute, `~` expanded. The
   * optional ones are upstream Smidr's: per-build TMPDIRs go under `tmp`, build directories under
   * `build`, a copy of each build's deploy output under `deploy`; `source` is DL_DIR when
   * `downloads` is not set.
   */
  directories: {
    downloads: string;
    sstate: string;
    layers: string;
    tmp?: string;
    build?: string;
    deploy?: string;
    source?: string;
  };
  container: { engine: ContainerEngine; image: string; memory?: string; cpuCount?: number; entrypoint?: string[] };
  /** base.provider as written: a label (poky alone adds a layer). */
  provider?: string;
  /** Conf lines the config's settings ask for (packages, features, advanced, build.extra_*), before local_conf. */
  settingsConf?: ConfAssignment[];
  /** Undefined: auto, a private hash server per build with its DB cached beside sstate. */
  hashEquivalence?: HashEquivalence;
  /** advanced.build_timeout: the time budget, as the stop-after input gives it. */
  buildTimeoutMinutes?: number;
  /** File name patterns selecting files of the deploy directory for the artifacts output. */
  artifacts?: string[];
  /** Keys read and ignored, with where they are: each is logged once as a warning. */
  warnings?: string[];
  /**
   * Conf text from a kas project (local_conf_header, bblayers_conf_header), written as is: it
   * comes from the repository, like its recipes; values from inputs never reach it.
   */
  confText?: { localConf: string; bblayersConf: string };
  /** Variables passed into BitBake's environment (kas `env`): name → default, null = only when set. */
  passEnv?: Record<string, string | null>;
  /** Set when the config is a kas project. */
  kas?: KasProject;
  /** Yocto's buildtools for container-engine none, as kas's `buildtools:` key names them. */
  buildtools?: BuildtoolsConfig;
}

export interface BuildtoolsConfig {
  version: string;
  sha256sum?: string;
  baseUrl?: string;
  filename?: string;
}

/** advanced.bb_hashserve: `auto` (the default), `none`, or a shared server's host:port. */
export type HashEquivalence = { mode: 'auto' } | { mode: 'none' } | { mode: 'server'; address: string };

/** Values that override the file: the action's inputs, or the CLI's flags. Unset means "keep". */
export interface ConfigOverrides {
  targets?: string[];
  machine?: string;
  distro?: string;
  bitbakeArgs?: string[];
  localConf?: string[];
  containerImage?: string;
  containerEngine?: string;
  /** Yocto's buildtools release for container-engine none, and its installer's SHA-256. */
  buildtools?: string;
  buildtoolsSha256?: string;
}
/** How a config is read: who names the overrides in messages, and where `~` is. */
export interface ConfigOptions {
  naming: OverrideNaming;
  /** Expands `~`; default: the user's home directory. */
  home?: string;
  /** Where `${VAR}` references take their values; default: the process environment. */
  env?: Environment;
}

/**
 * Reads and parses a config file. A missing file is a ConfigError that says how to provide one.
 * See parseConfig for everything else.
 */
export function loadConfig(file: string, overrides: ConfigOverrides, options: ConfigOptions): BuildConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      throw new ConfigError(
        `${file}: config file not found; expected a Smidr config there: create it (see docs/config.md) or set ${options.naming.mention('config')} to its path`,
      );
    }
    if (err.code === 'EISDIR')
      throw new ConfigError(`${file}: is a directory; expected the path of a Smidr config file (smidr.yaml)`);
    throw new ConfigError(
      `${file}: cannot read the config file (${err.code ?? err.message}); expected a readable file`,
    );
  }
  return parseConfig(text, file, overrides, options);
}

/**
 * Parses and validates smidr.yaml text and lays the overrides over it. Reads no file; `${VAR}`
 * references take their values from options.env (default: the process environment).
 *
 * Every problem found is reported at once: the ConfigError's message holds one line per
 * problem, each `<file>:<line>: <field>: <what is wrong>; expected <what>`, or
 * `<override>: …` for an override, named as options.naming says. Checks that combine fields (a
 * machine and a target must exist somewhere) run only when the fields themselves are valid, so
 * one mistake gives one line.
 */
export function parseConfig(
  text: string,
  file: string,
  overrides: ConfigOverrides,
  options: ConfigOptions,
): BuildConfig {
  const abs = path.resolve(file);
  const r = new YamlReader(text, file);
  // In local_conf, `${…}` is BitBake's own expansion (RDEPENDS:${PN}), never the environment's.
  const top = r.parse(options.env ?? process.env, ['build.local_conf']);
  const config =
    top === undefined
      ? undefined
      : readSmidrYaml(
          r,
          top,
          { dir: path.dirname(abs), home: options.home ?? os.homedir() },
          overrides,
          options.naming,
        );
  r.throwProblems();
  return { ...config!, file: abs, ...(r.warnings.length > 0 && { warnings: r.warnings }) };
}

/** Logs the config's warnings, each once. */
export function logConfigWarnings(config: BuildConfig): void {
  for (const w of new Set(config.warnings ?? [])) log.warning(w);
}

/**
 * Whether the config turns BitBake's network off: BB_NO_NETWORK = "1" from advanced.bb_no_network,
 * local_conf or a kas header, read as written (a later line that unsets it is not followed).
 */
export function forbidsNetwork(config: BuildConfig): boolean {
  const lines = [...(config.settingsConf ?? []), ...config.localConf];
  if (lines.some((a) => a.variable === 'BB_NO_NETWORK' && a.value.trim() === '1')) return true;
  return /^[ \t]*BB_NO_NETWORK[ \t]*[?:]*=[ \t]*(["'])1\1/m.test(config.confText?.localConf ?? '');
}
