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
import type { OverrideNaming } from './overrides.js';
import { readSmidrYaml } from './smidr-yaml.js';
import { YamlReader } from './yaml-reader.js';

export type { ConfAssignment } from '../bitbake/conf-line.js';
export { CONFIG_KEYS, type ConfigSection } from './keys.js';
export type { OverrideField, OverrideNaming } from './overrides.js';
export { BASE_PROVIDERS, DEFAULT_DIRECTORIES, POKY_GIT_URL } from './smidr-yaml.js';

/** Where a layer's repository comes from. */
export type LayerSource =
  | { kind: 'git'; url: string; branch?: string; tag?: string; commit?: string }
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
  /** Persistent directories for local runs and self-hosted runners; absolute, `~` expanded. */
  directories: { downloads: string; sstate: string; layers: string };
  container: { engine: ContainerEngine; image: string; memory?: string; cpuCount?: number };
  /** Yocto's buildtools for container-engine none, as kas's `buildtools:` key names them. */
  buildtools?: BuildtoolsConfig;
}

export interface BuildtoolsConfig {
  version: string;
  sha256sum?: string;
  baseUrl?: string;
  filename?: string;
}

/** Values that override the file: the action's inputs, or the CLI's flags. Unset means "keep". */
export interface ConfigOverrides {
  targets?: string[];
  machine?: string;
  distro?: string;
  bitbakeArgs?: string[];
  localConf?: string[];
  containerImage?: string;
  containerEngine?: string;
}
/** How a config is read: who names the overrides in messages, and where `~` is. */
export interface ConfigOptions {
  naming: OverrideNaming;
  /** Expands `~`; default: the user's home directory. */
  home?: string;
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
 * Parses and validates smidr.yaml text and lays the overrides over it. Pure: reads no file and
 * no environment.
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
  const top = r.parse();
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
  return { ...config!, file: abs };
}
