/**
 * Renders the conf files the action owns: conf/bblayers.conf and conf/auto.conf, every line through
 * conf-line.ts. Names were validated with the config, and are checked again here because a conf
 * file is where a bad value would turn into code.
 */
import type { HashEquivalence } from '../config/config.js';
import { BITBAKE_NAME } from '../config/names.js';
import { type ConfAssignment, confLine, renderAssignment } from './conf-line.js';

/** Paths as BitBake sees them (container paths, or host paths when running without one). */
export interface BitbakePaths {
  topdir: string;
  tmpdir: string;
  downloads: string;
  sstate: string;
  hashserv: string;
  layers: string[];
}

export interface AutoConfSettings {
  machine: string;
  distro: string;
  paths: BitbakePaths;
  /** BitBake >= 2.18 reads BB_HASHSERVE_DB_DIR; older versions put hashserv.db in PERSISTENT_DIR. */
  hashservDbDirSupported: boolean;
  bbNumberThreads?: number;
  parallelMake?: string;
  /** BB_PRESSURE_MAX_MEMORY: BitBake starts no new task while memory stalls exceed it. */
  pressureMaxMemory?: number;
  /** INHERIT += "rm_work", keeping the work directories of the excluded recipes. */
  rmWork?: { exclude: string[] };
  /** Set when the layers include meta-poky, whose sanity check wants the bblayers version. */
  pokyBblayersVersion?: string;
  localConf: ConfAssignment[];
  /** A shared hash server's assignments (the hashserve input or advanced.bb_hashserve: host:port). */
  hashServe?: Record<string, string>;
  /** The remote cache's mirror settings (SSTATE_MIRRORS, PREMIRRORS), before local_conf so it can override them. */
  mirrors?: ConfAssignment[];
  /** Lines the config's settings ask for (packages, features, advanced), written before local_conf. */
  settingsConf?: ConfAssignment[];
  /** Default: auto. */
  hashEquivalence?: HashEquivalence;
}

function name(kind: string, value: string): string {
  if (!BITBAKE_NAME.test(value)) throw new Error(`not a valid ${kind}: ${JSON.stringify(value)}`);
  return value;
}

/** OE-core's local.conf.sample values, without /tmp: the host's /tmp is not the build's. */
const DISKMON_DIRS = ['TMPDIR', 'DL_DIR', 'SSTATE_DIR']
  .flatMap((dir) => [`STOPTASKS,\${${dir}},1G,100K`, `HALT,\${${dir}},100M,1K`])
  .join(' ');

const HEADER = '# Written by smidr/build-action for this build; it is rewritten on every run.\n';

/** `header`: a kas project's bblayers_conf_header, first as kas writes it; it comes from the repository, as is. */
export function renderBblayersConf(layers: string[], pokyBblayersVersion?: string, header = ''): string {
  const lines = [HEADER + header];
  if (pokyBblayersVersion) lines.push(confLine('POKY_BBLAYERS_CONF_VERSION', '=', pokyBblayersVersion));
  lines.push(confLine('BBPATH', '=', '${TOPDIR}'), confLine('BBFILES', '?=', ''), 'BBLAYERS ?= " \\');
  for (const layer of layers) {
    // One path per continued line: a quote, blank or backslash in it would end the value early.
    if (!/^[A-Za-z0-9_./+@%=,~-]+$/.test(layer))
      throw new Error(`layer path cannot be written to bblayers.conf: ${JSON.stringify(layer)}`);
    lines.push(`    ${layer} \\`);
  }
  lines.push('"', '');
  return lines.join('\n');
}

/**
 * conf/local.conf of a kas project: its local_conf_header snippets, as kas writes them. The text
 * comes from the project's repository and is trusted as its recipes are (it may hold any BitBake
 * syntax); nothing from an input reaches it. MACHINE and DISTRO are in auto.conf.
 */
export function renderKasLocalConf(text: string): string {
  return `${HEADER}# local_conf_header of the kas project, as kas writes it; the action's settings are in auto.conf.\n${text}`;
}

export function renderAutoConf(s: AutoConfSettings): string {
  const { paths } = s;
  const lines = [
    HEADER,
    confLine('MACHINE', '=', name('MACHINE', s.machine)),
    confLine('DISTRO', '=', name('DISTRO', s.distro)),
    '',
    '# Each build has its own TMPDIR; downloads, sstate and the hash-equivalence DB are shared.',
    confLine('TMPDIR', '=', paths.tmpdir),
    confLine('DL_DIR', '=', paths.downloads),
    confLine('SSTATE_DIR', '=', paths.sstate),
    '',
    ...hashEquivalenceLines(s),
  ];
  if (s.bbNumberThreads !== undefined || s.parallelMake !== undefined) lines.push('');
  if (s.bbNumberThreads !== undefined) lines.push(confLine('BB_NUMBER_THREADS', '=', String(s.bbNumberThreads)));
  if (s.parallelMake !== undefined) lines.push(confLine('PARALLEL_MAKE', '=', s.parallelMake));
  if (s.pressureMaxMemory !== undefined)
    lines.push(confLine('BB_PRESSURE_MAX_MEMORY', '=', String(s.pressureMaxMemory)));
  lines.push(
    '',
    '# A full disk ends well: BitBake stops starting tasks below 1 GB free and halts below 100 MB.',
    confLine('BB_DISKMON_DIRS', '?=', DISKMON_DIRS),
  );
  if (s.rmWork) {
    lines.push('', "# Each recipe's work directory is deleted once it is built: TMPDIR stays small.");
    lines.push(confLine('INHERIT', '+=', 'rm_work'));
    const exclude = s.rmWork.exclude.map((r) => name('recipe name', r));
    if (exclude.length > 0) lines.push(confLine('RM_WORK_EXCLUDE', '+=', exclude.join(' ')));
  }
  if (s.mirrors?.length) {
    lines.push('', "# Remote cache: BitBake fetches what it lacks from the action's read-through endpoint.");
    for (const a of s.mirrors) lines.push(renderAssignment(a));
  }
  if (s.settingsConf && s.settingsConf.length > 0) {
    lines.push('', "# smidr.yaml's packages, features and advanced settings.");
    for (const a of s.settingsConf) lines.push(renderAssignment(a));
  }
  if (s.localConf.length > 0) {
    lines.push('', '# local_conf from smidr.yaml and the local-conf input, in that order.');
    for (const a of s.localConf) lines.push(renderAssignment(a));
  }
  lines.push('');
  return lines.join('\n');
}

/** advanced.bb_hashserve: a private server whose DB lives beside sstate (auto), none, or a shared server. */
function hashEquivalenceLines(s: AutoConfSettings): string[] {
  const dbDir = s.hashservDbDirSupported
    ? confLine('BB_HASHSERVE_DB_DIR', '=', s.paths.hashserv)
    : confLine('PERSISTENT_DIR', '=', s.paths.hashserv);
  if (s.hashServe) {
    // Writers talk to the shared server; readers keep a local server with it as upstream.
    return [
      '# Hash equivalence through a shared bitbake-hashserv; the local DB lives beside sstate.',
      confLine('BB_SIGNATURE_HANDLER', '=', 'OEEquivHash'),
      ...Object.entries(s.hashServe).map(([k, v]) => confLine(k, '=', v)),
      dbDir,
    ];
  }
  const h = s.hashEquivalence ?? { mode: 'auto' };
  if (h.mode === 'none') {
    return [
      '# Hash equivalence is off (advanced.bb_hashserve: none).',
      confLine('BB_SIGNATURE_HANDLER', '=', 'OEBasicHash'),
      confLine('BB_HASHSERVE', '=', ''),
    ];
  }
  if (h.mode === 'server') {
    return [
      '# Hash equivalence through the shared server advanced.bb_hashserve names.',
      confLine('BB_SIGNATURE_HANDLER', '=', 'OEEquivHash'),
      confLine('BB_HASHSERVE', '=', h.address),
    ];
  }
  return [
    '# Hash equivalence: the DB lives beside sstate, so reuse survives a fresh workspace.',
    confLine('BB_SIGNATURE_HANDLER', '=', 'OEEquivHash'),
    confLine('BB_HASHSERVE', '=', 'auto'),
    dbDir,
  ];
}
