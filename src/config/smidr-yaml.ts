/**
 * The rules of smidr.yaml, section by section, and how the sections and the overrides combine
 * into one BuildConfig. Reading and reporting go through YamlReader.
 */

import { isMap, type Node } from 'yaml';

import { CONTAINER_ENGINES, type ContainerEngine, DEFAULT_CONTAINER_IMAGE } from '../action/constants.js';
import { ASSIGNMENT_FORM, type ConfAssignment, parseConfAssignment } from '../bitbake/conf-line.js';
import { chooseBuildtools, readBuildtools } from './buildtools-yaml.js';
import type { BuildConfig, ConfigOverrides, LayerConfig } from './config.js';
import { optional, readDirectories } from './directories-yaml.js';
import { CONFIG_KEYS, sectionKeys } from './keys.js';
import { type PathBase, readLayers } from './layers-yaml.js';
import {
  BITBAKE_NAME,
  BITBAKE_TARGET,
  CONTAINER_IMAGE,
  isValidRefName,
  MEMORY,
  NAME_CHARS,
  POKY_VERSION,
  YOCTO_SERIES,
} from './names.js';
import { checkOverrides, type OverrideNaming, reportOverride } from './overrides.js';
import { readSettings, type Settings } from './settings-yaml.js';
import type { Entry, QuantityRule, YamlReader } from './yaml-reader.js';

/** Values of `base.provider`: `poky` adds a poky layer unless one is listed; `none` adds nothing. */
export const BASE_PROVIDERS = ['poky', 'none'] as const;
export const POKY_GIT_URL = 'https://git.yoctoproject.org/poky';

const PROJECT_NAME = 'a project name, e.g. name: my-project';

const positiveWhole = (expected: string): QuantityRule<number> => ({
  expected,
  form: /^-?[0-9]+(\.[0-9]+)?$/,
  noun: 'a number',
  parse: Number,
  refuse: (n) => (Number.isInteger(n) && n >= 1 ? undefined : 'is not a positive whole number'),
});
const CPU_COUNT: QuantityRule<number> = {
  expected: 'a positive number of CPUs, e.g. 4 or 1.5',
  form: /^-?[0-9]+(\.[0-9]+)?$/,
  noun: 'a number',
  parse: Number,
  refuse: (n) => (n > 0 ? undefined : 'is not a positive number'),
};
const MEMORY_SIZE: QuantityRule<string> = {
  expected: 'a memory limit: a number of bytes, or a number with b, k, m or g, e.g. 8g',
  form: MEMORY,
  noun: 'a memory size',
  parse: (s) => s,
  refuse: (s) => (/^0+[bkmg]?$/i.test(s) ? 'is zero' : undefined),
};

interface Context extends PathBase {
  r: YamlReader;
}

/** Reads the document's top node into a BuildConfig; undefined when any problem was reported. */
export function readSmidrYaml(
  r: YamlReader,
  top: Node | null,
  base: PathBase,
  overrides: ConfigOverrides,
  naming: OverrideNaming,
): Omit<BuildConfig, 'file'> | undefined {
  if (r.isEmpty(top)) {
    return r.error(1, '', 'the file is empty', `a mapping with at least name and layers (see docs/config.md)`);
  }
  if (!isMap(top)) {
    return r.error(top, '', `the top level ${r.describe(top)}`, `a mapping of keys: ${CONFIG_KEYS.root.join(', ')}`);
  }
  const c: Context = { r, ...base };
  const root = r.mapping(top, '', sectionKeys('root'), '')!;
  const project = readProject(r, top, root);
  const baseSection = readBase(c, root.get('base'));
  const layers = readLayers(r, root.get('layers'), base);
  followSeries(layers, project.yoctoSeries);
  addPokyLayer(c, layers, baseSection, root.get('base'), project.yoctoSeries, root.has('yocto_series'));
  const build = readBuild(c, root.get('build'));
  const directories = readDirectories(c, root.get('directories'), build.entries);
  const container = readContainer(c, root.get('container'));
  const buildtools = readBuildtools(c.r, root.get('buildtools'));
  const settings = readSettings(r, root, build.entries);
  const cache = root.get('cache');
  if (cache)
    r.warn(
      cache.keyNode,
      'cache',
      "ignored: the action's caches are set by its inputs (cache, cache-dir, …), and directories.downloads / sstate name the persistent directories",
    );
  const o = checkOverrides(overrides, naming, r);
  const engine = o.engine ?? container.engine ?? 'docker';
  const tools = chooseBuildtools(buildtools, o.buildtools, engine, naming);
  const btEntry = root.get('buildtools');
  if (tools.warning) r.warn(btEntry?.keyNode, 'buildtools', tools.warning);
  if (tools.error?.about === 'file') r.error(btEntry?.value, '', tools.error.what, tools.error.expected);
  else if (tools.error) reportOverride(r, naming, 'buildtools', tools.error.what, tools.error.expected);
  const machine = o.machine ?? build.machine ?? baseSection.machine;
  const targets = o.targets ?? build.targets;
  const machineFailed = build.machineFailed || baseSection.machineFailed || o.machineFailed;
  requireWhole(r, top, root, { machine, machineFailed, targets, layers }, naming);
  if (r.problemCount > 0) return undefined;
  return {
    dir: base.dir,
    name: project.name!,
    description: project.description,
    yoctoSeries: project.yoctoSeries,
    machine: machine!,
    distro: o.distro ?? build.distro ?? baseSection.distro,
    targets,
    layers,
    localConf: [...build.localConf, ...o.localConf],
    bitbakeArgs: [...build.bitbakeArgs, ...o.bitbakeArgs],
    parallelMake: build.parallelMake,
    bbNumberThreads: build.bbNumberThreads,
    directories: directories as BuildConfig['directories'],
    container: {
      engine,
      image: o.image ?? container.image ?? DEFAULT_CONTAINER_IMAGE,
      memory: container.memory,
      cpuCount: container.cpuCount,
      ...optional('entrypoint', container.entrypoint),
    },
    ...optional('provider', baseSection.provider),
    ...upstreamSettings(settings),
    ...optional('buildtools', tools.buildtools),
  };
}

/** The settings' fields, each only when set, so a seed config's BuildConfig stays as it was. */
function upstreamSettings(s: Settings): Partial<BuildConfig> {
  return {
    ...(s.conf.length > 0 && { settingsConf: s.conf }),
    ...optional('hashEquivalence', s.hashEquivalence),
    ...optional('buildTimeoutMinutes', s.buildTimeoutMinutes),
    ...(s.artifacts.length > 0 && { artifacts: s.artifacts }),
  };
}

/** A git layer given no branch, tag or commit follows yocto_series, as upstream resolves it. */
function followSeries(layers: LayerConfig[], series: string | undefined): void {
  if (series === undefined) return;
  for (const l of layers) {
    const s = l.source;
    if (s.kind === 'git' && s.branch === undefined && s.tag === undefined && s.commit === undefined) {
      s.branch = series;
      s.branchFromSeries = true;
    }
  }
}

function readProject(r: YamlReader, top: Node, root: Map<string, Entry>) {
  const nameEntry = root.get('name');
  const name = nameEntry
    ? r.singleLine(nameEntry, r.str(nameEntry, PROJECT_NAME), 'a single-line project name')
    : r.error(top, 'name', 'is missing', PROJECT_NAME);
  if (name !== undefined && name.trim() === '') r.error(nameEntry!.value, 'name', 'is blank', PROJECT_NAME);
  const description = root.get('description') ? r.str(root.get('description'), 'a text') : undefined;
  const yoctoSeries = r.matching(
    root.get('yocto_series'),
    (s) => YOCTO_SERIES.test(s) && isValidRefName(s),
    'a Yocto series name',
    'a release codename in lowercase, e.g. kirkstone, scarthgap, wrynose or master',
  );
  return { name, description, yoctoSeries };
}

/**
 * What the whole needs: a MACHINE, something to build, a layer. Checked only when the fields
 * themselves were valid, so one mistake gives one line.
 */
function requireWhole(
  r: YamlReader,
  top: Node,
  root: Map<string, Entry>,
  w: { machine?: string; machineFailed: boolean; targets: string[]; layers: LayerConfig[] },
  naming: OverrideNaming,
): void {
  const fieldErrors = r.problemCount;
  if (w.machine === undefined && !w.machineFailed) {
    r.error(
      undefined,
      'build.machine',
      'no MACHINE is set',
      `build.machine, base.machine or ${naming.mention('machine')}`,
    );
  }
  if (w.targets.length === 0 && fieldErrors === 0) {
    r.error(
      root.get('build')?.keyNode,
      'build.targets',
      'nothing to build',
      `build.image, build.targets or ${naming.mention('targets')}`,
    );
  }
  if (w.layers.length === 0 && fieldErrors === 0) {
    r.error(
      root.get('layers')?.keyNode ?? top,
      'layers',
      'no layers',
      'at least one layer under layers, or base: { provider: poky, version: … }',
    );
  }
}

function bitbakeName(r: YamlReader, e: Entry | undefined, what: 'MACHINE' | 'DISTRO', example: string) {
  return r.matching(e, (s) => BITBAKE_NAME.test(s), `a valid ${what} name`, `${NAME_CHARS}, e.g. ${example}`);
}

/** A machine field: its value, and whether it was given and refused. */
function machineField(r: YamlReader, e: Entry | undefined): { machine?: string; machineFailed: boolean } {
  const machine = bitbakeName(r, e, 'MACHINE', 'qemux86-64');
  return { machine, machineFailed: e !== undefined && machine === undefined };
}

interface BaseSection {
  entries?: Map<string, Entry>;
  provider?: string;
  machine?: string;
  machineFailed: boolean;
  distro?: string;
  version?: string;
}

function readBase({ r }: Context, entry: Entry | undefined): BaseSection {
  const base = entry
    ? r.mapping(entry.value, 'base', sectionKeys('base'), 'a mapping: { provider, machine, distro, version }')
    : undefined;
  const provider = r.matching(
    base?.get('provider'),
    (s) => BITBAKE_NAME.test(s),
    'a provider name',
    `a label such as ${BASE_PROVIDERS.join(', ')}, toradex or raspberrypi (${NAME_CHARS}); only poky adds a layer`,
  );
  const machine = machineField(r, base?.get('machine'));
  const distro = bitbakeName(r, base?.get('distro'), 'DISTRO', 'poky');
  const version = r.matching(
    base?.get('version'),
    (s) => POKY_VERSION.test(s),
    'a poky version',
    'a release version in quotes, e.g. "4.0.20" (the tag yocto-4.0.20)',
  );
  return { entries: base, provider, ...machine, distro, version };
}

/** `provider: poky` adds the poky layer, at base.version or yocto_series, unless one is listed. */
function addPokyLayer(
  { r }: Context,
  layers: LayerConfig[],
  base: BaseSection,
  baseEntry: Entry | undefined,
  yoctoSeries: string | undefined,
  seriesGiven: boolean,
): void {
  const { provider, version } = base;
  if (provider !== 'poky') {
    if (version !== undefined)
      r.warn(
        base.entries!.get('version')!.keyNode,
        'base.version',
        `ignored: it picks poky's release, and provider is ${provider ?? 'not set'}, so every layer comes from layers:`,
      );
    return;
  }
  if (layers.some((l) => l.name === 'poky')) return;
  const at = base.entries!.get('provider')!.value;
  const split = layers.find((l) => l.name === 'openembedded-core' || l.name === 'bitbake');
  if (split) {
    r.error(
      at,
      'base.provider',
      `poky would add a poky layer beside the listed layer ${split.name} (the split layout)`,
      'provider: none with the split layout, or a layer named poky',
    );
  } else if (version !== undefined || yoctoSeries !== undefined) {
    layers.unshift({
      name: 'poky',
      source:
        version !== undefined
          ? { kind: 'git', url: POKY_GIT_URL, tag: `yocto-${version}` }
          : { kind: 'git', url: POKY_GIT_URL, branch: yoctoSeries! },
      line: r.lineOf(baseEntry!.keyNode),
    });
  } else if (!base.entries!.has('version') && !seriesGiven) {
    r.error(
      at,
      'base.provider',
      'poky is not listed in layers, and neither base.version nor yocto_series says which poky to use',
      'a layer named poky under layers, base.version (e.g. "4.0.20"), or yocto_series (e.g. kirkstone)',
    );
  }
}

interface BuildSection {
  entries?: Map<string, Entry>;
  targets: string[];
  machine?: string;
  machineFailed: boolean;
  distro?: string;
  parallelMake?: string;
  bbNumberThreads?: number;
  localConf: ConfAssignment[];
  bitbakeArgs: string[];
}

function readBuild({ r }: Context, entry: Entry | undefined): BuildSection {
  const build = entry
    ? r.mapping(entry.value, 'build', sectionKeys('build'), 'a mapping: { image, targets, machine, distro, … }')
    : undefined;
  const image = target(r, build?.get('image'));
  const targets: string[] = image !== undefined ? [image] : [];
  const targetsEntry = build?.get('targets');
  if (targetsEntry) {
    for (const item of r.list(targetsEntry, 'a list of targets, e.g. [core-image-minimal, core-image-base]') ?? []) {
      const t = target(r, { key: 'targets', keyNode: targetsEntry.keyNode, value: item.node, field: item.field });
      if (t !== undefined && !targets.includes(t)) targets.push(t);
    }
  }
  const machine = machineField(r, build?.get('machine'));
  const distro = bitbakeName(r, build?.get('distro'), 'DISTRO', 'poky');
  const parallelMake = readParallelMake(r, build?.get('parallel_make'));
  const bbNumberThreads = r.quantity(
    build?.get('bb_number_threads'),
    positiveWhole('a positive whole number of BitBake tasks run at once, e.g. 8'),
  );
  const localConf = readLocalConf(r, build?.get('local_conf'));
  const bitbakeArgs = r.strings(build?.get('bitbake_args'), 'a list of BitBake arguments, e.g. [-k]') ?? [];
  return { entries: build, targets, ...machine, distro, parallelMake, bbNumberThreads, localConf, bitbakeArgs };
}

function target(r: YamlReader, e: Entry | undefined): string | undefined {
  return r.matching(
    e,
    (s) => BITBAKE_TARGET.test(s),
    'a valid target',
    `a recipe or image name (${NAME_CHARS}), optionally with :do_<task>, e.g. core-image-minimal`,
  );
}

/** PARALLEL_MAKE as `-j N`, from -j8, "-j 8" or 8. */
function readParallelMake(r: YamlReader, e: Entry | undefined): string | undefined {
  const jobs = r.quantity(e, {
    ...positiveWhole('a job count: -j8, "-j 8" or 8'),
    form: /^(?:-j\s*)?[0-9]+(\.[0-9]+)?$/,
    noun: 'a job count',
    parse: (s) => Number(s.replace(/^-j\s*/, '')),
  });
  return jobs === undefined ? undefined : `-j ${jobs}`;
}

function readLocalConf(r: YamlReader, e: Entry | undefined): ConfAssignment[] {
  const out: ConfAssignment[] = [];
  if (!e) return out;
  for (const item of r.list(e, `a list of lines, each ${ASSIGNMENT_FORM}`) ?? []) {
    const line = r.string(item.node, e.keyNode, item.field, ASSIGNMENT_FORM);
    if (line === undefined) continue;
    const at = r.lineOf(item.node);
    const a = r.attempt(() => parseConfAssignment(line, `${r.file}:${at ?? '?'}: ${item.field}`), at ?? 0);
    if (a) out.push(a);
  }
  return out;
}

function readContainer({ r }: Context, entry: Entry | undefined) {
  const container = entry
    ? r.mapping(
        entry.value,
        'container',
        sectionKeys('container'),
        'a mapping: { engine, base_image, memory, cpu_count }',
      )
    : undefined;
  const engine = r.matching(
    container?.get('engine'),
    (s) => (CONTAINER_ENGINES as readonly string[]).includes(s),
    'a container engine',
    CONTAINER_ENGINES.join(', '),
  ) as ContainerEngine | undefined;
  const image = r.matching(
    container?.get('base_image'),
    (s) => CONTAINER_IMAGE.test(s),
    'an image reference',
    'an image name such as crops/poky:ubuntu-22.04',
  );
  const memory = r.quantity(container?.get('memory'), MEMORY_SIZE);
  const cpuCount = r.quantity(container?.get('cpu_count'), CPU_COUNT);
  const entrypointEntry = container?.get('entrypoint');
  const entrypoint = r.strings(entrypointEntry, 'a list of arguments, e.g. ["/bin/bash", "-l", "-c"]');
  if (entrypoint?.some((a) => a.trim() === ''))
    r.error(entrypointEntry!.value, entrypointEntry!.field, 'holds an empty argument', 'non-empty arguments');
  return { engine, image, memory, cpuCount, entrypoint };
}
