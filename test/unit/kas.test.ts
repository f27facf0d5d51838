/**
 * kas project files: the merge rules and the mapping onto BuildConfig, against the examples in
 * kas's own documentation (docs/userguide/project-configuration.rst, siemens/kas 5.x).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { INPUT_NAMING } from '../../src/action/inputs.js';
import { renderBblayersConf, renderKasLocalConf } from '../../src/bitbake/conf.js';
import type { BuildConfig } from '../../src/config/config.js';
import { kasDump } from '../../src/config/kas/dump.js';
import { isKasText, lockFileOf, mergeKas, mergeKasFiles, readKasFiles } from '../../src/config/kas/files.js';
import { finishKasConfig, isKasConfig, kasFileList, loadKasConfig, loadKasProject } from '../../src/config/kas/load.js';
import { ConfigError } from '../../src/util/errors.js';
import { log } from '../../src/util/log.js';

let repo: string;

/** A repository (a directory with .git) holding the given files. */
function makeRepo(files: Record<string, string>, dir = mkdtempSync(path.join(os.tmpdir(), 'kas-'))): string {
  mkdirSync(path.join(dir, '.git'), { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

function load(file: string, env: Record<string, string> = {}, repoDirs?: Map<string, string>): BuildConfig {
  return loadKasConfig(file, env, { home: '/home/u', repoDirs, quiet: true });
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const POKY = `
  poky:
    url: "https://git.yoctoproject.org/git/poky"
    commit: 89e6c98d92887913cadf06b2adb97f26cde4849b
    layers:
      meta:
      meta-poky:
      meta-yocto-bsp:
`;

describe('kas merge rules', () => {
  it('merges mappings recursively and lets a later value replace an earlier one, lists included', () => {
    const a = { repos: { poky: { url: 'u', layers: { meta: null } } }, target: ['a', 'b'], machine: 'm1' };
    const b = { repos: { poky: { layers: { 'meta-poky': null } } }, target: ['c'], distro: 'poky' };
    expect(mergeKas(a, b)).toEqual({
      repos: { poky: { url: 'u', layers: { meta: null, 'meta-poky': null } } },
      target: ['c'],
      machine: 'm1',
      distro: 'poky',
    });
    // Key order is the order keys were first added (it is the order of local_conf_header in kas's docs).
    expect(Object.keys(mergeKas({ x: 1, y: 2 }, { z: 3, x: 4 }))).toEqual(['x', 'y', 'z']);
  });

  it('sets header.version to the highest version of any file', () => {
    const merged = mergeKasFiles([
      { header: { version: 14 } },
      { header: { version: 11 } },
      { header: { version: '0.10' } },
    ]);
    expect(merged.header).toEqual({ version: 14 });
  });

  it('reads includes depth first, top to bottom, the including file last (includehandler docstring)', () => {
    repo = makeRepo({
      'topfile.yml': 'header:\n  version: 14\n  includes: [include1.yml, include3.yml]\nmachine: top\n',
      'include1.yml': 'header:\n  version: 14\n  includes: [include2.yml]\nmachine: one\ndistro: one\n',
      'include2.yml': 'header:\n  version: 14\nmachine: two\ndistro: two\ntask: two\n',
      'include3.yml': 'header:\n  version: 14\ndistro: three\n',
    });
    const read = readKasFiles([path.join(repo, 'topfile.yml')]);
    expect(read.files.map((f) => path.basename(f.file))).toEqual([
      'include2.yml',
      'include1.yml',
      'include3.yml',
      'topfile.yml',
    ]);
    expect(read.merged).toMatchObject({ machine: 'top', distro: 'three', task: 'two' });
  });

  it('resolves a local include against the repository root, falling back to the file with a note', () => {
    repo = makeRepo({
      'kas/ci.yml': 'header:\n  version: 14\n  includes: [kas/base.yml, machine.yml]\n',
      'kas/base.yml': 'header:\n  version: 14\ndistro: poky\n',
      'kas/machine.yml': 'header:\n  version: 14\nmachine: qemuarm64\n',
    });
    const read = readKasFiles([path.join(repo, 'kas/ci.yml')]);
    expect(read.merged).toMatchObject({ distro: 'poky', machine: 'qemuarm64' });
    expect(read.notes).toHaveLength(1);
    expect(read.notes[0]).toMatch(/ci\.yml:3: include "machine.yml" is not at the repository root/);
  });

  it('refuses an include outside the repository and an include cycle', () => {
    repo = makeRepo({
      'a.yml': 'header:\n  version: 14\n  includes: [../x.yml]\n',
      'b.yml': 'header:\n  version: 14\n  includes: [c.yml]\n',
      'c.yml': 'header:\n  version: 14\n  includes: [b.yml]\n',
    });
    expect(errorOf(() => readKasFiles([path.join(repo, 'a.yml')]))).toMatch(/outside the repository/);
    expect(errorOf(() => readKasFiles([path.join(repo, 'b.yml')]))).toMatch(/includes itself/);
  });

  it('combines a colon-separated list like one file including them all (kas-base.yml:debug-image.yml:board.yml)', () => {
    repo = makeRepo({
      'kas-base.yml': `header:\n  version: 14\nmachine: qemux86-64\nrepos:\n${POKY}`,
      'debug-image.yml': 'header:\n  version: 14\ntarget: core-image-full-cmdline\n',
      'board.yml': 'header:\n  version: 14\nmachine: qemuarm64\n',
    });
    const list = ['kas-base.yml', 'debug-image.yml', 'board.yml'].map((f) => path.join(repo, f)).join(':');
    expect(kasFileList(list)).toHaveLength(3);
    expect(isKasConfig(list)).toBe(true);
    const c = load(list);
    expect(c.machine).toBe('qemuarm64');
    expect(c.targets).toEqual(['core-image-full-cmdline']);
  });

  it('loads <file>.lock.<ext> right before the file, so its commit overrides the branch (kas-isar.lock.yml)', () => {
    repo = makeRepo({
      'kas/kas-isar.yml':
        'header:\n  version: 14\nrepos:\n  isar:\n    url: https://github.com/ilbers/isar.git\n    branch: next\n',
      'kas/kas-isar.lock.yml':
        'header:\n  version: 14\noverrides:\n  repos:\n    isar:\n      commit: 0336610df8bb0adce76ef8c5a921c758efed9f45\n',
    });
    expect(lockFileOf(path.join(repo, 'kas/kas-isar.yml'))).toBe(path.join(repo, 'kas/kas-isar.lock.yml'));
    const read = readKasFiles([path.join(repo, 'kas/kas-isar.yml')]);
    expect(read.files.map((f) => [path.basename(f.file), f.lock])).toEqual([
      ['kas-isar.lock.yml', true],
      ['kas-isar.yml', false],
    ]);
    const c = load(path.join(repo, 'kas/kas-isar.yml'));
    expect(c.layers[0]!.source).toEqual({
      kind: 'git',
      url: 'https://github.com/ilbers/isar.git',
      branch: 'next',
      commit: '0336610df8bb0adce76ef8c5a921c758efed9f45',
    });
  });
});

describe('local_conf_header and bblayers_conf_header', () => {
  it('writes the snippets sorted by name, a later file replacing a snippet of the same name', () => {
    repo = makeRepo({
      'base.yml':
        'header:\n  version: 14\nlocal_conf_header:\n  meta-custom: |\n    PATCHRESOLVE = "noop"\n    CONF_VERSION = "1"\n    IMAGE_FSTYPES = "tar"\n  a-first: |\n    A = "1"\n',
      'ci.yml':
        'header:\n  version: 14\n  includes: [base.yml]\nlocal_conf_header:\n  meta-custom: |\n    IMAGE_FSTYPES = "wic"\nbblayers_conf_header:\n  meta-custom: |\n    POKY_BBLAYERS_CONF_VERSION = "2"\n    BBPATH = "${TOPDIR}"\n    BBFILES ?= ""\n',
    });
    const c = load(path.join(repo, 'ci.yml'));
    expect(c.confText!.localConf).toBe('# a-first\nA = "1"\n\n# meta-custom\nIMAGE_FSTYPES = "wic"\n\n');
    expect(c.confText!.bblayersConf).toBe(
      '# meta-custom\nPOKY_BBLAYERS_CONF_VERSION = "2"\nBBPATH = "${TOPDIR}"\nBBFILES ?= ""\n\n',
    );
  });

  it('keeps a snippet as written, inline Python included: it comes from the repository like a recipe', () => {
    repo = makeRepo({
      'ci.yml':
        'header:\n  version: 14\nlocal_conf_header:\n  py: |\n    X = "${@d.getVar(\'MACHINE\')}"\n    inherit_defer foo\n',
    });
    expect(load(path.join(repo, 'ci.yml')).confText!.localConf).toContain(
      `X = "\${@d.getVar('MACHINE')}"\ninherit_defer foo`,
    );
  });
});

describe('repos', () => {
  it("maps the user guide's minimal project: a repo without url is the file's repository, without layers the repo itself", () => {
    repo = makeRepo({
      'kas.yml': `header:\n  version: 14\nmachine: qemux86-64\ndistro: poky\nrepos:\n  meta-custom:\n${POKY}`,
    });
    const c = load(path.join(repo, 'kas.yml'));
    expect(c.dir).toBe(repo);
    expect(c.layers).toEqual([
      { name: 'meta-custom', source: { kind: 'path', path: '.' }, sublayers: ['.'] },
      {
        name: 'poky',
        source: {
          kind: 'git',
          url: 'https://git.yoctoproject.org/git/poky',
          commit: '89e6c98d92887913cadf06b2adb97f26cde4849b',
        },
        sublayers: ['meta', 'meta-poky', 'meta-yocto-bsp'],
      },
    ]);
    expect(c).toMatchObject({
      machine: 'qemux86-64',
      distro: 'poky',
      targets: ['core-image-minimal'],
      bitbakeArgs: [],
    });
  });

  it('takes kas defaults: MACHINE qemux86-64, DISTRO nodistro, target core-image-minimal, task build', () => {
    repo = makeRepo({ 'kas.yml': 'header:\n  version: 14\n' });
    expect(load(path.join(repo, 'kas.yml'))).toMatchObject({
      machine: 'qemux86-64',
      distro: 'nodistro',
      targets: ['core-image-minimal'],
      bitbakeArgs: [],
      layers: [],
    });
  });

  it('leaves out a disabled layer, re-enables it with null, and orders by prio', () => {
    repo = makeRepo({
      'base.yml': `header:\n  version: 14\nrepos:\n${POKY}      meta-skeleton:\n`,
      'ci.yml':
        'header:\n  version: 14\n  includes: [base.yml]\nrepos:\n  poky:\n    layers:\n      meta-yocto-bsp: disabled\n      meta-skeleton: excluded\n      meta-poky: { prio: 10 }\n',
    });
    const warn = vi.spyOn(log, 'warning').mockImplementation(() => {});
    const c = loadKasConfig(path.join(repo, 'ci.yml'), {}, { home: '/h' });
    expect(c.layers[0]!.sublayers).toEqual(['meta', 'meta-poky']);
    expect(c.layers[0]!.priorities).toEqual({ 'meta-poky': 10 });
    expect(c.kas!.repos[0]!.disabled).toEqual(['meta-yocto-bsp', 'meta-skeleton']);
    expect(warn.mock.calls.map((x) => x[0])).toEqual([
      expect.stringMatching(
        /ci\.yml:8: repos\.poky\.layers\.meta-skeleton: "excluded" is deprecated in kas; write disabled/,
      ),
    ]);
  });

  it('applies defaults.repos (branch, tag; null removes a default) and overrides.repos', () => {
    repo = makeRepo({
      'kas.yml': [
        'header:\n  version: 14',
        'defaults:\n  repos:\n    branch: scarthgap\n    patches:\n      repo: meta-custom',
        'overrides:\n  repos:\n    meta-oe:\n      url: https://mirror.example/meta-openembedded',
        'repos:',
        '  meta-custom:',
        '  poky:\n    url: https://git.yoctoproject.org/poky',
        '  meta-oe:\n    url: https://git.openembedded.org/meta-openembedded\n    branch: null\n    tag: "2024.04"',
        '    layers:\n      meta-oe:\n    patches:\n      02-second:\n        path: patches/b.patch\n      01-first:\n        path: patches/a',
      ].join('\n'),
    });
    const c = load(path.join(repo, 'kas.yml'));
    expect(c.yoctoSeries).toBe('scarthgap');
    const oe = c.layers.find((l) => l.name === 'meta-oe')!;
    expect(oe.source).toEqual({ kind: 'git', url: 'https://mirror.example/meta-openembedded', tag: '2024.04' });
    expect(oe.patches).toEqual([
      { id: '01-first', repo: 'meta-custom', path: 'patches/a' },
      { id: '02-second', repo: 'meta-custom', path: 'patches/b.patch' },
    ]);
    expect(c.layers.find((l) => l.name === 'poky')!.source).toMatchObject({ branch: 'scarthgap' });
  });

  it('refuses what kas refuses, each with the file and line that set it', () => {
    repo = makeRepo({
      'kas.yml': [
        'header:\n  version: 14',
        'repos:',
        '  a:\n    url: https://x/a',
        '  b:\n    url: https://x/b\n    branch: main\n    tag: v1',
        '  c:\n    url: https://x/c\n    type: hg\n    commit: 0123456',
        '  d:\n    url: https://x/d\n    commit: main',
      ].join('\n'),
    });
    const msg = errorOf(() => load(path.join(repo, 'kas.yml')));
    expect(msg.split('\n')).toEqual([
      expect.stringMatching(/kas\.yml:5: repos\.a\.url: no commit, tag or branch is set/),
      expect.stringMatching(/kas\.yml:9: repos\.b\.tag: tag "v1" and branch "main" are both set/),
      expect.stringMatching(/kas\.yml:12: repos\.c\.type: "hg" is not supported/),
      expect.stringMatching(
        /kas\.yml:13: repos\.c\.commit: is read as a number, not a string; expected a string: write the value in quotes/,
      ),
      expect.stringMatching(/kas\.yml:16: repos\.d\.commit: "main" is not a commit id/),
    ]);
  });
});

describe('the rest of a kas project', () => {
  beforeEach(() => {
    vi.restoreAllMocks();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is recognised by header.version', () => {
    expect(isKasText('header:\n  version: 14\n')).toBe(true);
    expect(isKasText('name: x\nlayers: []\n')).toBe(false);
    expect(isKasText('header: {}\n')).toBe(false);
  });

  it('passes env variables with their defaults; null passes one only when it is set', () => {
    repo = makeRepo({
      'kas.yml': 'header:\n  version: 14\nenv:\n  SSTATE_MIRROR_URL: "https://m"\n  MY_TOKEN_NAME:\n',
    });
    expect(load(path.join(repo, 'kas.yml')).passEnv).toEqual({ SSTATE_MIRROR_URL: 'https://m', MY_TOKEN_NAME: null });
  });

  it('refuses env names the action sets for BitBake', () => {
    repo = makeRepo({ 'kas.yml': 'header:\n  version: 14\nenv:\n  PATH: /x\n' });
    expect(errorOf(() => load(path.join(repo, 'kas.yml')))).toMatch(/kas\.yml:4: env\.PATH: is set by the action/);
  });

  it('turns task into bitbake -c, multiconfig targets into BBMULTICONFIG, and honours KAS_MACHINE/KAS_TARGET', () => {
    repo = makeRepo({
      'kas.yml': 'header:\n  version: 14\ntask: populate_sdk\ntarget: [mc:arm:core-image-minimal, hello]\n',
    });
    const c = load(path.join(repo, 'kas.yml'));
    expect(c.bitbakeArgs).toEqual(['-c', 'populate_sdk']);
    expect(c.localConf).toEqual([{ variable: 'BBMULTICONFIG', operator: '?=', value: 'arm' }]);
    const e = load(path.join(repo, 'kas.yml'), { KAS_MACHINE: 'qemuarm64', KAS_TARGET: 'a b' });
    expect(e).toMatchObject({ machine: 'qemuarm64', targets: ['a', 'b'] });
    expect(errorOf(() => load(path.join(repo, 'kas.yml'), { KAS_MACHINE: 'bad machine' }))).toMatch(
      /machine: "bad machine" is not a valid MACHINE name/,
    );
  });

  it('warns once for each key it does not act on, naming it', () => {
    repo = makeRepo({
      'base.yml': 'header:\n  version: 14\nartifacts:\n  img: tmp/deploy/*.wic\n',
      'kas.yml':
        'header:\n  version: 14\n  includes: [base.yml]\nartifacts:\n  sdk: x\nfrobnicate: 1\nrepos:\n  r:\n    url: https://x/r\n    commit: "0123456789012345678901234567890123456789"\n    signed: true\n',
    });
    const warn = vi.spyOn(log, 'warning').mockImplementation(() => {});
    loadKasConfig(path.join(repo, 'kas.yml'), {}, { home: '/h' });
    const shown = warn.mock.calls.map((x) => x[0]);
    expect(shown).toHaveLength(3);
    expect(shown[0]).toMatch(/kas\.yml:4: artifacts: ignored: the action reports the images/);
    expect(shown[1]).toMatch(/kas\.yml:6: frobnicate: ignored: not a kas key this action knows/);
    expect(shown[2]).toMatch(/kas\.yml:11: repos\.r\.signed: ignored: repository signatures are not verified/);
  });

  it('refuses build_system: isar with a reason', () => {
    repo = makeRepo({ 'kas.yml': 'header:\n  version: 14\nbuild_system: isar\n' });
    expect(errorOf(() => load(path.join(repo, 'kas.yml')))).toMatch(
      /kas\.yml:3: build_system: isar is not supported: isar builds Debian images .*; expected openembedded/,
    );
  });

  it('needs a header.version in every file', () => {
    repo = makeRepo({ 'kas.yml': 'header:\n  version: 14\n  includes: [b.yml]\n', 'b.yml': 'machine: x\n' });
    expect(errorOf(() => load(path.join(repo, 'kas.yml')))).toMatch(/b\.yml:1: header\.version: is missing/);
  });
});

describe('includes from another repository', () => {
  it('are missing until that repository is checked out, then read from its checkout', async () => {
    const other = makeRepo({
      'kas/common.yml':
        'header:\n  version: 14\n  includes: [kas/machine.yml]\nlocal_conf_header:\n  common: |\n    A = "other"\n',
      'kas/machine.yml': 'header:\n  version: 14\nmachine: qemuarm64\n',
    });
    repo = makeRepo({
      'kas.yml':
        'header:\n  version: 14\n  includes:\n    - repo: meta-other\n      file: kas/common.yml\nrepos:\n  meta-other:\n    url: https://x/meta-other\n    branch: main\n',
    });
    const file = path.join(repo, 'kas.yml');
    const first = load(file);
    expect(first.kas!.read.missingRepos).toEqual(['meta-other']);
    expect(first.machine).toBe('qemux86-64');
    const asked: string[] = [];
    const done = await finishKasConfig(
      first,
      (layers) => {
        asked.push(...layers.map((l) => l.name));
        return Promise.resolve(new Map([['meta-other', other]]));
      },
      (dirs) => load(file, {}, new Map(dirs)),
    );
    expect(asked).toEqual(['meta-other']);
    expect(done.machine).toBe('qemuarm64');
    expect(done.confText!.localConf).toBe('# common\nA = "other"\n\n');
  });

  it('from a repository without url need no checkout', () => {
    repo = makeRepo({
      'kas.yml':
        'header:\n  version: 14\n  includes:\n    - repo: meta-custom\n      file: inc/x.yml\nrepos:\n  meta-custom:\n',
      'inc/x.yml': 'header:\n  version: 14\ndistro: poky\n',
    });
    const c = load(path.join(repo, 'kas.yml'));
    expect(c.kas!.read.missingRepos).toEqual([]);
    expect(c.distro).toBe('poky');
  });

  it('naming a repository no file defines is an error', () => {
    repo = makeRepo({ 'kas.yml': 'header:\n  version: 14\n  includes:\n    - repo: nowhere\n      file: x.yml\n' });
    expect(errorOf(() => load(path.join(repo, 'kas.yml')))).toMatch(/names repo nowhere, which no file defines/);
  });
});

describe('smidr check on a kas project', () => {
  it('prints the merged project as kas dump --resolve-refs does, then the conf text as comments', () => {
    repo = makeRepo({
      'kas.yml': [
        'header:\n  version: 14\n  includes: [base.yml]',
        'repos:',
        '  meta-custom:',
        '  poky:\n    url: https://git.yoctoproject.org/poky\n    branch: scarthgap\n    layers:\n      meta:\n      meta-poky:',
        'local_conf_header:\n  ci: |\n    A = "1"',
      ].join('\n'),
      'kas.lock.yml':
        'header:\n  version: 14\noverrides:\n  repos:\n    poky:\n      commit: 1111111111111111111111111111111111111abc\n',
      'base.yml': 'header:\n  version: 11\nmachine: qemuarm64\n',
    });
    const c = load(path.join(repo, 'kas.yml'));
    const text = kasDump(c, [{ name: 'poky', commit: '2222222222222222222222222222222222222222' }], {
      localConf: '# ci\nA = "1"\n',
      bblayersConf: 'BBLAYERS ?= "x"\n',
    });
    const [yamlPart, confPart] = text.split('\n# ---- conf/local.conf ----\n');
    expect(parseYaml(yamlPart!)).toEqual({
      header: { version: 14 },
      machine: 'qemuarm64',
      repos: {
        'meta-custom': null,
        poky: {
          url: 'https://git.yoctoproject.org/poky',
          branch: 'scarthgap',
          layers: { meta: null, 'meta-poky': null },
          commit: '2222222222222222222222222222222222222222',
        },
      },
      local_conf_header: { ci: 'A = "1"\n' },
      distro: 'nodistro',
      target: 'core-image-minimal',
    });
    expect(confPart).toBe('# # ci\n# A = "1"\n\n# ---- conf/bblayers.conf ----\n# BBLAYERS ?= "x"\n');
  });
});

describe('conf files of a kas project', () => {
  it('puts bblayers_conf_header first in bblayers.conf and the snippets in local.conf', () => {
    const bb = renderBblayersConf(['/l/meta'], undefined, '# x\nBBPATH = "${TOPDIR}"\n');
    expect(bb.indexOf('# x\nBBPATH = "${TOPDIR}"')).toBeLessThan(bb.indexOf('BBLAYERS ?='));
    expect(renderKasLocalConf('# a\nA = "${@1}"\n')).toMatch(/\n# a\nA = "\$\{@1\}"\n$/);
  });
});

describe('buildtools', () => {
  const sum = 'e'.repeat(64);
  it('is read with the keys and rules of smidr.yaml, and one warning when BitBake runs in a container', () => {
    repo = makeRepo({
      'kas.yml': `header:\n  version: 14\nbuildtools:\n  version: "5.0"\n  sha256sum: "${sum}"\n  extra: 1\n`,
    });
    const warn = vi.spyOn(log, 'warning').mockImplementation(() => {});
    const c = loadKasConfig(path.join(repo, 'kas.yml'), {}, { home: '/h' });
    expect(c.kas!.buildtools).toEqual({
      config: { version: '5.0', sha256sum: sum, baseUrl: undefined, filename: undefined },
      where: expect.stringMatching(/kas\.yml:3$/),
    });
    expect(warn.mock.calls.map((x) => x[0])).toEqual([
      expect.stringMatching(/kas\.yml:6: buildtools\.extra: ignored: not a kas key/),
    ]);
    const laid = loadKasProject(path.join(repo, 'kas.yml'), {}, { naming: INPUT_NAMING, home: '/h' }, {});
    expect(laid.buildtools).toBeUndefined();
    expect(warn.mock.calls.map((x) => x[0])).toContainEqual(
      expect.stringMatching(/kas\.yml:3: buildtools: not used: BitBake runs in a docker container/),
    );
    warn.mockRestore();
  });

  it("with container-engine none it is the build's buildtools; a missing sum is an error", () => {
    repo = makeRepo({ 'kas.yml': `header:\n  version: 14\nbuildtools:\n  version: "5.0"\n  sha256sum: "${sum}"\n` });
    const opts = { naming: INPUT_NAMING, home: '/h' };
    const c = loadKasProject(path.join(repo, 'kas.yml'), { containerEngine: 'none' }, opts, {});
    expect(c.buildtools).toEqual({ version: '5.0', sha256sum: sum, baseUrl: undefined, filename: undefined });
    const bad = makeRepo({ 'kas.yml': 'header:\n  version: 14\nbuildtools:\n  version: "5.0"\n  sha256sum: abc\n' });
    expect(() => loadKasConfig(path.join(bad, 'kas.yml'), {}, { home: '/h' })).toThrow(
      /kas\.yml:5: buildtools\.sha256sum: "abc" is not a SHA-256 sum/,
    );
    const noSum = makeRepo({ 'kas.yml': 'header:\n  version: 14\nbuildtools:\n  version: "5.0"\n' });
    expect(() => loadKasProject(path.join(noSum, 'kas.yml'), { containerEngine: 'none' }, opts, {})).toThrow(
      /kas\.yml:3: buildtools\.sha256sum is missing/,
    );
  });
});
