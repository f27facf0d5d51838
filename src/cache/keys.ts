/**
 * Cache keys, built in layers from general to specific so a restore can fall back step by step:
 * a new layer revision starts from the newest sstate of the same machine, a new machine from the
 * newest sstate of the same series and distro (native tools are shared). Keys roll: each run
 * saves under a new key, because an entry can never be overwritten.
 */
import { createHash } from 'node:crypto';

import type { ConfAssignment } from '../config/config.js';

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
}

export interface CacheKey {
  key: string;
  /** Most specific first; each is a prefix of the keys it should match. */
  restoreKeys: string[];
}

export interface CacheKeys {
  downloads: CacheKey;
  sstate: CacheKey;
  /** Key parts as shown in the log, so a user can see why a key changed. */
  parts: Record<string, string>;
}

/** Bumped when the archive layout changes, so old entries are not restored into a new layout. */
const LAYOUT_VERSION = 'v1';

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
  const prefix = ['smidr', LAYOUT_VERSION, ...(k.userPrefix ? [clean(k.userPrefix)] : [])].join('-');
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
  return {
    downloads: { key: `${dl[0]}${machine}-${run}`, restoreKeys: dl },
    sstate: { key: `${ss[0]}${run}`, restoreKeys: ss },
    parts: {
      prefix,
      series,
      distro,
      machine,
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
