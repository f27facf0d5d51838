/** The CLI's flags: how they are spelled, read into overrides, and named in config errors. */
import { confLines, splitList } from '../action/inputs.js';
import type { ConfigOverrides, OverrideField, OverrideNaming } from '../config/config.js';

/** The flag each override comes from. */
const OVERRIDE_FLAGS: Record<OverrideField, string> = {
  config: '--config',
  targets: '--target',
  machine: '--machine',
  distro: '--distro',
  bitbakeArgs: '--bitbake-arg',
  localConf: '--local-conf',
  containerImage: '--container-image',
  containerEngine: '--container-engine',
  buildtools: '--buildtools',
  buildtoolsSha256: '--buildtools-sha256',
};

/** Config errors about an override name the flag: `--machine: …`. */
export const FLAG_NAMING: OverrideNaming = {
  label: (field) => OVERRIDE_FLAGS[field],
  mention: (field) => OVERRIDE_FLAGS[field],
};

/** The flags `smidr check` takes, in node:util parseArgs form: the overrides. */
export const CHECK_OPTIONS = {
  config: { type: 'string', short: 'c' },
  machine: { type: 'string', short: 'm' },
  target: { type: 'string', short: 't', multiple: true },
  distro: { type: 'string', short: 'd' },
  'local-conf': { type: 'string', short: 'l', multiple: true },
  'bitbake-arg': { type: 'string', short: 'a', multiple: true },
  'container-image': { type: 'string' },
  'container-engine': { type: 'string' },
  buildtools: { type: 'string' },
  'buildtools-sha256': { type: 'string' },
} as const;

/** The flags `smidr build` takes: the overrides, and where and how far to build. */
export const BUILD_OPTIONS = {
  ...CHECK_OPTIONS,
  'workspace-dir': { type: 'string' },
  'fetch-only': { type: 'boolean' },
  'clean-image': { type: 'boolean' },
} as const;

export interface OverrideFlags {
  machine?: string;
  target?: string[];
  distro?: string;
  'local-conf'?: string[];
  'bitbake-arg'?: string[];
  'container-image'?: string;
  'container-engine'?: string;
  buildtools?: string;
  'buildtools-sha256'?: string;
}

export function overridesFromFlags(values: OverrideFlags): ConfigOverrides {
  return {
    machine: values.machine,
    targets: values.target?.flatMap(splitList),
    distro: values.distro,
    localConf: values['local-conf']?.flatMap(confLines),
    bitbakeArgs: values['bitbake-arg'],
    containerImage: values['container-image'],
    containerEngine: values['container-engine'],
    buildtools: values.buildtools,
    buildtoolsSha256: values['buildtools-sha256'],
  };
}
