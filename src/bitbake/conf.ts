/**
 * Renders the conf files the action owns: conf/bblayers.conf and conf/auto.conf. Every value is
 * escaped for BitBake's double-quoted strings; names were validated by config.ts, and are checked
 * again here because a conf file is where a bad value would turn into code.
 */
import type { ConfAssignment } from '../config/config.js';
import { BITBAKE_NAME, CONF_VARIABLE } from '../config/names.js';

/** Paths as BitBake sees them (container paths, or host paths when running without one). */
export interface BitbakePaths {
  topdir: string;
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
  /** Set when the layers include meta-poky, whose sanity check wants the bblayers version. */
  pokyBblayersVersion?: string;
  localConf: ConfAssignment[];
}

/**
 * BitBake takes a value verbatim between its first and last quote: there are no escapes, and a
 * value with exactly one inner quote of the delimiting kind is a ParseError. So pick the quote
 * that keeps the value intact, and refuse what no quoting can carry: line breaks, inline Python
 * (`$` cannot be escaped) and a value with exactly one `"` and exactly one `'`.
 */
export function quote(value: string): string {
  if (/[\n\r\0]/.test(value)) throw new Error(`conf value contains a line break: ${JSON.stringify(value)}`);
  if (value.includes('${@')) throw new Error(`conf value contains inline Python: ${JSON.stringify(value)}`);
  const count = (c: string) => value.split(c).length - 1;
  if (count('"') !== 1) return `"${value}"`;
  if (count("'") !== 1) return `'${value}'`;
  throw new Error(
    `conf value has one double and one single quote, which BitBake cannot read in either quoting: ${JSON.stringify(value)}`,
  );
}

function assign(variable: string, operator: string, value: string): string {
  if (!CONF_VARIABLE.test(variable)) throw new Error(`not a conf variable name: ${JSON.stringify(variable)}`);
  return `${variable} ${operator} ${quote(value)}`;
}

function name(kind: string, value: string): string {
  if (!BITBAKE_NAME.test(value)) throw new Error(`not a valid ${kind}: ${JSON.stringify(value)}`);
  return value;
}

const HEADER = '# Written by smidr/build-action for this build; it is rewritten on every run.\n';

/** `header`: a kas project's bblayers_conf_header, first as kas writes it; it comes from the repository, as is. */
export function renderBblayersConf(layers: string[], pokyBblayersVersion?: string, header = ''): string {
  const lines = [HEADER + header];
  if (pokyBblayersVersion) lines.push(assign('POKY_BBLAYERS_CONF_VERSION', '=', pokyBblayersVersion));
  lines.push(assign('BBPATH', '=', '${TOPDIR}'), assign('BBFILES', '?=', ''), 'BBLAYERS ?= " \\');
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
    assign('MACHINE', '=', name('MACHINE', s.machine)),
    assign('DISTRO', '=', name('DISTRO', s.distro)),
    '',
    '# Each build has its own TMPDIR; downloads, sstate and the hash-equivalence DB are shared.',
    assign('TMPDIR', '=', `${paths.topdir}/tmp`),
    assign('DL_DIR', '=', paths.downloads),
    assign('SSTATE_DIR', '=', paths.sstate),
    '',
    '# Hash equivalence: the DB lives beside sstate, so reuse survives a fresh workspace.',
    assign('BB_SIGNATURE_HANDLER', '=', 'OEEquivHash'),
    assign('BB_HASHSERVE', '=', 'auto'),
    s.hashservDbDirSupported
      ? assign('BB_HASHSERVE_DB_DIR', '=', paths.hashserv)
      : assign('PERSISTENT_DIR', '=', paths.hashserv),
  ];
  if (s.bbNumberThreads !== undefined || s.parallelMake !== undefined) lines.push('');
  if (s.bbNumberThreads !== undefined) lines.push(assign('BB_NUMBER_THREADS', '=', String(s.bbNumberThreads)));
  if (s.parallelMake !== undefined) lines.push(assign('PARALLEL_MAKE', '=', s.parallelMake));
  if (s.localConf.length > 0) {
    lines.push('', '# local_conf from smidr.yaml and the local-conf input, in that order.');
    for (const a of s.localConf) lines.push(assign(a.variable, a.operator, a.value));
  }
  lines.push('');
  return lines.join('\n');
}
