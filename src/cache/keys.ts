/**
 * Cache keys. The default layout (`parts`, parts.ts) keys each part by its lineage: the shared
 * sstate by series, distro and build host, the machine's by series, distro and MACHINE, downloads
 * by series; the layers and conf hash only tells a restore whether what it found was saved from
 * the same revisions (`exact`) or older ones (`partial`). The single-entry layout (the design
 * before it, kept selectable with SMIDR_CACHE_LAYOUT=single so the benchmarks can compare) builds
 * keys in layers from general to specific so a restore falls back step by step. Keys roll: each
 * run saves under a new key, because an entry can never be overwritten.
 */
import { createHash } from 'node:crypto';

import type { ConfAssignment } from '../config/config.js';
import type { Lineage, PartName } from './parts.js';

export interface KeyInputs {
  /** The user's prefix (the cache-key-prefix input): change it to start over. */
  userPrefix: string;
  series: string;
  distro: string;
  machine: string;
  targets: string[];
  /** Name and full commit of every layer. */
  layers: { name: string; commit: string }[];
  /** Conf lines that may change task hashes. */
  localConf: ConfAssignment[];
  /** Conf text written as is (a kas project's conf snippets): any change may change task hashes. */
  confText?: string;
  /** Unique per run and attempt: `<run id>-<attempt>`. */
  run: string;
  /**
   * What native objects depend on besides series and distro: the builder image in a container,
   * else the runner's OS (NATIVELSBSTRING is only known once BitBake ran).
   */
  buildHost?: string;
  layout?: CacheLayout;
}

/** `parts`: shared, machine and downloads lineages of bases and deltas; `single`: one entry per cache per run. */
export type CacheLayout = 'parts' | 'single';

/** The internal switch for the benchmarks' side-by-side comparison; not an input. */
export const CACHE_LAYOUT_ENV = 'SMIDR_CACHE_LAYOUT';

export function cacheLayout(env: NodeJS.ProcessEnv): CacheLayout {
  return env[CACHE_LAYOUT_ENV] === 'single' ? 'single' : 'parts';
}

export interface CacheKey {
  key: string;
  /** Most specific first; each is a prefix of the keys it should match. */
  restoreKeys: string[];
}

export interface CacheKeys {
  /** Absent in step states of the single-entry layout's releases: that layout. */
  layout?: CacheLayout;
  /** The parts layout: each part's lineage, and what this run's keys end in. */
  lineages?: Record<PartName, Lineage>;
  /** `<run>` of the keys this run saves. */
  run?: string;
  /** The layers and conf hash this run's keys end in. */
  state?: string;
  /** The single-entry layout's keys. */
  downloads: CacheKey;
  sstate: CacheKey;
  /** Key parts as shown in the log, so a user can see why a key changed. */
  parts: Record<string, string>;
}

/** Bumped when the archive layout changes, so old entries are not restored into a new layout. */
const LAYOUT_VERSION: Record<CacheLayout, string> = { single: 'v1', parts: 'v2' };

/**
 * Variables that change how fast or where BitBake works but not what it builds: keeping them out
 * of the key lets a tuning change keep its cache.
 */
const NOT_IN_SIGNATURES = new Set([
  'BB_NUMBER_THREADS',
  'PARALLEL_MAKE',
  'BB_DISKMON_DIRS',
  'BB_GENERATE_MIRROR_TARBALLS',
  'BB_NO_NETWORK',
  'SSTATE_MIRRORS',
  'PREMIRRORS',
  'MIRRORS',
  'BB_HASHSERVE_UPSTREAM',
  'CONNECTIVITY_CHECK_URIS',
  'BB_SERVER_TIMEOUT',
]);

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export function layersHash(layers: { name: string; commit: string }[]): string {
  return hash(
    layers
      .map((l) => `${l.name} ${l.commit}`)
      .sort()
      .join('\n'),
  );
}

export function confHash(localConf: ConfAssignment[], targets: string[], confText = ''): string {
  const lines = localConf
    .filter((a) => !NOT_IN_SIGNATURES.has(a.variable.split(/[:[]/)[0]!))
    .map((a) => `${a.variable} ${a.operator} ${a.value}`);
  return hash([...lines, `targets ${[...targets].sort().join(' ')}`, ...(confText ? [confText] : [])].join('\n'));
}

/** A key may not contain commas and is at most 512 characters. */
function clean(part: string): string {
  return part.replace(/[^A-Za-z0-9._+-]+/g, '_').slice(0, 60);
}

export function cacheKeys(k: KeyInputs): CacheKeys {
  const layout = k.layout ?? 'parts';
  const prefix = ['smidr', LAYOUT_VERSION[layout], ...(k.userPrefix ? [clean(k.userPrefix)] : [])].join('-');
  const series = clean(k.series);
  const distro = clean(k.distro);
  const machine = clean(k.machine);
  const lh = layersHash(k.layers);
  const ch = confHash(k.localConf, k.targets, k.confText);
  const run = clean(k.run);

  // Downloads do not depend on the machine: every matrix leg restores the same entries.
  const dl = [`${prefix}-downloads-${series}-${lh}-`, `${prefix}-downloads-${series}-`, `${prefix}-downloads-`];
  const ss = [
    `${prefix}-sstate-${series}-${distro}-${machine}-${lh}-${ch}-`,
    `${prefix}-sstate-${series}-${distro}-${machine}-${lh}-`,
    `${prefix}-sstate-${series}-${distro}-${machine}-`,
    `${prefix}-sstate-${series}-${distro}-`,
  ];
  const host = clean(k.buildHost ?? 'runner');
  // '@' ends a lineage: clean() never lets it into a field, so no lineage is a prefix of another
  // (qemux86@ is not one of qemux86-64@), and a deletion by lineage prefix stays in its lineage.
  const lineages: Record<PartName, Lineage> = {
    shared: `${prefix}-sstate-shared-${series}-${distro}-${host}@`,
    machine: `${prefix}-sstate-machine-${series}-${distro}-${machine}@`,
    downloads: `${prefix}-downloads-${series}@`,
  };
  return {
    layout,
    ...(layout === 'parts' ? { lineages, run, state: hash(`${lh} ${ch}`).slice(0, 12) } : {}),
    downloads: { key: `${dl[0]}${machine}-${run}`, restoreKeys: dl },
    sstate: { key: `${ss[0]}${run}`, restoreKeys: ss },
    parts: {
      prefix,
      series,
      distro,
      machine,
      ...(layout === 'parts' ? { 'build host': host } : {}),
      'layers hash': `${lh} (${k.layers.map((l) => `${l.name}@${l.commit.slice(0, 12)}`).join(', ')})`,
      'config hash': `${ch} (targets and local_conf lines that change task hashes)`,
      run,
    },
  };
}

/** How a restored key relates to the wanted one: same layer revisions, an older entry, or none. */
export function matchKind(wanted: CacheKey, restored: string | undefined): 'exact' | 'partial' | 'miss' {
  if (!restored) return 'miss';
  return restored.startsWith(wanted.restoreKeys[0]!) ? 'exact' : 'partial';
}
