/**
 * smidr.yaml's `directories:` (and upstream's build.sstate / tmp / deploy spellings): persistent
 * directories for local runs and self-hosted runners.
 */
import * as path from 'node:path';

import type { BuildConfig } from './config.js';
import { sectionKeys } from './keys.js';
import type { PathBase } from './layers-yaml.js';
import type { Entry, YamlReader } from './yaml-reader.js';

export const DEFAULT_DIRECTORIES = {
  downloads: '~/.smidr/downloads',
  sstate: '~/.smidr/sstate-cache',
  layers: '~/.smidr/layers',
} as const;

/**
 * directories:, and upstream's build.sstate / tmp / deploy, which name the same directories
 * (directories: wins when both are set). `source` is DL_DIR when `downloads` is not set, as upstream
 * has it.
 */
export function readDirectories(
  { r, dir, home }: PathBase & { r: YamlReader },
  entry: Entry | undefined,
  build: Map<string, Entry> | undefined,
): Partial<BuildConfig['directories']> {
  const dirs = entry
    ? r.mapping(
        entry.value,
        'directories',
        sectionKeys('directories'),
        'a mapping: { downloads, sstate, layers, tmp, build, deploy, source }',
      )
    : undefined;
  const base = { dir, home };
  const at = (key: string) => dirs?.get(key) ?? build?.get(key);
  const source = directory(r, dirs?.get('source'), undefined, base);
  const read = (key: keyof typeof DEFAULT_DIRECTORIES) => directory(r, at(key), DEFAULT_DIRECTORIES[key], base);
  const downloads = dirs?.get('downloads') || source === undefined ? read('downloads') : source;
  return {
    downloads,
    sstate: read('sstate'),
    layers: read('layers'),
    ...optional('tmp', directory(r, at('tmp'), undefined, base)),
    ...optional('build', directory(r, dirs?.get('build'), undefined, base)),
    ...optional('deploy', directory(r, at('deploy'), undefined, base)),
    ...optional('source', source),
  };
}

export function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/**
 * `~`, `~/x`, absolute, or relative to the config file's directory. A directory under `${TOPDIR}`
 * (BitBake's build directory, as upstream's examples write tmp and deploy) is the default: each
 * build's own directory for tmp and deploy, the shared one for downloads and sstate.
 */
function directory(
  r: YamlReader,
  e: Entry | undefined,
  fallback: string | undefined,
  base: PathBase,
): string | undefined {
  const expected = 'an absolute path, ~/… or a path relative to the config file';
  const raw = e ? r.singleLine(e, r.str(e, expected), expected) : fallback;
  if (raw === undefined) return undefined;
  if (raw.startsWith('${TOPDIR}') && e)
    return fallback === undefined ? undefined : directory(r, undefined, fallback, base);
  if (raw.trim() === '') return r.error(e!.value, e!.field, 'is blank', expected);
  if (raw.startsWith('$'))
    return r.error(e!.value, e!.field, `${JSON.stringify(raw)}: environment variables are not expanded`, expected);
  if (raw.startsWith('~') && raw !== '~' && !raw.startsWith('~/'))
    return r.error(e!.value, e!.field, `${JSON.stringify(raw)}: only ~ (your home) is expanded, not ~user`, expected);
  if (raw === '~' || raw.startsWith('~/')) return path.join(base.home, raw.slice(1));
  return path.resolve(base.dir, raw);
}
