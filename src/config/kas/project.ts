/**
 * A merged kas project mapped onto the action's BuildConfig: what kas would build (machine,
 * distro, targets, task, layers, env, conf snippets), validated, every key the action does not
 * act on named in a warning. Values from the kas files are trusted as kas trusts them: the conf
 * snippets come from the repository, like its recipes, and are written as they are.
 */
import * as os from 'node:os';
import * as path from 'node:path';

import { DEFAULT_CONTAINER_IMAGE } from '../../action/constants.js';
import { BUILDTOOLS_RULES, type BuildtoolsKey } from '../buildtools-yaml.js';
import type { BuildConfig, BuildtoolsConfig, ConfAssignment } from '../config.js';
import { BITBAKE_NAME, BITBAKE_TARGET, YOCTO_SERIES } from '../names.js';
import { isDict, type KasDict, type KasFiles } from './files.js';
import { KasProblems } from './problems.js';
import { type KasRepo, kasRepos, layersOf } from './repos.js';

/** kas's defaults (kas/schema-kas.json). */
export const KAS_DEFAULTS = { machine: 'qemux86-64', distro: 'nodistro', target: 'core-image-minimal', task: 'build' };

/** Top-level keys the action acts on; any other is one warning naming it. */
const KNOWN_KEYS = [
  'header',
  'build_system',
  'defaults',
  'overrides',
  'machine',
  'distro',
  'env',
  'target',
  'task',
  'repos',
  'bblayers_conf_header',
  'local_conf_header',
  'buildtools',
];

/**
 * Environment variables the action itself sets for BitBake: a kas `env` entry may not replace
 * them (kas-container has its own list; these are ours).
 */
const MANAGED_ENV = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'BUILDDIR',
  'BBPATH',
  'BBSERVER',
  'BB_ENV_PASSTHROUGH',
  'BB_ENV_PASSTHROUGH_ADDITIONS',
  'BB_ENV_EXTRAWHITE',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
]);

/** What a kas BuildConfig keeps beyond smidr.yaml's fields: for `smidr check` and to finish includes. */
export interface KasProject {
  /** The files as given (`a.yml:b.yml`), absolute. */
  topFiles: string[];
  /** Root of the repository holding them. */
  topRepo: string;
  read: KasFiles;
  repos: KasRepo[];
  task: string;
  /** The `buildtools:` key, read; the inputs and the container engine decide whether it is used (load.ts). */
  buildtools?: { config: BuildtoolsConfig; where: string };
  /** Reads the project again with more repositories checked out, the inputs laid over it as before. */
  reload?: (repoDirs: ReadonlyMap<string, string>) => BuildConfig;
}

/** What the process environment may set, as kas reads it (KAS_MACHINE, …, and `env` values). */
export type KasEnv = Record<string, string | undefined>;

/**
 * The BuildConfig of a merged kas project, before the action's inputs are laid over it. Throws
 * nothing: problems are in the returned errors, warnings to be logged once.
 */
export function kasProject(
  read: KasFiles,
  topFiles: string[],
  topRepo: string,
  env: KasEnv,
  home = os.homedir(),
): { config?: BuildConfig; errors: string[]; warnings: string[] } {
  const r = new KasProblems(read.files);
  const m = read.merged;
  for (const key of Object.keys(m)) if (!KNOWN_KEYS.includes(key)) r.unsupported([key]);
  buildSystem(m, r);
  const machine = bitbakeName(
    r,
    'machine',
    env.KAS_MACHINE ?? r.string(['machine'], m.machine) ?? KAS_DEFAULTS.machine,
  );
  const distro = bitbakeName(r, 'distro', env.KAS_DISTRO ?? r.string(['distro'], m.distro) ?? KAS_DEFAULTS.distro);
  const targets = kasTargets(m, env, r);
  const task = env.KAS_TASK ?? r.string(['task'], m.task) ?? KAS_DEFAULTS.task;
  if (!/^(do_)?[A-Za-z0-9_][A-Za-z0-9_+.-]*$/.test(task))
    r.error(['task'], `"${task}" is not a task name`, 'a BitBake task such as build, populate_sdk or fetch');
  const repos = kasRepos(m, topRepo, r);
  const passEnv = kasEnv(m.env, r);
  const localText = confText(m, 'local_conf_header', r);
  const bblayersText = confText(m, 'bblayers_conf_header', r);
  const buildtools = kasBuildtools(m.buildtools, r);
  const localConf: ConfAssignment[] = [];
  const multiconfigs = [...new Set(targets.filter((t) => /^(mc|multiconfig):/.test(t)).map((t) => t.split(':')[1]!))];
  if (multiconfigs.length > 0)
    localConf.push({ variable: 'BBMULTICONFIG', operator: '?=', value: multiconfigs.join(' ') });
  if (r.errorCount > 0) return { errors: r.errors, warnings: r.warnings };
  const project: KasProject = {
    topFiles,
    topRepo,
    read,
    repos,
    task,
    ...(buildtools && { buildtools }),
  };
  const config: BuildConfig = {
    file: topFiles[0]!,
    dir: topRepo,
    name: path.basename(topFiles[0]!, path.extname(topFiles[0]!)),
    yoctoSeries: yoctoSeries(repos, m),
    machine: machine!,
    distro: distro!,
    targets,
    layers: layersOf(repos, topRepo),
    localConf,
    bitbakeArgs: task === 'build' || task === 'do_build' ? [] : ['-c', task],
    directories: {
      downloads: path.join(home, '.smidr', 'downloads'),
      sstate: path.join(home, '.smidr', 'sstate-cache'),
      layers: path.join(home, '.smidr', 'layers'),
    },
    container: { engine: 'docker', image: DEFAULT_CONTAINER_IMAGE },
    confText: { localConf: localText, bblayersConf: bblayersText },
    ...(Object.keys(passEnv).length > 0 && { passEnv }),
    kas: project,
  };
  return { config, errors: [], warnings: r.warnings };
}

function buildSystem(m: KasDict, r: KasProblems): void {
  const bs = m.build_system;
  if (bs === undefined || bs === 'openembedded' || bs === 'oe') return;
  if (typeof bs === 'string' && bs.startsWith('isar'))
    r.error(
      ['build_system'],
      `${bs} is not supported: isar builds Debian images with sbuild and mmdebstrap in a privileged container, which the action's builder container is not`,
      'openembedded (or oe); build isar projects with kas-container',
    );
  else r.error(['build_system'], `${JSON.stringify(bs)} is not a build system`, 'openembedded or oe');
}

function bitbakeName(r: KasProblems, key: 'machine' | 'distro', value: string): string | undefined {
  if (BITBAKE_NAME.test(value)) return value;
  return r.error(
    [key],
    `"${value}" is not a valid ${key.toUpperCase()} name`,
    'letters, digits and . _ + - (starting with a letter or digit)',
  );
}

function kasTargets(m: KasDict, env: KasEnv, r: KasProblems): string[] {
  const fromEnv = (env.KAS_TARGET ?? '').split(/\s+/).filter(Boolean);
  let raw: unknown[];
  if (fromEnv.length > 0) raw = fromEnv;
  else if (m.target === undefined) raw = [KAS_DEFAULTS.target];
  else raw = Array.isArray(m.target) ? m.target : [m.target];
  const out: string[] = [];
  for (const [i, t] of raw.entries()) {
    const keys = Array.isArray(m.target) ? ['target', String(i)] : ['target'];
    const s = r.string(keys, t);
    if (s === undefined) continue;
    if (!BITBAKE_TARGET.test(s))
      r.error(keys, `"${s}" is not a valid target`, 'a recipe or image name, optionally mc:<config>:<name>');
    else if (!out.includes(s)) out.push(s);
  }
  if (out.length === 0 && r.errorCount === 0) r.error(['target'], 'is an empty list', 'at least one target');
  return out;
}

function kasEnv(value: unknown, r: KasProblems): Record<string, string | null> {
  if (value === undefined || value === null) return {};
  if (!isDict(value)) {
    r.error(['env'], 'is not a mapping', 'a mapping of variable names to default values (or nothing)');
    return {};
  }
  const out: Record<string, string | null> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      r.error(['env', name], 'is not an environment variable name', 'letters, digits and _');
    else if (MANAGED_ENV.has(name) || name.startsWith('SMIDR_'))
      r.error(['env', name], 'is set by the action for BitBake', 'another variable name');
    else if (/^(ACTIONS_|INPUT_|GITHUB_TOKEN)/.test(name))
      r.error(
        ['env', name],
        "is the runner's own, and the runner's secrets never reach BitBake",
        'another variable name',
      );
    else if (v !== null && typeof v !== 'string')
      r.error(
        ['env', name],
        `${JSON.stringify(v)} is not a string`,
        'a default value in quotes, or nothing (only passed when set)',
      );
    else if (typeof v === 'string' && v.includes('\0'))
      r.error(['env', name], 'contains a NUL character', 'a text value');
    else out[name] = v;
  }
  return out;
}

/**
 * kas's conf header (`_get_conf_header`): every named snippet, sorted by name, as `# name` and
 * its text. A later file's snippet of the same name replaced the earlier one in the merge.
 */
export function confText(m: KasDict, key: 'local_conf_header' | 'bblayers_conf_header', r: KasProblems): string {
  const value = m[key];
  if (value === undefined || value === null) return '';
  if (!isDict(value)) {
    r.error([key], 'is not a mapping', 'a mapping of snippet names to conf text');
    return '';
  }
  let text = '';
  for (const name of Object.keys(value).sort()) {
    const snippet = value[name];
    if (typeof snippet !== 'string') {
      r.error([key, name], `${JSON.stringify(snippet)} is not text`, 'conf lines as a string, e.g. a | block');
      continue;
    }
    if (snippet.includes('\0')) r.error([key, name], 'contains a NUL character', 'conf text');
    text += `# ${name}\n${snippet}\n`;
  }
  return text;
}

/** The series, when the core repository's branch names one (for cache keys and the summary). */
function yoctoSeries(repos: KasRepo[], m: KasDict): string | undefined {
  const core = repos.find((x) => /^(poky|openembedded-core|oe-core)$/.test(x.name));
  const defaults = isDict(m.defaults) && isDict(m.defaults.repos) ? m.defaults.repos.branch : undefined;
  const branch = core?.branch ?? (typeof defaults === 'string' ? defaults : undefined);
  return branch !== undefined && YOCTO_SERIES.test(branch) && branch !== 'main' ? branch : undefined;
}

/** kas's `buildtools:` key, read with the rules smidr.yaml's section uses; unknown keys are one warning each. */
function kasBuildtools(value: unknown, r: KasProblems): KasProject['buildtools'] {
  if (value === undefined || value === null) return undefined;
  if (!isDict(value)) return r.error(['buildtools'], 'is not a mapping', '{ version, sha256sum, base_url, filename }');
  const read = (key: BuildtoolsKey): string | undefined => {
    const rule = BUILDTOOLS_RULES[key];
    const v = r.string(['buildtools', key], value[key]);
    if (v === undefined || rule.test(v)) return v;
    return r.error(['buildtools', key], `${JSON.stringify(v)} is not ${rule.noun}`, rule.expected);
  };
  for (const key of Object.keys(value)) if (!(key in BUILDTOOLS_RULES)) r.unsupported(['buildtools', key]);
  const version = read('version');
  if (value.version === undefined)
    r.error(['buildtools', 'version'], 'is missing', 'the Yocto release whose buildtools to use, e.g. 5.0.8');
  const sha256sum = read('sha256sum')?.toLowerCase();
  const baseUrl = read('base_url');
  const filename = read('filename');
  if (version === undefined) return undefined;
  return { config: { version, sha256sum, baseUrl, filename }, where: r.where(['buildtools']) };
}
