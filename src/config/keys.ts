/** The keys smidr.yaml accepts, section by section. */
import type { KnownKeys } from './yaml-reader.js';

/**
 * Every key smidr.yaml accepts, per mapping. The JSON Schema (schema/smidr.schema.json) must list
 * exactly these: a unit test holds the two together. `root` is the top level, `layer` one entry
 * of `layers:`; the others are the mappings of that name.
 */
export const CONFIG_KEYS = {
  root: [
    'name',
    'description',
    'yocto_series',
    'base',
    'directories',
    'layers',
    'build',
    'container',
    'packages',
    'features',
    'advanced',
    'artifacts',
    'cache',
    'buildtools',
  ],
  base: ['provider', 'machine', 'distro', 'version'],
  directories: ['downloads', 'sstate', 'layers', 'tmp', 'build', 'deploy', 'source'],
  layer: ['name', 'git', 'path', 'branch', 'tag', 'commit', 'sublayers'],
  build: [
    'image',
    'targets',
    'machine',
    'distro',
    'parallel_make',
    'bb_number_threads',
    'local_conf',
    'bitbake_args',
    'extra_packages',
    'extra_image_features',
    'package_classes',
    'inherit_classes',
    'sstate',
    'tmp',
    'deploy',
  ],
  container: ['engine', 'base_image', 'memory', 'cpu_count', 'entrypoint'],
  packages: ['classes'],
  features: ['extra_image_features', 'user_classes', 'inherit_classes'],
  advanced: [
    'bb_hashserve',
    'bb_signature_handler',
    'license_flags',
    'conf_version',
    'disk_monitoring',
    'qemu_sdl',
    'qemu_gtk',
    'accept_fsl_eula',
    'build_timeout',
    'sstate_mirrors',
    'premirrors',
    'bb_no_network',
    'bb_fetch_premirroronly',
  ],
  buildtools: ['version', 'sha256sum', 'base_url', 'filename'],
} as const;
export type ConfigSection = keyof typeof CONFIG_KEYS;

const SECTION_LABEL: Record<ConfigSection, string> = {
  root: 'the top level',
  base: 'base',
  directories: 'directories',
  layer: 'a layer',
  build: 'build',
  container: 'container',
  packages: 'packages',
  features: 'features',
  advanced: 'advanced',
  buildtools: 'buildtools',
};

/** The keys of a section, and where a key that is not there belongs instead. */
export function sectionKeys(section: ConfigSection): KnownKeys {
  return {
    keys: CONFIG_KEYS[section],
    label: SECTION_LABEL[section],
    elsewhere: (key) => {
      const owners = (Object.keys(CONFIG_KEYS) as ConfigSection[])
        .filter((s) => s !== section && s !== 'root' && (CONFIG_KEYS[s] as readonly string[]).includes(key))
        .map((s) => (s === 'layer' ? 'a layer entry' : `${s}:`));
      return owners.length > 0 ? `under ${owners.join(' or ')}` : undefined;
    },
  };
}
