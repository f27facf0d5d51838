import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { DEFAULT_CONTAINER_IMAGE } from '../../src/action/constants.js';
import { INPUT_NAMING } from '../../src/action/inputs.js';
import { parseConfAssignment } from '../../src/bitbake/conf-line.js';
import { checkReport } from '../../src/check.js';
import { FLAG_NAMING } from '../../src/cli/flags.js';
import {
  type BuildConfig,
  CONFIG_KEYS,
  type ConfigOverrides,
  type ConfigSection,
  DEFAULT_DIRECTORIES,
  loadConfig,
  parseConfig,
  POKY_GIT_URL,
} from '../../src/config/config.js';
import * as names from '../../src/config/names.js';
import { ConfigError } from '../../src/util/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/configs');
const HOME = '/home/builder';
const OPTS = { home: HOME, naming: INPUT_NAMING };

function parse(text: string, overrides: ConfigOverrides = {}, file = '/repo/smidr.yaml'): BuildConfig {
  return parseConfig(text, file, overrides, OPTS);
}

/** The ConfigError message parsing `text` as smidr.yaml gives. */
function errorOf(text: string, overrides: ConfigOverrides = {}, file = 'smidr.yaml'): string {
  try {
    parseConfig(text, file, overrides, OPTS);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

/** A small valid config; tests change one thing in it. */
const MIN = `name: t
layers:
  - name: poky
    git: https://git.yoctoproject.org/poky
    branch: kirkstone
build: { image: core-image-minimal, machine: qemux86-64 }
`;

/** MIN with its build line replaced. */
const withBuild = (build: string) => MIN.replace(/^build: .*$/m, build);
/** MIN with extra lines appended. */
const plus = (lines: string) => MIN + lines;
/** MIN whose only layer is replaced by the given layer lines (starting on line 3). */
const withLayer = (lines: string) =>
  `name: t\nlayers:\n${lines}\nbuild: { image: core-image-minimal, machine: qemux86-64 }\n`;

describe('the seed config', () => {
  it('loads exactly as written in the brief', () => {
    const file = path.join(FIXTURES, 'seed.yaml');
    const c = loadConfig(file, {}, OPTS);
    expect(c).toEqual({
      file,
      dir: FIXTURES,
      name: 'my-project',
      description: 'Custom Yocto build',
      yoctoSeries: 'kirkstone',
      machine: 'qemux86-64',
      distro: 'poky',
      targets: ['core-image-minimal'],
      layers: [
        {
          name: 'poky',
          source: { kind: 'git', url: 'https://git.yoctoproject.org/poky', branch: 'kirkstone' },
          line: 10,
        },
      ],
      provider: 'poky',
      localConf: [],
      bitbakeArgs: [],
      parallelMake: '-j 8',
      bbNumberThreads: 8,
      directories: {
        downloads: `${HOME}/.smidr/downloads`,
        sstate: `${HOME}/.smidr/sstate-cache`,
        layers: `${HOME}/.smidr/layers`,
      },
      container: { engine: 'docker', image: 'crops/yocto:ubuntu-22.04-builder', memory: '8g', cpuCount: 4 },
    } satisfies BuildConfig);
  });

  it('takes a relative file name and reports it as given', () => {
    const rel = path.relative(process.cwd(), path.join(FIXTURES, 'seed.yaml'));
    expect(loadConfig(rel, {}, OPTS).file).toBe(path.join(FIXTURES, 'seed.yaml'));
  });
});

describe('defaults', () => {
  it('fills directories, container and lists', () => {
    const c = parse(MIN);
    expect(c.directories).toEqual({
      downloads: `${HOME}/.smidr/downloads`,
      sstate: `${HOME}/.smidr/sstate-cache`,
      layers: `${HOME}/.smidr/layers`,
    });
    expect(DEFAULT_DIRECTORIES.sstate).toBe('~/.smidr/sstate-cache');
    expect(c.container).toEqual({
      engine: 'docker',
      image: DEFAULT_CONTAINER_IMAGE,
      memory: undefined,
      cpuCount: undefined,
    });
    expect(c.distro).toBeUndefined();
    expect(c.localConf).toEqual([]);
    expect(c.bitbakeArgs).toEqual([]);
    expect(c.parallelMake).toBeUndefined();
    expect(c.bbNumberThreads).toBeUndefined();
    expect(c.layers[0]!.sublayers).toBeUndefined();
    expect(c.file).toBe('/repo/smidr.yaml');
    expect(c.dir).toBe('/repo');
  });

  it('expands ~ with the home directory of the process when none is given', async () => {
    const os = await import('node:os');
    expect(parseConfig(MIN, '/repo/smidr.yaml', {}, { naming: INPUT_NAMING }).directories.layers).toBe(
      path.join(os.homedir(), '.smidr/layers'),
    );
  });

  it('treats empty sections and lists as absent', () => {
    const c = parse(plus('directories:\ncontainer:\n').replace('build: {', 'build: { local_conf: , bitbake_args: ,'));
    expect(c.directories.downloads).toBe(`${HOME}/.smidr/downloads`);
    expect(c.localConf).toEqual([]);
  });
});

describe('layers', () => {
  it('pins a commit, a tag, or a commit on a branch, and names sublayers', () => {
    const c = parse(
      withLayer(`  - name: poky
    git: https://git.yoctoproject.org/poky
    tag: yocto-4.0.20
    sublayers: [meta, meta-poky, ./meta-yocto-bsp/]
  - name: meta-openembedded
    git: https://git.openembedded.org/meta-openembedded
    branch: kirkstone
    commit: 0123abcd
    sublayers: [meta-oe, meta-python]
  - name: meta-pinned
    git: https://example.com/meta-pinned.git
    commit: "${'a'.repeat(40)}"
  - name: meta-head
    git: https://example.com/meta-head.git`),
    );
    expect(c.layers).toEqual([
      {
        name: 'poky',
        source: { kind: 'git', url: POKY_GIT_URL, tag: 'yocto-4.0.20' },
        sublayers: ['meta', 'meta-poky', 'meta-yocto-bsp'],
        line: 3,
      },
      {
        name: 'meta-openembedded',
        source: {
          kind: 'git',
          url: 'https://git.openembedded.org/meta-openembedded',
          branch: 'kirkstone',
          commit: '0123abcd',
        },
        sublayers: ['meta-oe', 'meta-python'],
        line: 7,
      },
      {
        name: 'meta-pinned',
        source: { kind: 'git', url: 'https://example.com/meta-pinned.git', commit: 'a'.repeat(40) },
        line: 12,
      },
      { name: 'meta-head', source: { kind: 'git', url: 'https://example.com/meta-head.git' }, line: 15 },
    ]);
  });

  it('takes the checked-out repository as a path layer, normalised and relative to the config file', () => {
    const c = parse(
      withLayer(`  - { name: poky, git: https://git.yoctoproject.org/poky, branch: kirkstone }
  - { name: self, path: . }
  - { name: sub, path: ./layers/meta-sub/ }
  - { name: inner, path: "a/../meta-inner", sublayers: [.] }`),
      {},
      '/work/repo/ci/smidr.yaml',
    );
    expect(c.layers.slice(1).map((l) => [l.source, l.sublayers])).toEqual([
      [{ kind: 'path', path: '.' }, undefined],
      [{ kind: 'path', path: 'layers/meta-sub' }, undefined],
      [{ kind: 'path', path: 'meta-inner' }, ['.']],
    ]);
    expect(c.dir).toBe('/work/repo/ci');
  });

  it('resolves relative git paths against the config file and keeps URLs as they are', () => {
    const c = loadConfig(path.join(FIXTURES, 'local-git.yaml'), {}, OPTS);
    expect(c.layers.map((l) => l.source)).toEqual([
      { kind: 'git', url: path.resolve(FIXTURES, '../repos/poky'), tag: 'yocto-5.0.8' },
      { kind: 'git', url: path.join(FIXTURES, 'vendor/meta-local') },
      { kind: 'git', url: `${HOME}/src/meta-home` },
      { kind: 'git', url: 'git@github.com:example/meta-ssh.git' },
      { kind: 'git', url: 'file:///srv/git/meta-file.git' },
    ]);
  });

  it('loads the split layout (bitbake + openembedded-core + meta-yocto) with nothing implicit', () => {
    const c = loadConfig(path.join(FIXTURES, 'split.yaml'), {}, OPTS);
    expect(c.layers.map((l) => [l.name, l.source.kind === 'git' && l.source.branch, l.sublayers])).toEqual([
      ['bitbake', '2.18', undefined],
      ['openembedded-core', 'wrynose', ['meta']],
      ['meta-yocto', 'wrynose', ['meta-poky', 'meta-yocto-bsp']],
    ]);
    expect(c.yoctoSeries).toBe('wrynose');
    expect([c.machine, c.distro, c.targets]).toEqual(['qemuarm64', 'poky', ['core-image-minimal']]);
  });

  it('loads the layer CI fixture with every extension', () => {
    const c = loadConfig(path.join(FIXTURES, 'layer-ci.yaml'), {}, OPTS);
    expect(c.layers.map((l) => l.name)).toEqual(['poky', 'meta-openembedded', 'meta-example']);
    expect(c.layers[0]).toEqual({
      name: 'poky',
      source: { kind: 'git', url: POKY_GIT_URL, tag: 'yocto-5.0.8' },
      line: 5,
    });
    expect(c.layers[2]!.source).toEqual({ kind: 'path', path: '.' });
    expect(c.targets).toEqual(['core-image-minimal', 'core-image-base', 'core-image-minimal:do_populate_sdk']);
    expect(c.parallelMake).toBe('-j 4');
    expect(c.bbNumberThreads).toBe(4);
    expect(c.localConf).toEqual([
      { variable: 'INHERIT', operator: '+=', value: 'rm_work' },
      { variable: 'BB_GENERATE_MIRROR_TARBALLS', operator: '=', value: '1' },
      { variable: 'EXTRA_IMAGE_FEATURES:append', operator: '=', value: ' debug-tweaks' },
      { variable: 'SKIP_RECIPE[foo]', operator: '=', value: 'not "here" today' },
    ]);
    expect(c.bitbakeArgs).toEqual(['-k']);
    expect(c.directories).toEqual({
      downloads: '/srv/yocto/downloads',
      sstate: path.join(FIXTURES, 'cache/sstate'),
      layers: `${HOME}/layers`,
    });
    expect(c.container).toEqual({
      engine: 'podman',
      image: 'ghcr.io/siemens/kas/kas:4.7',
      memory: '12G',
      cpuCount: 1.5,
    });
    expect(c.machine).toBe('qemux86-64');
    expect(c.distro).toBeUndefined();
  });

  it('follows YAML anchors and aliases', () => {
    const c = parse(`name: t
base: { machine: &m qemux86-64 }
layers:
  - &poky { name: poky, git: https://git.yoctoproject.org/poky, branch: kirkstone }
build: { image: core-image-minimal, machine: *m }
`);
    expect(c.machine).toBe('qemux86-64');
    expect(c.layers[0]!.source).toEqual({ kind: 'git', url: POKY_GIT_URL, branch: 'kirkstone' });
  });
});

describe('base.provider: poky', () => {
  const base = (b: string, layers = '', series = '') =>
    `name: t\n${series}base: ${b}\n${layers}build: { image: core-image-minimal }\n`;

  it('adds a poky layer at the release tag of base.version', () => {
    const c = parse(
      base('{ provider: poky, machine: qemux86-64, version: "4.0.20" }', '', 'yocto_series: kirkstone\n'),
    );
    expect(c.layers).toEqual([
      { name: 'poky', source: { kind: 'git', url: POKY_GIT_URL, tag: 'yocto-4.0.20' }, line: 3 },
    ]);
  });

  it('adds a poky layer following the yocto_series branch without a version', () => {
    const c = parse(base('{ provider: poky, machine: qemux86-64 }', '', 'yocto_series: scarthgap\n'));
    expect(c.layers).toEqual([
      { name: 'poky', source: { kind: 'git', url: POKY_GIT_URL, branch: 'scarthgap' }, line: 3 },
    ]);
  });

  it('puts the implicit poky layer first', () => {
    const c = parse(
      base('{ provider: poky, machine: qemux86-64, version: "5.0.8" }', 'layers:\n  - { name: meta-x, path: . }\n'),
    );
    expect(c.layers.map((l) => l.name)).toEqual(['poky', 'meta-x']);
  });

  it('treats base.version as informational when a poky layer is listed', () => {
    const c = parse(
      base(
        '{ provider: poky, machine: qemux86-64, version: "4.0.20" }',
        'layers:\n  - { name: poky, git: https://example.com/poky.git, commit: abcdef0 }\n',
      ),
    );
    expect(c.layers).toEqual([
      { name: 'poky', source: { kind: 'git', url: 'https://example.com/poky.git', commit: 'abcdef0' }, line: 4 },
    ]);
  });

  it('adds nothing with provider none or without base', () => {
    expect(parse(MIN.replace('name: t', 'name: t\nbase: { provider: none }')).layers.map((l) => l.name)).toEqual([
      'poky',
    ]);
    expect(parse(MIN).layers).toHaveLength(1);
  });
});

describe('precedence', () => {
  const cfg = (build: string, base: string) =>
    withBuild(`build: { image: core-image-minimal${build} }`).replace(
      'name: t',
      `name: t\nbase: { provider: none${base} }`,
    );

  it('MACHINE: the input, else build.machine, else base.machine', () => {
    expect(parse(cfg(', machine: qemuarm', ', machine: qemux86-64'), { machine: 'qemuriscv64' }).machine).toBe(
      'qemuriscv64',
    );
    expect(parse(cfg(', machine: qemuarm', ', machine: qemux86-64')).machine).toBe('qemuarm');
    expect(parse(cfg('', ', machine: qemux86-64')).machine).toBe('qemux86-64');
    expect(parse(cfg('', ''), { machine: 'qemuarm64' }).machine).toBe('qemuarm64');
  });

  it('DISTRO: the input, else build.distro, else base.distro, else undefined', () => {
    const m = ', machine: qemux86-64';
    expect(parse(cfg(`${m}, distro: poky-tiny`, ', distro: poky'), { distro: 'nodistro' }).distro).toBe('nodistro');
    expect(parse(cfg(`${m}, distro: poky-tiny`, ', distro: poky')).distro).toBe('poky-tiny');
    expect(parse(cfg(m, ', distro: poky')).distro).toBe('poky');
    expect(parse(cfg(m, '')).distro).toBeUndefined();
  });

  it('targets: build.image first, then build.targets, without duplicates; the input replaces them', () => {
    const c = withBuild(
      'build: { machine: qemux86-64, image: core-image-minimal, targets: [core-image-base, core-image-minimal, "core-image-minimal:do_populate_sdk"] }',
    );
    expect(parse(c).targets).toEqual(['core-image-minimal', 'core-image-base', 'core-image-minimal:do_populate_sdk']);
    expect(parse(c, { targets: ['meta-toolchain', 'meta-toolchain'] }).targets).toEqual(['meta-toolchain']);
    expect(parse(c, { targets: [] }).targets).toEqual([
      'core-image-minimal',
      'core-image-base',
      'core-image-minimal:do_populate_sdk',
    ]);
    expect(parse(withBuild('build: { machine: qemux86-64, targets: [a, b] }')).targets).toEqual(['a', 'b']);
  });

  it('local_conf and bitbake_args: the inputs come after the file', () => {
    const c = parse(withBuild(`build: { image: x, machine: y, local_conf: ['A = "1"'], bitbake_args: [-k] }`), {
      localConf: ['B ?= "2"', 'A:append = " 3"'],
      bitbakeArgs: ['-v', '--runall=fetch'],
    });
    expect(c.localConf).toEqual([
      { variable: 'A', operator: '=', value: '1' },
      { variable: 'B', operator: '?=', value: '2' },
      { variable: 'A:append', operator: '=', value: ' 3' },
    ]);
    expect(c.bitbakeArgs).toEqual(['-k', '-v', '--runall=fetch']);
  });

  it('container image and engine: the inputs replace the file', () => {
    const c = parse(plus('container: { engine: podman, base_image: crops/poky:debian-12 }'), {
      containerImage: 'ghcr.io/x/builder:1',
      containerEngine: 'none',
    });
    expect(c.container).toEqual({
      engine: 'none',
      image: 'ghcr.io/x/builder:1',
      memory: undefined,
      cpuCount: undefined,
    });
    expect(parse(plus('container: { engine: podman, base_image: crops/poky:debian-12 }')).container.image).toBe(
      'crops/poky:debian-12',
    );
  });
});

describe('values', () => {
  it('parallel_make takes -j8, "-j 8", 8 or "8", stored as "-j 8"', () => {
    for (const v of ['-j8', '"-j 8"', '8', '"8"', '-j  8']) {
      expect(parse(withBuild(`build: { image: x, machine: y, parallel_make: ${v} }`)).parallelMake).toBe('-j 8');
    }
  });

  it('bb_number_threads takes a number or a numeric string', () => {
    expect(parse(withBuild('build: { image: x, machine: y, bb_number_threads: 16 }')).bbNumberThreads).toBe(16);
    expect(parse(withBuild('build: { image: x, machine: y, bb_number_threads: "16" }')).bbNumberThreads).toBe(16);
  });

  it("buildtools: kas's keys, the sum lowercased, used with container-engine none", () => {
    const sum = 'AB'.repeat(32);
    const none = { containerEngine: 'none' };
    const c = parse(
      plus(
        `buildtools: { version: "5.0.8", sha256sum: ${sum}, base_url: "https://mirror.example/yocto", filename: bt.sh }`,
      ),
      none,
    );
    expect(c.buildtools).toEqual({
      version: '5.0.8',
      sha256sum: 'ab'.repeat(32),
      baseUrl: 'https://mirror.example/yocto',
      filename: 'bt.sh',
    });
    expect(checkReport(c)).toContain(
      `  buildtools:             5.0.8, https://mirror.example/yocto/releases/yocto/yocto-5.0.8/buildtools/bt.sh (sha256 ${'ab'.repeat(32)})\n`,
    );
    expect(parse(MIN).buildtools).toBeUndefined();
    expect(errorOf(plus('buildtools: { sha256sum: x }'))).toMatch(
      /buildtools\.sha256sum: "x" is not a SHA-256 sum; expected 64 hexadecimal digits/,
    );
    expect(errorOf(plus('buildtools: { version: latest }'))).toMatch(
      /buildtools\.version: "latest" is not a Yocto release number/,
    );
    expect(errorOf(plus('buildtools: { base_url: "https://x" }'))).toMatch(/buildtools\.version: is missing/);
    // Without a sum the download cannot be checked: an error where the section is.
    expect(errorOf(plus('buildtools: { version: "4.0" }'), none)).toMatch(
      /^smidr\.yaml:7: buildtools\.sha256sum is missing: the installer of buildtools 4\.0 is checked against it; expected buildtools\.sha256sum: .*, or the 'buildtools-sha256' input/m,
    );
  });

  it('buildtools in a container: the section is a warning, the input an error', () => {
    const c = parse(plus('buildtools: { version: "4.0" }'));
    expect(c.buildtools).toBeUndefined();
    expect(c.warnings).toEqual([
      '/repo/smidr.yaml:7: buildtools: not used: BitBake runs in a docker container, whose image brings the host tools; buildtools apply with container-engine: none',
    ]);
    expect(errorOf(MIN, { buildtools: '5.0.8', buildtoolsSha256: 'a'.repeat(64) })).toBe(
      "input 'buildtools': buildtools 5.0.8 replace the runner's host tools, but BitBake runs in a docker container here, whose image brings its own; expected container-engine: none with buildtools, or drop the 'buildtools' input",
    );
  });

  it('buildtools inputs: the version wins, the sum comes from the input or the same release in the file', () => {
    const sum = 'c'.repeat(64);
    const section = `buildtools: { version: "5.0.8", sha256sum: ${sum}, base_url: "https://m.example", filename: b.sh }`;
    const none = { containerEngine: 'none' };
    expect(parse(MIN, { ...none, buildtools: '5.0.9', buildtoolsSha256: 'D'.repeat(64) }).buildtools).toEqual({
      version: '5.0.9',
      sha256sum: 'd'.repeat(64),
      baseUrl: undefined,
      filename: undefined,
    });
    // Same release: the file's sum and file name; the mirror whatever the release.
    expect(parse(plus(section), { ...none, buildtools: '5.0.8' }).buildtools).toEqual({
      version: '5.0.8',
      sha256sum: sum,
      baseUrl: 'https://m.example',
      filename: 'b.sh',
    });
    expect(errorOf(plus(section), { ...none, buildtools: '5.0.9' })).toBe(
      "input 'buildtools': buildtools 5.0.9 need the installer's SHA-256, and the config's buildtools section is for 5.0.8; expected the 'buildtools-sha256' input set to the sha256sum of the installer",
    );
    expect(errorOf(MIN, { ...none, buildtools: '5.0.9' })).toMatch(/need the installer's SHA-256, and none is given/);
    // The sum alone completes the file's section.
    expect(parse(plus('buildtools: { version: "4.0" }'), { ...none, buildtoolsSha256: sum }).buildtools).toEqual({
      version: '4.0',
      sha256sum: sum,
      baseUrl: undefined,
      filename: undefined,
    });
    expect(errorOf(MIN, { ...none, buildtoolsSha256: sum })).toMatch(
      /input 'buildtools': the 'buildtools-sha256' input is set, but no buildtools version is named/,
    );
    expect(errorOf(MIN, { ...none, buildtools: 'latest' })).toBe(
      `input 'buildtools': "latest" is not a Yocto release number; expected a release such as 5.0.8`,
    );
    expect(errorOf(MIN, { ...none, buildtools: '5.0.8', buildtoolsSha256: 'x' })).toBe(
      `input 'buildtools-sha256': "x" is not a SHA-256 sum; expected 64 hexadecimal digits (sha256sum of the installer)`,
    );
  });

  it('memory in docker format and fractional cpu_count', () => {
    for (const [m, want] of [
      ['8g', '8g'],
      ['512M', '512M'],
      ['1073741824', '1073741824'],
      ['"2048m"', '2048m'],
      ['100b', '100b'],
      ['64k', '64k'],
    ] as const) {
      expect(parse(plus(`container: { memory: ${m} }`)).container.memory).toBe(want);
    }
    expect(parse(plus('container: { cpu_count: 1.5 }')).container.cpuCount).toBe(1.5);
    expect(parse(plus('container: { cpu_count: "0.5" }')).container.cpuCount).toBe(0.5);
  });

  it('directories: ~ is the home directory, relative paths are relative to the config file', () => {
    const c = parse(
      plus('directories: { downloads: "~", sstate: ../shared/sstate, layers: /abs/layers }'),
      {},
      '/work/repo/smidr.yaml',
    );
    expect(c.directories).toEqual({ downloads: HOME, sstate: '/work/shared/sstate', layers: '/abs/layers' });
  });

  it('accepts local_conf lines of every operator, overrides, flags, and both quote styles', () => {
    const lines = [
      'A = "1"',
      'B ?= "2"',
      'C ??= "3"',
      'D := "${TOPDIR}/x"',
      'E += "4"',
      'F =+ "5"',
      'G .= "6"',
      'H =. "7"',
      "RDEPENDS:${PN}:append = ' x'",
      'do_fetch[network] = "1"',
      'I.=  "8"',
      'J="9"',
    ];
    expect(lines.map((l) => parseConfAssignment(l, 'x'))).toEqual([
      { variable: 'A', operator: '=', value: '1' },
      { variable: 'B', operator: '?=', value: '2' },
      { variable: 'C', operator: '??=', value: '3' },
      { variable: 'D', operator: ':=', value: '${TOPDIR}/x' },
      { variable: 'E', operator: '+=', value: '4' },
      { variable: 'F', operator: '=+', value: '5' },
      { variable: 'G', operator: '.=', value: '6' },
      { variable: 'H', operator: '=.', value: '7' },
      { variable: 'RDEPENDS:${PN}:append', operator: '=', value: ' x' },
      { variable: 'do_fetch[network]', operator: '=', value: '1' },
      { variable: 'I', operator: '.=', value: '8' },
      { variable: 'J', operator: '=', value: '9' },
    ]);
  });

  it('takes the value verbatim between the quotes, as BitBake does (no escapes)', () => {
    expect(parseConfAssignment(String.raw`  X = "say "hi" to C:\dir"  `, 'x')).toEqual({
      variable: 'X',
      operator: '=',
      value: String.raw`say "hi" to C:\dir`,
    });
    expect(parseConfAssignment(`X = 'say "hi'`, 'x').value).toBe('say "hi');
    expect(parseConfAssignment(`X = ''`, 'x').value).toBe('');
  });
});

describe('bad configs: every message names file, line, field and what is expected', () => {
  const cases: Array<[string, string, string | RegExp, ConfigOverrides?]> = [
    [
      'unknown key with a suggestion',
      withBuild('build: { image: x, machine: y,\n  bb_number_thread: 8 }'),
      'smidr.yaml:7: build.bb_number_thread: unknown key (did you mean bb_number_threads?); expected one of the keys of build: image, targets, machine, distro, parallel_make, bb_number_threads, local_conf, bitbake_args, extra_packages, extra_image_features, package_classes, inherit_classes, sstate, tmp, deploy',
    ],
    [
      'a near miss of a top-level key',
      plus('layerz: []'),
      /^smidr\.yaml:7: layerz: unknown key \(did you mean layers\?\); expected one of the keys of the top level: name, /,
    ],
    [
      'unknown layer key',
      withLayer('  - name: poky\n    git: https://git.yoctoproject.org/poky\n    brnach: kirkstone'),
      /^smidr\.yaml:5: layers\[0\]\.brnach: unknown key \(did you mean branch\?\); expected one of the keys of a layer: name, git, path, /,
    ],
    [
      'layers is a mapping',
      'name: t\nlayers: { poky: x }\nbuild: { image: x, machine: y }\n',
      /^smidr\.yaml:2: layers: is a mapping; expected a list of layers, each a mapping with name and git or path/,
    ],
    [
      'targets is a string',
      withBuild('build: { machine: y, targets: core-image-minimal }'),
      /^smidr\.yaml:6: build\.targets: "core-image-minimal" is a string; expected a list of targets, e\.g\. \[core-image-minimal, core-image-base\]/,
    ],
    [
      'name is a number',
      MIN.replace('name: t', 'name: 42'),
      'smidr.yaml:1: name: 42 is a number, not a string; expected a project name, e.g. name: my-project; write it in quotes: "42"',
    ],
    [
      'all-digit commit left unquoted',
      withLayer('  - name: poky\n    git: https://git.yoctoproject.org/poky\n    commit: 1234567'),
      'smidr.yaml:5: layers[0].commit: 1234567 is a number, not a string; expected 7 to 40 lowercase hex digits (git rev-parse HEAD); write it in quotes: "1234567"',
    ],
    [
      'base.version left unquoted',
      'name: t\nbase: { provider: poky, machine: m, version: 5.0 }\nbuild: { image: x }\n',
      'smidr.yaml:2: base.version: 5.0 is a number, not a string; expected a release version in quotes, e.g. "4.0.20" (the tag yocto-4.0.20); write it in quotes: "5.0"',
    ],
    [
      'layer with neither git nor path',
      withLayer('  - name: meta-x\n    branch: kirkstone'),
      'smidr.yaml:3: layers[0]: the layer has neither git nor path; expected git: <repository URL> for a repository to fetch, or path: <dir> for the checked-out repository (e.g. path: .)',
    ],
    [
      'layer with git and path',
      withLayer('  - name: meta-x\n    git: https://example.com/x\n    path: .'),
      'smidr.yaml:5: layers[0].path: a layer has both git and path; expected exactly one of them: git for a repository to fetch, path for the checked-out repository',
    ],
    [
      'tag with branch',
      withLayer(
        '  - name: poky\n    git: https://git.yoctoproject.org/poky\n    branch: kirkstone\n    tag: yocto-4.0.20',
      ),
      'smidr.yaml:6: layers[0].tag: tag cannot be combined with branch; expected either tag alone, or branch and/or commit',
    ],
    [
      'tag with commit',
      withLayer('  - { name: poky, git: https://git.yoctoproject.org/poky, tag: yocto-4.0.20, commit: abcdef0 }'),
      'smidr.yaml:3: layers[0].tag: tag cannot be combined with commit; expected either tag alone, or branch and/or commit',
    ],
    [
      'path with commit',
      withLayer('  - name: self\n    path: .\n    commit: abcdef0'),
      'smidr.yaml:5: layers[0].commit: a path layer takes no commit (it is built at the commit that is checked out); expected path alone, or git with branch, tag or commit',
    ],
    [
      'bad commit',
      withLayer('  - name: poky\n    git: https://git.yoctoproject.org/poky\n    commit: xyz'),
      'smidr.yaml:5: layers[0].commit: "xyz" is not a commit id; expected 7 to 40 lowercase hex digits (git rev-parse HEAD)',
    ],
    [
      'uppercase commit',
      withLayer('  - { name: poky, git: https://git.yoctoproject.org/poky, commit: ABCDEF0 }'),
      /^smidr\.yaml:3: layers\[0\]\.commit: "ABCDEF0" is not a commit id; expected 7 to 40 lowercase hex digits/,
    ],
    [
      'bad branch name',
      withLayer('  - { name: poky, git: https://git.yoctoproject.org/poky, branch: "a..b" }'),
      /^smidr\.yaml:3: layers\[0\]\.branch: "a\.\.b" is not a valid branch name; expected a git branch or tag name/,
    ],
    [
      'machine with a space',
      withBuild('build: { image: x, machine: "qemu x86" }'),
      'smidr.yaml:6: build.machine: "qemu x86" is not a valid MACHINE name; expected letters, digits and . _ + - (starting with a letter or digit), e.g. qemux86-64',
    ],
    [
      'machine with a quote',
      withBuild(`build: { image: x, machine: 'qemu"x' }`),
      /^smidr\.yaml:6: build\.machine: "qemu\\"x" is not a valid MACHINE name; expected letters, digits/,
    ],
    [
      'machine with a line break',
      withBuild('build: { image: x, machine: "qemu\\nx" }'),
      /^smidr\.yaml:6: build\.machine: "qemu\\nx" is not a valid MACHINE name;/,
    ],
    [
      'distro with $()',
      withBuild('build: { image: x, machine: y, distro: "$(id)" }'),
      /^smidr\.yaml:6: build\.distro: "\$\(id\)" is not a valid DISTRO name; expected letters, digits and \. _ \+ - \(starting with a letter or digit\), e\.g\. poky$/,
    ],
    [
      'base.machine with a space',
      'name: t\nbase: { machine: "a b" }\nlayers: [{ name: p, path: . }]\nbuild: { image: x }\n',
      /^smidr\.yaml:2: base\.machine: "a b" is not a valid MACHINE name;/,
    ],
    [
      'target with inline python',
      withBuild('build: { machine: y, targets: [ok, "${@os.system(1)}"] }'),
      /^smidr\.yaml:6: build\.targets\[1\]: "\$\{@os\.system\(1\)\}" is not a valid target; expected a recipe or image name/,
    ],
    [
      'image with a space',
      withBuild('build: { machine: y, image: "core image" }'),
      /^smidr\.yaml:6: build\.image: "core image" is not a valid target;/,
    ],
    [
      'duplicate layer names',
      withLayer('  - { name: poky, git: https://git.yoctoproject.org/poky }\n  - { name: Poky, path: . }'),
      'smidr.yaml:4: layers[1].name: layer name "Poky" is already used by layers[0]; expected a unique name for each layer (it names the layer\'s checkout directory)',
    ],
    [
      'layer name that is a path',
      withLayer('  - { name: ../x, git: https://example.com/x }'),
      'smidr.yaml:3: layers[0].name: "../x" is not a valid layer name; expected letters, digits and . _ - (starting with a letter or digit); it names the layer\'s directory',
    ],
    [
      'layer without a name',
      withLayer('  - { git: https://example.com/x }'),
      'smidr.yaml:3: layers[0].name: is missing; expected a layer name, e.g. name: meta-oe',
    ],
    [
      'layer that is a string',
      withLayer('  - meta-oe'),
      /^smidr\.yaml:3: layers\[0\]: "meta-oe" is a string; expected a mapping with name and git or path/,
    ],
    [
      'path escaping the repository',
      withLayer('  - { name: x, path: ../.. }'),
      'smidr.yaml:3: layers[0].path: "../.." leaves the config file\'s directory; expected a directory relative to the config file, inside its directory, e.g. . or meta-mylayer',
    ],
    [
      'path escaping after normalisation',
      withLayer('  - { name: x, path: a/../../b }'),
      /^smidr\.yaml:3: layers\[0\]\.path: "a\/\.\.\/\.\.\/b" leaves the config file's directory;/,
    ],
    [
      'absolute path',
      withLayer('  - { name: x, path: /src/meta-x }'),
      /^smidr\.yaml:3: layers\[0\]\.path: "\/src\/meta-x" is absolute; expected a directory relative to the config file/,
    ],
    [
      'sublayer with ..',
      withLayer('  - { name: x, path: ., sublayers: [meta, ../meta-y] }'),
      /^smidr\.yaml:3: layers\[0\]\.sublayers\[1\]: "\.\.\/meta-y" contains \.\.; expected directories inside the repository/,
    ],
    [
      'absolute sublayer',
      withLayer('  - { name: x, path: ., sublayers: [/meta] }'),
      /^smidr\.yaml:3: layers\[0\]\.sublayers\[0\]: "\/meta" is absolute;/,
    ],
    [
      'sublayer with a space',
      withLayer('  - { name: x, path: ., sublayers: ["meta x"] }'),
      /^smidr\.yaml:3: layers\[0\]\.sublayers\[0\]: "meta x" is not a plain relative directory;/,
    ],
    [
      'empty sublayers',
      withLayer('  - { name: x, path: ., sublayers: [] }'),
      /^smidr\.yaml:3: layers\[0\]\.sublayers: is an empty list; expected .*or no sublayers key to use every directory holding conf\/layer\.conf$/,
    ],
    [
      'git URL starting with -',
      withLayer('  - { name: x, git: "--upload-pack=touch /tmp/x" }'),
      /^smidr\.yaml:3: layers\[0\]\.git: "--upload-pack=touch \/tmp\/x" contains whitespace or a control character; expected a repository URL/,
    ],
    [
      'git option without spaces',
      withLayer('  - { name: x, git: "-oProxyCommand=x" }'),
      'smidr.yaml:3: layers[0].git: "-oProxyCommand=x" starts with "-", which git would read as an option; expected a repository URL git accepts (https://, ssh://, git://, file://, user@host:path) or a local path',
    ],
    [
      'ext:: transport',
      withLayer('  - { name: x, git: "ext::sh -c touch% /tmp/pwned" }'),
      /^smidr\.yaml:3: layers\[0\]\.git: "ext::sh -c touch% \/tmp\/pwned" contains whitespace/,
    ],
    [
      'ext:: transport without spaces',
      withLayer('  - { name: x, git: "ext::evil" }'),
      'smidr.yaml:3: layers[0].git: "ext::evil" uses the ext:: transport, which makes git run a command; expected a repository URL git accepts (https://, ssh://, git://, file://, user@host:path) or a local path',
    ],
    [
      'git URL with a newline',
      withLayer('  - { name: x, git: "https://example.com/x\\n" }'),
      /^smidr\.yaml:3: layers\[0\]\.git: "https:\/\/example\.com\/x\\n" contains whitespace or a control character;/,
    ],
    [
      'local_conf with a line break',
      withBuild(`build:\n  image: x\n  machine: y\n  local_conf:\n    - "A = \\"1\\"\\nB = \\"2\\""`),
      'smidr.yaml:10: build.local_conf[0]: "A = \\"1\\"\\nB = \\"2\\"" contains a line break; expected a single line: one assignment VAR op "value", e.g. INHERIT += "rm_work" (op is one of = ?= ??= := += =+ .= =.)',
    ],
    [
      'local_conf with inline python',
      withBuild(`build:\n  image: x\n  machine: y\n  local_conf: ['X = "\${@bb.utils.contains(1)}"']`),
      /^smidr\.yaml:9: build\.local_conf\[0\]: .* contains inline Python \(\$\{@…\}\), which is refused: these lines come from the config and workflow inputs, and BitBake would run the code; expected a plain value; put Python in a \.bbappend or a conf file in one of your layers$/,
    ],
    [
      'local_conf without quotes',
      withBuild(`build: { image: x, machine: y, local_conf: ['BB_NUMBER_THREADS = 4'] }`),
      'smidr.yaml:6: build.local_conf[0]: "BB_NUMBER_THREADS = 4": the value is not in quotes; expected BB_NUMBER_THREADS = "4"',
    ],
    [
      'local_conf require',
      withBuild(`build: { image: x, machine: y, local_conf: [require conf/x.conf] }`),
      'smidr.yaml:6: build.local_conf[0]: "require conf/x.conf" is a require directive, which is not an assignment; expected assignments only (VAR op "value"); keep includes in a conf file in one of your layers',
    ],
    [
      'local_conf inherit',
      withBuild(`build: { image: x, machine: y, local_conf: [inherit rm_work] }`),
      'smidr.yaml:6: build.local_conf[0]: "inherit rm_work" is an inherit directive, which is not an assignment; expected INHERIT += "rm_work" instead',
    ],
    [
      'local_conf with a comment after the value',
      withBuild(`build: { image: x, machine: y, local_conf: ['A = "1" # one'] }`),
      /^smidr\.yaml:6: build\.local_conf\[0\]: .*: the value must end with its closing " \(BitBake takes no comment after a value\); expected one assignment/,
    ],
    [
      'local_conf that is a number',
      withBuild(`build: { image: x, machine: y, local_conf: [1] }`),
      /^smidr\.yaml:6: build\.local_conf\[0\]: 1 is a number, not a string; expected one assignment VAR op "value"/,
    ],
    [
      'bad memory',
      plus('container: { memory: 8gb }'),
      'smidr.yaml:7: container.memory: "8gb" is not a memory size; expected a memory limit: a number of bytes, or a number with b, k, m or g, e.g. 8g',
    ],
    [
      'zero memory',
      plus('container: { memory: 0g }'),
      /^smidr\.yaml:7: container\.memory: "0g" is zero; expected a memory limit/,
    ],
    [
      'negative cpu_count',
      plus('container: { cpu_count: -2 }'),
      'smidr.yaml:7: container.cpu_count: -2 is not a positive number; expected a positive number of CPUs, e.g. 4 or 1.5',
    ],
    [
      'cpu_count that is not a number',
      plus('container: { cpu_count: many }'),
      'smidr.yaml:7: container.cpu_count: "many" is not a number; expected a positive number of CPUs, e.g. 4 or 1.5',
    ],
    [
      'bad container engine',
      plus('container: { engine: lxc }'),
      'smidr.yaml:7: container.engine: "lxc" is not a container engine; expected docker, podman, none',
    ],
    [
      'image starting with -',
      plus('container: { base_image: "--privileged" }'),
      /^smidr\.yaml:7: container\.base_image: "--privileged" is not an image reference;/,
    ],
    [
      'zero bb_number_threads',
      withBuild('build: { image: x, machine: y, bb_number_threads: 0 }'),
      'smidr.yaml:6: build.bb_number_threads: 0 is not a positive whole number; expected a positive whole number of BitBake tasks run at once, e.g. 8',
    ],
    [
      'fractional bb_number_threads',
      withBuild('build: { image: x, machine: y, bb_number_threads: 2.5 }'),
      /^smidr\.yaml:6: build\.bb_number_threads: 2\.5 is not a positive whole number;/,
    ],
    [
      'bb_number_threads as words',
      withBuild('build: { image: x, machine: y, bb_number_threads: eight }'),
      /^smidr\.yaml:6: build\.bb_number_threads: "eight" is not a number;/,
    ],
    [
      'bad parallel_make',
      withBuild('build: { image: x, machine: y, parallel_make: "-j 8 -l 8" }'),
      'smidr.yaml:6: build.parallel_make: "-j 8 -l 8" is not a job count; expected a job count: -j8, "-j 8" or 8',
    ],
    [
      'directory with an environment variable',
      plus('directories: { sstate: $HOME/sstate }'),
      'smidr.yaml:7: directories.sstate: "$HOME/sstate": environment variables are not expanded; expected an absolute path, ~/… or a path relative to the config file',
    ],
    [
      'bare ~ as a directory',
      plus('directories: { downloads: ~ }'),
      'smidr.yaml:7: directories.downloads: ~ alone is YAML for "no value"; expected an absolute path, ~/… or a path relative to the config file; for the home directory write "~" in quotes',
    ],
    [
      'directory of another user',
      plus('directories: { layers: ~bob/layers }'),
      /^smidr\.yaml:7: directories\.layers: "~bob\/layers": only ~ \(your home\) is expanded, not ~user;/,
    ],
    [
      'YAML syntax error',
      'name: t\nlayers:\n  - name: poky\n   git: x\n',
      /^smidr\.yaml:4: invalid YAML: .+; expected valid YAML; check the indentation and quoting on that line$/,
    ],
    [
      'duplicate YAML key',
      'name: t\nname: u\n',
      'smidr.yaml:2: invalid YAML: Map keys must be unique; expected valid YAML; check the indentation and quoting on that line',
    ],
    [
      'empty file',
      '',
      'smidr.yaml:1: the file is empty; expected a mapping with at least name and layers (see docs/config.md)',
    ],
    ['file of comments only', '# name: t\n\n', /^smidr\.yaml:1: the file is empty;/],
    [
      'top level is a list',
      '- name: t\n',
      'smidr.yaml:1: the top level is a list; expected a mapping of keys: name, description, yocto_series, base, directories, layers, build, container, packages, features, advanced, artifacts, cache, buildtools',
    ],
    [
      'no name',
      MIN.replace('name: t\n', ''),
      'smidr.yaml:1: name: is missing; expected a project name, e.g. name: my-project',
    ],
    [
      'a provider that is not a name',
      MIN.replace('name: t', 'name: t\nbase: { provider: "a b" }'),
      'smidr.yaml:2: base.provider: "a b" is not a provider name; expected a label such as poky, none, toradex or raspberrypi (letters, digits and . _ + - (starting with a letter or digit)); only poky adds a layer',
    ],
    [
      'poky without a version, a series or a layer',
      'name: t\nbase: { provider: poky, machine: m }\nbuild: { image: x }\n',
      'smidr.yaml:2: base.provider: poky is not listed in layers, and neither base.version nor yocto_series says which poky to use; expected a layer named poky under layers, base.version (e.g. "4.0.20"), or yocto_series (e.g. kirkstone)',
    ],
    [
      'poky provider beside the split layout',
      'name: t\nbase: { provider: poky, machine: m, version: "5.0" }\nlayers: [{ name: openembedded-core, git: https://git.openembedded.org/openembedded-core }]\nbuild: { image: x }\n',
      /^smidr\.yaml:2: base\.provider: poky would add a poky layer beside the listed layer openembedded-core \(the split layout\); expected provider: none/,
    ],
    [
      'base.version that is not a version',
      MIN.replace('name: t', 'name: t\nbase: { version: "4.x" }'),
      /^smidr\.yaml:2: base\.version: "4\.x" is not a poky version;/,
    ],
    [
      'bad yocto_series',
      MIN.replace('name: t', 'name: t\nyocto_series: Kirkstone'),
      /^smidr\.yaml:2: yocto_series: "Kirkstone" is not a Yocto series name; expected a release codename in lowercase/,
    ],
    [
      'no machine anywhere',
      withBuild('build: { image: core-image-minimal }'),
      "smidr.yaml: build.machine: no MACHINE is set; expected build.machine, base.machine or the 'machine' input",
    ],
    [
      'no target',
      withBuild('build: { machine: qemux86-64 }'),
      "smidr.yaml:6: build.targets: nothing to build; expected build.image, build.targets or the 'target' input",
    ],
    [
      'no layers',
      'name: t\nbuild: { image: x, machine: y }\n',
      /^smidr\.yaml:1: layers: no layers; expected at least one layer under layers, or base: \{ provider: poky, version: … \}$/,
    ],
    [
      'bad machine input',
      MIN,
      `input 'machine': "qemu x86 \\"\\n" is not a valid MACHINE name; expected letters, digits and . _ + - (starting with a letter or digit), e.g. qemux86-64`,
      { machine: 'qemu x86 "\n' },
    ],
    ['bad distro input', MIN, /^input 'distro': "\$\(reboot\)" is not a valid DISTRO name;/, { distro: '$(reboot)' }],
    [
      'bad target input',
      MIN,
      /^input 'target': "core-image-minimal;id" is not a valid target; expected recipe or image names/,
      { targets: ['ok', 'core-image-minimal;id'] },
    ],
    [
      'bad container-engine input',
      MIN,
      `input 'container-engine': "dockr" is not a container engine; expected docker, podman, none`,
      { containerEngine: 'dockr' },
    ],
    [
      'bad container-image input',
      MIN,
      /^input 'container-image': "-v \/:\/host" is not an image reference;/,
      { containerImage: '-v /:/host' },
    ],
    [
      'bad local-conf input',
      MIN,
      `input 'local-conf': "X = \\"\${@os.getcwd()}\\"" contains inline Python (\${@…}), which is refused: these lines come from the config and workflow inputs, and BitBake would run the code; expected a plain value; put Python in a .bbappend or a conf file in one of your layers`,
      { localConf: ['X = "${@os.getcwd()}"'] },
    ],
    [
      'bad bitbake-args input',
      MIN,
      /^input 'bitbake-args': "-k\\nrm" contains a line break or control character;/,
      { bitbakeArgs: ['-k\nrm'] },
    ],
  ];

  it('has at least 20 distinct cases', () => {
    expect(new Set(cases.map((c) => c[0])).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const [title, text, want, overrides] of cases) {
    it(title, () => {
      const message = errorOf(text, overrides);
      if (typeof want === 'string') expect(message).toBe(want);
      else expect(message).toMatch(want);
    });
  }

  it('reports a missing config file with its path and what to do', () => {
    const file = path.join(FIXTURES, 'does-not-exist.yaml');
    expect(() => loadConfig(file, {}, { naming: INPUT_NAMING })).toThrow(ConfigError);
    expect(() => loadConfig(file, {}, { naming: INPUT_NAMING })).toThrow(
      `${file}: config file not found; expected a Smidr config there: create it (see docs/config.md) or set the 'config' input to its path`,
    );
  });

  it('reports a directory given as the config file', () => {
    expect(() => loadConfig(FIXTURES, {}, { naming: INPUT_NAMING })).toThrow(
      `${FIXTURES}: is a directory; expected the path of a Smidr config file (smidr.yaml)`,
    );
  });

  it('reports every problem at once, in line order, inputs last', () => {
    const text = `name: t
layers:
  - { name: poky, git: https://git.yoctoproject.org/poky, commit: xyz }
build: { image: "a b", machine: qemux86-64 }
container: { memory: lots }
`;
    const lines = errorOf(text, { containerEngine: 'lxc' }).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^smidr\.yaml:3: layers\[0\]\.commit: /);
    expect(lines[1]).toMatch(/^smidr\.yaml:4: build\.image: /);
    expect(lines[2]).toMatch(/^smidr\.yaml:5: container\.memory: /);
    expect(lines[3]).toMatch(/^input 'container-engine': /);
  });

  it('does not add "no MACHINE" when the machine given is invalid', () => {
    expect(errorOf(withBuild('build: { image: x, machine: "a b" }')).split('\n')).toHaveLength(1);
    expect(errorOf(MIN, { machine: 'a b' }).split('\n')).toHaveLength(1);
  });

  it('an input override does not excuse an invalid value in the file', () => {
    expect(errorOf(withBuild('build: { image: x, machine: "a b" }'), { machine: 'qemux86-64' })).toMatch(
      /^smidr\.yaml:6: build\.machine: /,
    );
  });

  it('shows the file name as given', () => {
    expect(errorOf('', {}, '/abs/dir/smidr.yaml')).toMatch(/^\/abs\/dir\/smidr\.yaml:1: /);
  });
});

describe('parseConfAssignment refuses', () => {
  const bad: Array<[string, string | RegExp]> = [
    [
      "X = 'it's'",
      /the value holds exactly one ', a line BitBake cannot parse; expected no ' or at least two inside the value, or the other kind of quotes around it$/,
    ],
    ['X = "a"b"', /the value holds exactly one ", a line BitBake cannot parse;/],
    [
      'X = "open',
      /the value must end with its closing " \(BitBake takes no comment after a value\); expected one assignment/,
    ],
    ['X == "1"', /: the value is not in quotes; expected X = "= "1""$/],
    [
      'export X = "1"',
      /^input 'local-conf': "export X = \\"1\\"" is a BitBake "export" statement, not an assignment; expected one assignment/,
    ],
    ['export X', /is a BitBake "export" statement, not an assignment;/],
    ['unset X', /is a BitBake "unset" statement, not an assignment;/],
    ['include conf/a.conf', /is an include directive, which is not an assignment; expected assignments only/],
    ['inherit_defer rm_work', /expected INHERIT \+= "rm_work" instead$/],
    ['X Y = "1"', /"X Y = \\"1\\"" is not an assignment;/],
    ['', /the line is empty; expected one assignment/],
    ['# comment', /is not an assignment;/],
    ['X = "\u0007"', /contains a control character;/],
    ['X\r = "1"', /contains a line break;/],
  ];
  for (const [line, want] of bad) {
    it(JSON.stringify(line), () => {
      expect(() => parseConfAssignment(line, "input 'local-conf'")).toThrow(ConfigError);
      try {
        parseConfAssignment(line, "input 'local-conf'");
      } catch (e) {
        if (typeof want === 'string') expect((e as Error).message).toBe(want);
        else expect((e as Error).message).toMatch(want);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The JSON Schema: in sync with the parser's key table and names.ts, and it accepts what the
// parser accepts. No schema library is installed, so the test carries a small validator for
// exactly the keywords the schema uses, and fails if the schema uses any other.

type Schema = Record<string, unknown>;
const schema = JSON.parse(readFileSync(path.join(ROOT, 'schema/smidr.schema.json'), 'utf8')) as Schema;
const defs = schema.$defs as Record<string, Schema>;

const SECTION_SCHEMA: Record<ConfigSection, Schema> = {
  root: schema,
  base: defs.base!,
  directories: defs.directories!,
  layer: defs.layer!,
  build: defs.build!,
  container: defs.container!,
  packages: defs.packages!,
  features: defs.features!,
  advanced: defs.advanced!,
  buildtools: defs.buildtools!,
};

const KEYWORDS = new Set([
  '$schema',
  '$id',
  '$ref',
  '$defs',
  'title',
  'description',
  'examples',
  'default',
  'type',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'enum',
  'pattern',
  'minimum',
  'exclusiveMinimum',
  'minLength',
  'minItems',
  'uniqueItems',
  'oneOf',
  'anyOf',
  'not',
  'dependentSchemas',
]);

/** Every subschema, with its JSON pointer. */
function* subschemas(s: Schema, at = '#'): Generator<[string, Schema]> {
  yield [at, s];
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties' || k === '$defs' || k === 'dependentSchemas') {
      for (const [name, sub] of Object.entries(v as Record<string, Schema>))
        yield* subschemas(sub, `${at}/${k}/${name}`);
    } else if (k === 'items' || k === 'not') {
      yield* subschemas(v as Schema, `${at}/${k}`);
    } else if (k === 'oneOf' || k === 'anyOf') {
      for (const [i, sub] of (v as Schema[]).entries()) yield* subschemas(sub, `${at}/${k}/${i}`);
    }
  }
}

function validate(s: Schema, v: unknown, at = ''): string[] {
  const errs: string[] = [];
  if (typeof s.$ref === 'string') errs.push(...validate(defs[s.$ref.replace('#/$defs/', '')]!, v, at));
  if (s.type !== undefined) {
    const types = ([] as string[]).concat(s.type as string | string[]);
    const actual = Array.isArray(v)
      ? 'array'
      : v === null
        ? 'null'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? 'integer'
            : 'number'
          : typeof v;
    if (!types.some((t) => t === actual || (t === 'number' && actual === 'integer')))
      return [`${at}: type ${actual}, not ${types.join('|')}`];
  }
  if (s.enum && !(s.enum as unknown[]).includes(v)) errs.push(`${at}: not in enum`);
  if (typeof v === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v))
      errs.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
    if (typeof s.minLength === 'number' && [...v].length < s.minLength) errs.push(`${at}: too short`);
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) errs.push(`${at}: below minimum`);
    if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum)
      errs.push(`${at}: not above exclusiveMinimum`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) errs.push(`${at}: too few items`);
    if (s.uniqueItems && new Set(v.map((x) => JSON.stringify(x))).size !== v.length)
      errs.push(`${at}: items not unique`);
    if (s.items) v.forEach((x, i) => errs.push(...validate(s.items as Schema, x, `${at}[${i}]`)));
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) errs.push(`${at}: missing ${r}`);
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) errs.push(...validate(props[k]!, x, `${at}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${at}: unknown key ${k}`);
    }
    for (const [k, dep] of Object.entries((s.dependentSchemas ?? {}) as Record<string, Schema>))
      if (k in o) errs.push(...validate(dep, v, at));
  }
  if (s.oneOf && (s.oneOf as Schema[]).filter((x) => validate(x, v, at).length === 0).length !== 1)
    errs.push(`${at}: not exactly one of oneOf`);
  if (s.anyOf && !(s.anyOf as Schema[]).some((x) => validate(x, v, at).length === 0)) errs.push(`${at}: none of anyOf`);
  if (s.not && validate(s.not as Schema, v, at).length === 0) errs.push(`${at}: matches not`);
  return errs;
}

const fixture = (name: string) => parseYaml(readFileSync(path.join(FIXTURES, name), 'utf8')) as unknown;

describe('schema/smidr.schema.json', () => {
  it('is a draft 2020-12 schema with an $id and required fields', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\/.+\/smidr\.schema\.json$/);
    expect(schema.required).toEqual(['name']);
    expect(defs.layer!.required).toEqual(['name']);
  });

  it('lists exactly the keys the parser accepts, section by section', () => {
    for (const [section, keys] of Object.entries(CONFIG_KEYS) as Array<[ConfigSection, readonly string[]]>) {
      expect(Object.keys(SECTION_SCHEMA[section].properties as object), section).toEqual([...keys]);
      expect(SECTION_SCHEMA[section].additionalProperties, section).toBe(false);
    }
    const props = schema.properties as Record<string, Schema>;
    for (const s of ['base', 'directories', 'build', 'container', 'packages', 'features', 'advanced', 'buildtools'])
      expect(props[s]!.$ref).toBe(`#/$defs/${s}`);
    expect((props.layers!.items as Schema).$ref).toBe('#/$defs/layer');
    expect(Object.keys(defs).sort()).toEqual([
      'advanced',
      'base',
      'build',
      'buildtools',
      'container',
      'directories',
      'features',
      'layer',
      'packages',
    ]);
  });

  it('uses only keywords the test understands, closes every object, and documents every property', () => {
    for (const [at, s] of subschemas(schema)) {
      for (const k of Object.keys(s)) expect(KEYWORDS.has(k), `${at}: keyword ${k}`).toBe(true);
      if (s.type === 'object') expect(s.additionalProperties, at).toBe(false);
      if (typeof s.pattern === 'string') expect(() => new RegExp(s.pattern as string, 'u'), at).not.toThrow();
      for (const [name, p] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
        expect(
          typeof p.title === 'string' && typeof p.description === 'string',
          `${at}/properties/${name}: title and description`,
        ).toBe(true);
      }
    }
  });

  it('uses the names.ts patterns', () => {
    const props = (d: string) => defs[d]!.properties as Record<string, Schema>;
    expect(props('base').machine!.pattern).toBe(names.BITBAKE_NAME.source);
    expect(props('base').distro!.pattern).toBe(names.BITBAKE_NAME.source);
    expect(props('base').version!.pattern).toBe(names.POKY_VERSION.source);
    expect(props('build').machine!.pattern).toBe(names.BITBAKE_NAME.source);
    expect(props('build').distro!.pattern).toBe(names.BITBAKE_NAME.source);
    expect(props('build').image!.pattern).toBe(names.BITBAKE_TARGET.source);
    expect((props('build').targets!.items as Schema).pattern).toBe(names.BITBAKE_TARGET.source);
    expect(props('layer').name!.pattern).toBe(names.LAYER_NAME.source);
    expect(props('layer').commit!.pattern).toBe(names.COMMIT.source);
    expect(props('container').base_image!.pattern).toBe(names.CONTAINER_IMAGE.source);
    expect(props('container').engine!.enum).toEqual(['docker', 'podman', 'none']);
    expect(props('base').provider!.pattern).toBe(names.BITBAKE_NAME.source);
  });

  it('agrees with names.ts where a pattern stands for a function', () => {
    const props = (d: string) => defs[d]!.properties as Record<string, Schema>;
    const ref = new RegExp(props('layer').branch!.pattern as string, 'u');
    for (const r of [
      'kirkstone',
      'yocto-4.0.20',
      'feature/x',
      '2.18',
      'a+b',
      'v1.0',
      '-x',
      '/x',
      'x/',
      'x.',
      '.x',
      'a..b',
      'a//b',
      'a/.b',
      'x.lock',
      'a b',
      'a~b',
      'a:b',
      '',
    ]) {
      expect(ref.test(r), r).toBe(names.isValidRefName(r));
    }
    const sub = new RegExp((props('layer').sublayers!.items as Schema).pattern as string, 'u');
    for (const d of [
      '.',
      'meta',
      'meta-oe',
      'a/b',
      'a+b_c.d',
      '..',
      '../x',
      'a/../b',
      'a/./b',
      '/a',
      'a b',
      'a//b',
      '.hidden',
    ]) {
      expect(sub.test(d), d).toBe(names.isRepoSubdir(d));
    }
    const series = new RegExp((schema.properties as Record<string, Schema>).yocto_series!.pattern as string, 'u');
    for (const s of ['kirkstone', 'master', '6.0', 'Kirkstone', 'a..b', 'x.lock', 'x.', '-x']) {
      expect(series.test(s), s).toBe(names.YOCTO_SERIES.test(s) && names.isValidRefName(s));
    }
    const git = new RegExp(props('layer').git!.pattern as string, 'u');
    for (const u of ['https://x/y', 'git@h:p.git', './rel', '-x', 'ext::sh', 'fd::3', 'a b', 'x\ny', '']) {
      expect(git.test(u), u).toBe(names.gitUrlProblem(u) === undefined);
    }
  });

  it('accepts the fixtures the parser accepts', () => {
    for (const f of ['seed.yaml', 'split.yaml', 'layer-ci.yaml', 'local-git.yaml']) {
      expect(validate(schema, fixture(f)), f).toEqual([]);
    }
  });

  it('accepts every local_conf line the parser accepts and refuses the ones it refuses', () => {
    const item = (defs.build!.properties as Record<string, Schema>).local_conf!.items as Schema;
    for (const l of [
      'A = "1"',
      "B ??= 'x'",
      'RDEPENDS:${PN}:append = " x"',
      'do_x[network] = "1"',
      'X = "a "b" c"',
      `X = 'say "hi'`,
    ]) {
      expect(validate(item, l), l).toEqual([]);
      expect(() => parseConfAssignment(l, 'x')).not.toThrow();
    }
    for (const l of ['A = 1', 'require x.conf', 'X = "${@1}"', 'A = "1" # c', 'X = "a\nb"', "X = 'a'b'", 'X = "a"b"']) {
      expect(validate(item, l), l).not.toEqual([]);
      expect(() => parseConfAssignment(l, 'x')).toThrow(ConfigError);
    }
  });

  it('refuses what the parser refuses for structure', () => {
    const bad: Array<[string, unknown]> = [
      ['no name', { layers: [] }],
      ['unknown key', { name: 't', build: { bb_number_thread: 8 } }],
      ['neither git nor path', { name: 't', layers: [{ name: 'x' }] }],
      ['git and path', { name: 't', layers: [{ name: 'x', git: 'https://x', path: '.' }] }],
      ['tag and branch', { name: 't', layers: [{ name: 'x', git: 'https://x', tag: 'v1', branch: 'main' }] }],
      ['tag and commit', { name: 't', layers: [{ name: 'x', git: 'https://x', tag: 'v1', commit: 'abcdef0' }] }],
      ['path and commit', { name: 't', layers: [{ name: 'x', path: '.', commit: 'abcdef0' }] }],
      ['bad commit', { name: 't', layers: [{ name: 'x', git: 'https://x', commit: 'xyz' }] }],
      ['bad memory', { name: 't', container: { memory: '8gb' } }],
      ['zero memory', { name: 't', container: { memory: 0 } }],
      ['negative cpu_count', { name: 't', container: { cpu_count: -1 } }],
      ['zero bb_number_threads', { name: 't', build: { bb_number_threads: '0' } }],
      ['bad engine', { name: 't', container: { engine: 'lxc' } }],
      ['bad provider', { name: 't', base: { provider: 'a b' } }],
      ['bad package class', { name: 't', packages: { classes: 'package_tar' } }],
      ['bad hash server', { name: 't', advanced: { bb_hashserve: 'sometimes' } }],
      ['number version', { name: 't', base: { version: 5 } }],
      ['machine with a space', { name: 't', build: { machine: 'a b' } }],
      ['path escaping', { name: 't', layers: [{ name: 'x', path: '../..' }] }],
      ['empty sublayers', { name: 't', layers: [{ name: 'x', path: '.', sublayers: [] }] }],
      ['directory with a variable', { name: 't', directories: { sstate: '$HOME/s' } }],
    ];
    for (const [title, doc] of bad) expect(validate(schema, doc), title).not.toEqual([]);
  });
});

describe('overrides are named as their source names them', () => {
  const bad = { machine: 'bad name' };
  it('the action names inputs', () => {
    expect(errorOf(MIN, bad)).toBe(
      `input 'machine': "bad name" is not a valid MACHINE name; expected letters, digits and . _ + - (starting with a letter or digit), e.g. qemux86-64`,
    );
    expect(errorOf(MIN.replace(', machine: qemux86-64', ''))).toMatch(/or the 'machine' input$/);
  });
  it('the CLI names flags', () => {
    const cli = (text: string, o: ConfigOverrides) => {
      try {
        parseConfig(text, 'smidr.yaml', o, { home: HOME, naming: FLAG_NAMING });
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(cli(MIN, bad)).toBe(
      `--machine: "bad name" is not a valid MACHINE name; expected letters, digits and . _ + - (starting with a letter or digit), e.g. qemux86-64`,
    );
    expect(cli(MIN, { localConf: ['inherit x'] })).toMatch(/^--local-conf: "inherit x" is an inherit directive/);
    expect(cli(MIN, { targets: ['a;b'] })).toMatch(/^--target: "a;b" is not a valid target/);
    expect(cli(MIN.replace(', machine: qemux86-64', ''), {})).toMatch(/or --machine$/);
    expect(() => loadConfig('/nonexistent/smidr.yaml', {}, { naming: FLAG_NAMING })).toThrow(
      /or set --config to its path/,
    );
  });
});
