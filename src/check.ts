/**
 * `smidr check` and the action's check-only input: read a config, validate it, and print what a
 * build would do with it (effective settings, layers as configured, the exact conf/auto.conf
 * lines) without network, Docker or BitBake.
 *
 * Config formats plug in here: each says which files it reads and how to load one into a
 * BuildConfig. smidr.yaml is the first; kas project files (issue 16) add themselves to
 * CONFIG_FORMATS.
 */
import { renderAutoConf } from './bitbake/conf.js';
import { bitbakeLayout, confPaths } from './bitbake/layout.js';
import { autoConfSettings, type RunnerConf } from './bitbake/setup.js';
import {
  type BuildConfig,
  type ConfigOptions,
  type ConfigOverrides,
  type LayerConfig,
  loadConfig,
} from './config/config.js';
import { isKasConfig, loadKasProject } from './config/kas/load.js';
import { installerUrl, yoctoArch } from './host/buildtools.js';
import { shownUrl } from './util/url.js';

/** A config format: which files it reads, and how one becomes a BuildConfig. */
export interface ConfigFormat {
  /** How the format is called in messages: `smidr.yaml`, `kas`. */
  name: string;
  /** Whether this format reads the file (by its name; the first format that does, reads it). */
  reads(file: string): boolean;
  load(file: string, overrides: ConfigOverrides, options: ConfigOptions): BuildConfig;
}

export const SMIDR_YAML: ConfigFormat = { name: 'smidr.yaml', reads: () => true, load: loadConfig };

/** kas project files: a file with `header.version`, or a colon-separated list of them. */
export const KAS: ConfigFormat = { name: 'kas', reads: isKasConfig, load: (f, o, opts) => loadKasProject(f, o, opts) };

/** Tried in order; smidr.yaml reads any file, so it comes last. */
export const CONFIG_FORMATS: ConfigFormat[] = [KAS, SMIDR_YAML];

export function formatOf(file: string, formats: readonly ConfigFormat[] = CONFIG_FORMATS): ConfigFormat {
  return formats.find((f) => f.reads(file)) ?? SMIDR_YAML;
}

/** Loads a config in whichever format reads it. */
export function loadAnyConfig(file: string, overrides: ConfigOverrides, options: ConfigOptions): BuildConfig {
  return formatOf(file).load(file, overrides, options);
}

/** Where a build would put things, as auto.conf names them before any directory exists. */
const HOST_PLACEHOLDERS = {
  layers: [],
  buildDir: '<build dir>',
  caches: { downloads: '<downloads dir>', sstate: '<sstate dir>', hashserv: '<hash-equivalence DB dir>' },
};

/** The check report: effective settings, layers as configured, auto.conf lines. */
export function checkReport(config: BuildConfig, format: string = SMIDR_YAML.name, runner: RunnerConf = {}): string {
  const inContainer = config.container.engine !== 'none';
  const tmpRoot = config.directories.tmp && `${config.directories.tmp}/<build id>`;
  const paths = confPaths(bitbakeLayout({ ...HOST_PLACEHOLDERS, ...(tmpRoot && { tmpRoot }) }, inContainer), []);
  const distro = config.distro ?? 'poky';
  const autoConf = renderAutoConf(
    autoConfSettings(config, { distro, paths, hashservDbDirSupported: true }, {}, runner),
  );
  const lines = [
    `${config.file}: valid ${format} config`,
    '',
    'Settings:',
    ...settingsRows(config, inContainer).map(([k, v]) => `  ${`${k}:`.padEnd(24)}${v}`),
    '',
    'Layers (as configured; sub-layers are found after checkout):',
    ...config.layers.map((l) => `  ${describeLayer(l)}`),
    '',
    `conf/auto.conf${distro === config.distro ? '' : ` (with DISTRO ${distro}; BitBake < 2.18 gets PERSISTENT_DIR instead of BB_HASHSERVE_DB_DIR)`}:`,
    ...autoConf
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}

function settingsRows(config: BuildConfig, inContainer: boolean): Array<[string, string]> {
  const c = config.container;
  const h = config.hashEquivalence ?? { mode: 'auto' };
  return [
    ['name', `${config.name}${config.description ? ` (${config.description})` : ''}`],
    ['yocto_series', config.yoctoSeries ?? '-'],
    ['provider', config.provider ?? '-'],
    ['MACHINE', config.machine],
    ['DISTRO', config.distro ?? 'poky when a layer provides meta-poky, else nodistro (decided after checkout)'],
    ['targets', config.targets.join(' ')],
    ['bitbake args', config.bitbakeArgs.join(' ') || '-'],
    [
      'container',
      `${inContainer ? `${c.engine} ${c.image}` : 'none (BitBake on the host)'}${c.memory ? `, memory ${c.memory}` : ''}${c.cpuCount ? `, ${c.cpuCount} CPUs` : ''}`,
    ],
    ...(config.buildtools
      ? [
          [
            'buildtools',
            `${config.buildtools.version}, ${shownUrl(installerUrl(config.buildtools, yoctoArch()))} (sha256 ${config.buildtools.sha256sum})`,
          ] as [string, string],
        ]
      : []),
    ['hash equivalence', h.mode === 'server' ? `shared server ${h.address}` : h.mode],
    [
      'time budget',
      config.buildTimeoutMinutes ? `${config.buildTimeoutMinutes} minutes (advanced.build_timeout)` : '-',
    ],
    ['artifacts', config.artifacts?.join(' ') ?? '-'],
    ...Object.entries(config.directories).map(([k, v]): [string, string] => [`directories.${k}`, v]),
  ];
}

function describeLayer(l: LayerConfig): string {
  const s = l.source;
  const sub = l.sublayers ? ` sublayers ${l.sublayers.join(', ')}` : '';
  if (s.kind === 'path') return `${l.name}: path ${s.path}${sub}`;
  const rev = [
    s.tag && `tag ${s.tag}`,
    s.branch &&
      `branch ${s.branch}${s.branchFromSeries ? ` (follows yocto_series; the first ${s.branch}-* head when it is missing)` : ''}`,
    s.commit && `commit ${s.commit}`,
  ].filter(Boolean);
  return `${l.name}: git ${shownUrl(s.url)} ${rev.join(', ') || "the remote's default branch"}${sub}`;
}
