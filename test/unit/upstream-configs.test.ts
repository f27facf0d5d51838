/**
 * Upstream Smidr's own configs (test/fixtures/upstream-smidr, from schererja/smidr at 3b0ac69)
 * load, and their keys become the conf lines their names promise.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { INPUT_NAMING } from '../../src/action/inputs.js';
import { checkReport } from '../../src/check.js';
import { type BuildConfig, type ConfigOverrides, loadConfig, parseConfig } from '../../src/config/config.js';
import { substituteEnv } from '../../src/config/env-substitution.js';
import { ConfigError } from '../../src/util/errors.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/upstream-smidr');
const HOME = '/home/u';
const load = (f: string, env: Record<string, string> = {}) =>
  loadConfig(path.join(DIR, f), {}, { naming: INPUT_NAMING, home: HOME, env });
const parse = (text: string, env: Record<string, string> = {}, o: ConfigOverrides = {}) =>
  parseConfig(text, 'smidr.yaml', o, { naming: INPUT_NAMING, home: HOME, env });
const errorOf = (text: string, env: Record<string, string> = {}) => {
  try {
    parse(text, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};
/** The lines of the check report's auto.conf that come from the settings (after the comment). */
const settingsLines = (c: BuildConfig) => {
  const conf = checkReport(c).split('conf/auto.conf')[1]!;
  const after = conf.split("# smidr.yaml's packages, features and advanced settings.\n")[1] ?? '';
  return after
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
};
const layers = (c: BuildConfig) =>
  c.layers.map((l) =>
    l.source.kind === 'git'
      ? `${l.name}@${l.source.branch ?? l.source.tag}${l.source.branchFromSeries ? '*' : ''}`
      : l.name,
  );
const TORADEX = [
  'poky@kirkstone*',
  'meta-freescale@kirkstone',
  'meta-freescale-3rdparty@kirkstone',
  'meta-openembedded@kirkstone*',
  'meta-toradex-bsp-common@kirkstone*',
  'meta-toradex-nxp@kirkstone*',
];

describe('the nine upstream configs', () => {
  it('apps/daemon/smidr.yaml (indented, toradex label, every directory)', () => {
    const c = load('daemon-smidr.yaml');
    expect([c.machine, c.targets, c.provider]).toEqual(['qemux86-64', ['core-image-minimal'], 'toradex']);
    expect(layers(c)).toEqual(TORADEX);
    expect(settingsLines(c)).toEqual(['IMAGE_INSTALL:append = " python3 vim"']);
    expect(checkReport(c)).toContain('PARALLEL_MAKE = "-j 2"');
    expect(c.artifacts).toEqual(['*.wic', '*.tar.bz2', '*-sdk-*.sh']);
    expect(c.directories).toEqual({
      downloads: `${HOME}/.smidr/downloads`,
      sstate: `${HOME}/.smidr/sstate-cache`,
      layers: `${HOME}/.smidr/layers`,
      tmp: `${HOME}/.smidr/tmp`,
      build: `${HOME}/.smidr/build`,
      deploy: `${HOME}/.smidr/deploy`,
      source: `${HOME}/.smidr/sources`,
    });
    expect(c.warnings).toEqual([expect.stringMatching(/daemon-smidr\.yaml:12: base\.version: ignored/)]);
  });

  it('examples/smidr.yaml', () => {
    const c = load('smidr.yaml');
    expect(layers(c)).toEqual(TORADEX);
    expect(settingsLines(c)).toEqual(['IMAGE_INSTALL:append = " python3 vim"']);
  });

  it('smidr-ci.yaml: ${VAR:-default} directories, empty mirrors unset, false flags off', () => {
    const c = load('smidr-ci.yaml');
    expect(c.distro).toBe('poky-tiny');
    expect(c.directories.sstate).toBe(`${HOME}/.smidr/sstate`);
    expect(settingsLines(c)).toEqual(['PACKAGE_CLASSES = "package_ipk"', 'CONF_VERSION = "2"']);
    const withEnv = load('smidr-ci.yaml', {
      YOCTO_SSTATE_DIR: '/cache/sstate',
      YOCTO_SSTATE_MIRRORS: 'file://.* https://m/PATH;downloadfilename=PATH',
      YOCTO_BB_NO_NETWORK: 'true',
    });
    expect(withEnv.directories.sstate).toBe('/cache/sstate');
    expect(settingsLines(withEnv)).toEqual([
      'PACKAGE_CLASSES = "package_ipk"',
      'SSTATE_MIRRORS = "file://.* https://m/PATH;downloadfilename=PATH"',
      'BB_NO_NETWORK = "1"',
      'CONF_VERSION = "2"',
    ]);
  });

  it('smidr-env-example.yaml: nested defaults, features, classes, advanced, entrypoint, cache block', () => {
    const c = load('smidr-env-example.yaml');
    expect([c.name, c.machine, c.distro, c.targets]).toEqual([
      'my-embedded-project',
      'verdin-imx8mp',
      'tdx-xwayland',
      ['core-image-weston'],
    ]);
    expect(layers(c)).toEqual(['meta-toradex-bsp-common@kirkstone-6.x.y', 'meta-mycompany']);
    expect(settingsLines(c)).toEqual([
      'PACKAGE_CLASSES = "package_rpm"',
      'EXTRA_IMAGE_FEATURES = "debug-tweaks package-management"',
      'USER_CLASSES += "buildstats"',
      'INHERIT += "rm_work toradex-mirrors toradex-sanity"',
      'IMAGE_INSTALL:append = " python3 nodejs vim htop"',
      'LICENSE_FLAGS_ACCEPTED = "commercial"',
      'ACCEPT_FSL_EULA = "1"',
      'CONF_VERSION = "2"',
      'BB_DISKMON_DIRS = "STOPTASKS,${TMPDIR},1G,100K STOPTASKS,${DL_DIR},1G,100K STOPTASKS,${SSTATE_DIR},1G,100K STOPTASKS,/tmp,100M,100K HALT,${TMPDIR},100M,1K HALT,${DL_DIR},100M,1K HALT,${SSTATE_DIR},100M,1K HALT,/tmp,10M,1K"',
      'PACKAGECONFIG:append:pn-qemu-system-native = " sdl"',
    ]);
    expect(c.container).toMatchObject({ memory: '8g', cpuCount: 8, entrypoint: ['/bin/bash', '-l', '-c'] });
    // ${TOPDIR}-relative directories mean the defaults, not /../downloads.
    expect(c.directories).toEqual({
      downloads: `${HOME}/.smidr/downloads`,
      sstate: `${HOME}/.smidr/sstate-cache`,
      layers: `${HOME}/.smidr/layers`,
    });
    expect(c.warnings).toEqual([
      expect.stringMatching(/:12: base\.version: ignored/),
      expect.stringMatching(/:84: cache: ignored: the action's caches are set by its inputs/),
    ]);
    const other = load('smidr-env-example.yaml', {
      MACHINE_TYPE: 'imx8mp-evk',
      PROJECT_NAME: 'acme',
      PACKAGE_CLASS: 'package_deb',
      BB_HASHSERVE: 'hashserv.example.com:8686',
      CACHE_BASE: '/srv/cache',
    });
    expect([other.name, other.machine, layers(other)[1]]).toEqual(['acme', 'imx8mp-evk', 'meta-acme']);
    expect(other.hashEquivalence).toEqual({ mode: 'server', address: 'hashserv.example.com:8686' });
    expect(settingsLines(other)[0]).toBe('PACKAGE_CLASSES = "package_deb"');
    expect(other.directories.sstate).toBe('/srv/cache');
  });

  it('smidr-example.yaml', () => {
    const c = load('smidr-example.yaml');
    expect(settingsLines(c).slice(0, 2)).toEqual([
      'PACKAGE_CLASSES = "package_rpm"',
      'EXTRA_IMAGE_FEATURES = "debug-tweaks package-management tools-sdk"',
    ]);
    expect(c.hashEquivalence).toEqual({ mode: 'auto' });
  });

  it.each([
    ['smidr-intel-ci.yaml', 'intel-corei7-64', ['debug-tweaks package-management', ' python3 python3-pip']],
    ['smidr-raspberrypi-ci.yaml', 'raspberrypi4-64', ['debug-tweaks']],
  ])('%s: build_timeout, sstate_mirrors default, features', (file, machine, expected) => {
    const c = load(file);
    expect(c.machine).toBe(machine);
    expect(c.buildTimeoutMinutes).toBe(240);
    const lines = settingsLines(c);
    expect(lines).toContain(`EXTRA_IMAGE_FEATURES = "${expected[0]}"`);
    if (expected[1]) expect(lines).toContain(`IMAGE_INSTALL:append = "${expected[1]}"`);
    expect(lines).toContain('SSTATE_MIRRORS = "file://.* file:///home/builder/sstate-cache/PATH"');
    expect(c.directories.tmp).toBe(`${HOME}/.smidr/tmp`);
    // Each build's TMPDIR goes under it, mounted at a fixed path in the container.
    expect(checkReport(c)).toContain('TMPDIR = "/smidr/tmpdir/tmp"');
    expect(checkReport({ ...c, container: { ...c.container, engine: 'none' } })).toContain(
      `TMPDIR = "${HOME}/.smidr/tmp/<build id>/tmp"`,
    );
  });

  it('smidr-shared-cache-example.yaml (parallel_make: -j8, which upstream rejects)', () => {
    const c = load('smidr-shared-cache-example.yaml');
    expect([c.parallelMake, c.buildTimeoutMinutes, c.provider]).toEqual(['-j 8', 360, 'poky']);
    expect(layers(c)).toEqual(['poky@kirkstone', 'meta-openembedded@kirkstone']);
    expect(c.warnings).toBeUndefined();
  });

  it('smidr-toradex-ci.yaml', () => {
    const c = load('smidr-toradex-ci.yaml');
    expect(settingsLines(c)).toEqual([
      'PACKAGE_CLASSES = "package_ipk"',
      'EXTRA_IMAGE_FEATURES = "debug-tweaks"',
      'SSTATE_MIRRORS = "file://.* file:///home/builder/sstate-cache/PATH"',
      'ACCEPT_FSL_EULA = "1"',
    ]);
    expect(c.artifacts).toEqual(['*.ipk', '*.tar.bz2', '*.wic*', '*.manifest']);
  });
});

describe('environment substitution', () => {
  const env = { A: 'a', EMPTY: '', NESTED: 'n' };
  it.each([
    ['${A}', 'a'],
    ['${ A }', 'a'],
    ['${UNSET}', ''],
    ['${EMPTY:-d}', 'd'],
    ['${UNSET:-d}', 'd'],
    ['${A:-d}', 'a'],
    ['${A:+alt}', 'alt'],
    ['${UNSET:+alt}', ''],
    ['${UNSET:-${NESTED:-x}}', 'n'],
    ['${UNSET:-${ALSO_UNSET:-deep}}/x', 'deep/x'],
    ['${A:+${NESTED}-${A}}', 'n-a'],
    ['x-${A}-${UNSET}-y', 'x-a--y'],
    ['${TOPDIR}/tmp', '${TOPDIR}/tmp'],
    ['${@os.getcwd()}', '${@os.getcwd()}'],
    ['${A', '${A'],
    ['plain', 'plain'],
  ])('%s → %s', (text, want) => {
    expect(substituteEnv(text, env)).toBe(want);
  });
  it('sets TOPDIR from the environment when it is there', () => {
    expect(substituteEnv('${TOPDIR}/tmp', { TOPDIR: '/b' })).toBe('/b/tmp');
  });

  const MIN = 'name: t\nlayers: [{ name: poky, git: https://git.yoctoproject.org/poky, branch: kirkstone }]\n';
  it('happens before validation: a substituted value gets the checks a written one gets, on its line', () => {
    expect(errorOf(`${MIN}build:\n  image: x\n  machine: \${M:-qemu x86}\n`)).toBe(
      'smidr.yaml:5: build.machine: "qemu x86" is not a valid MACHINE name; expected letters, digits and . _ + - (starting with a letter or digit), e.g. qemux86-64',
    );
    expect(errorOf(`${MIN}build:\n  image: x\n  machine: m\n  bb_number_threads: \${T:-0}\n`)).toMatch(
      /^smidr\.yaml:6: build\.bb_number_threads: \$\{T:-0\} is not a positive whole number;/,
    );
  });
  it('reads an unquoted substituted value as YAML would, a quoted one as a string', () => {
    const c = parse(`${MIN}build:\n  image: x\n  machine: m\n  parallel_make: \${J}\n  bb_number_threads: "\${J}"\n`, {
      J: '6',
    });
    expect([c.parallelMake, c.bbNumberThreads]).toEqual(['-j 6', 6]);
  });
  it('never touches local_conf, where ${…} is BitBake’s', () => {
    const c = parse(`${MIN}build:\n  image: x\n  machine: m\n  local_conf: ['RDEPENDS:\${PN}:append = " \${A}"']\n`, {
      PN: 'oops',
      A: 'oops',
    });
    expect(c.localConf).toEqual([{ variable: 'RDEPENDS:${PN}:append', operator: '=', value: ' ${A}' }]);
  });
  it('a value that cannot change the structure: a substituted "a: b" stays one string', () => {
    expect(parse(`${MIN}description: \${D}\nbuild: { image: x, machine: m }\n`, { D: 'a: b' }).description).toBe(
      'a: b',
    );
  });
});

describe('unknown keys', () => {
  const MIN =
    'name: t\nlayers: [{ name: poky, git: https://git.yoctoproject.org/poky, branch: kirkstone }]\nbuild: { image: x, machine: m }\n';
  it('are one warning each, naming the key and its line, and the build goes on', () => {
    const c = parse(`${MIN}notes: hello\nbuild_server: x\n`);
    expect(c.warnings).toEqual([
      'smidr.yaml:4: notes: unknown key, ignored',
      'smidr.yaml:5: build_server: unknown key, ignored',
    ]);
  });
  it('say where a misplaced key belongs', () => {
    expect(parse(`${MIN}machine: qemux86-64\n`).warnings).toEqual([
      'smidr.yaml:4: machine: unknown key, ignored (machine belongs under base: or build:)',
    ]);
  });
  it('are errors with "did you mean" when they are a near miss of a known key', () => {
    expect(errorOf(`${MIN}layerz: []\n`)).toMatch(/^smidr\.yaml:4: layerz: unknown key \(did you mean layers\?\)/);
    expect(errorOf(MIN.replace('machine: m', 'machnie: m'))).toMatch(
      /^smidr\.yaml:3: build\.machnie: unknown key \(did you mean machine\?\)/m,
    );
  });
});

describe("upstream's validation conditions, in our words", () => {
  const MIN =
    'name: t\nlayers: [{ name: poky, git: https://git.yoctoproject.org/poky, branch: kirkstone }]\nbuild: { image: x, machine: m }\n';
  it.each([
    [
      'packages:\n  classes: package_tar\n',
      /packages\.classes: "package_tar" is not a package class; expected one of package_rpm, package_deb, package_ipk/,
    ],
    [
      'features:\n  extra_image_features: [debug-tweak]\n',
      /features\.extra_image_features\[0\]: "debug-tweak" is not an image feature; expected one of debug-tweaks,/,
    ],
    [
      'features:\n  user_classes: [foo]\n',
      /features\.user_classes\[0\]: "foo" is not a user class; expected one of buildstats, image-mklibs, image-prelink/,
    ],
    [
      'features:\n  inherit_classes: [foo]\n',
      /features\.inherit_classes\[0\]: "foo" is not a class to inherit; expected one of rm_work,/,
    ],
    [
      'advanced:\n  bb_hashserve: sometimes\n',
      /advanced\.bb_hashserve: "sometimes" is not a hash server; expected auto \(a private server per build\), none/,
    ],
    [
      'advanced:\n  bb_signature_handler: MyHash\n',
      /advanced\.bb_signature_handler: "MyHash" is not a signature handler; expected one of OEEquivHash, OEBasicHash/,
    ],
    ['advanced:\n  conf_version: "2a"\n', /advanced\.conf_version: "2a" is not a conf version; expected digits/],
    [
      'advanced:\n  build_timeout: 0\n',
      /advanced\.build_timeout: 0 is not a positive whole number; expected a whole number of minutes/,
    ],
    ['advanced:\n  bb_no_network: maybe\n', /advanced\.bb_no_network: "maybe" is a string; expected true or false/],
    [
      'advanced:\n  bb_hashserve: auto\n  bb_signature_handler: OEBasicHash\n',
      /advanced\.bb_hashserve: auto needs bb_signature_handler: OEEquivHash/,
    ],
    ['container:\n  memory: lots\n', /container\.memory: "lots" is not a memory size/],
  ])('%s', (extra, want) => {
    expect(errorOf(`${MIN}${extra}`)).toMatch(new RegExp(`^smidr\\.yaml:\\d+: ${want.source}`));
  });
  it('extra_packages are package names', () => {
    expect(errorOf(MIN.replace('machine: m }', 'machine: m, extra_packages: ["vim;rm"] }'))).toMatch(
      /build\.extra_packages\[0\]: "vim;rm" is not a package name/,
    );
  });
  it('hash equivalence: none and a shared server', () => {
    expect(parse(`${MIN}advanced: { bb_hashserve: none }\n`).hashEquivalence).toEqual({ mode: 'none' });
    expect(parse(`${MIN}advanced: { bb_signature_handler: OEBasicHash }\n`).hashEquivalence).toEqual({ mode: 'none' });
    const c = parse(`${MIN}advanced: { bb_hashserve: "hs.local:8686" }\n`);
    const conf = checkReport(c);
    expect(conf).toContain('BB_HASHSERVE = "hs.local:8686"');
    expect(conf).not.toMatch(/^\s*BB_HASHSERVE_DB_DIR =/m);
    const none = checkReport(parse(`${MIN}advanced: { bb_hashserve: none }\n`));
    expect(none).toContain('BB_SIGNATURE_HANDLER = "OEBasicHash"');
    expect(none).toContain('BB_HASHSERVE = ""');
  });
});
