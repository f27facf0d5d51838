import { describe, expect, it } from 'vitest';

import {
  BITBAKE_NAME,
  BITBAKE_TARGET,
  COMMIT,
  CONF_VARIABLE,
  CONTAINER_IMAGE,
  FULL_COMMIT,
  gitUrlProblem,
  isRepoSubdir,
  isValidRefName,
  LAYER_NAME,
  MEMORY,
  POKY_VERSION,
  YOCTO_SERIES,
} from '../../src/config/names.js';

const INJECTIONS = ['$(id)', '`id`', '${@os.system("id")}', 'a b', 'a"b', "a'b", 'a\nb', 'a;b', 'a|b', '', ' a'];

describe('isValidRefName', () => {
  it('accepts branch and tag names used by Yocto layers', () => {
    for (const r of [
      'kirkstone',
      'scarthgap',
      'master',
      'yocto-4.0.20',
      '2.18',
      'feature/new-thing',
      'release/v1.2',
      'a_b+c',
    ]) {
      expect(isValidRefName(r), r).toBe(true);
    }
  });
  it('refuses what git check-ref-format refuses and what a shell or URL would read', () => {
    for (const r of [
      '-rf',
      '/x',
      'x/',
      'x.',
      '.x',
      'a..b',
      'a//b',
      'a/.b',
      'x.lock',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      'a@{1}',
      ...INJECTIONS,
    ]) {
      expect(isValidRefName(r), JSON.stringify(r)).toBe(false);
    }
  });
});

describe('BitBake names', () => {
  it('MACHINE and DISTRO names', () => {
    for (const n of [
      'qemux86-64',
      'qemuarm64',
      'raspberrypi4-64',
      'poky',
      'poky-tiny',
      'nodistro',
      'imx8mp_evk',
      'x.y+z',
    ])
      expect(BITBAKE_NAME.test(n), n).toBe(true);
    for (const n of ['-x', '.x', '_x', 'a:b', 'a/b', ...INJECTIONS])
      expect(BITBAKE_NAME.test(n), JSON.stringify(n)).toBe(false);
  });
  it('targets, with tasks and multiconfig', () => {
    for (const t of [
      'core-image-minimal',
      'core-image-minimal:do_populate_sdk',
      'mc:qemuarm:core-image-base',
      'gcc-cross-x86_64',
    ])
      expect(BITBAKE_TARGET.test(t), t).toBe(true);
    for (const t of ['core-image-minimal:', ':do_x', 'a::b', '-c', ...INJECTIONS])
      expect(BITBAKE_TARGET.test(t), JSON.stringify(t)).toBe(false);
  });
  it('layer names become directory names', () => {
    for (const n of ['poky', 'meta-openembedded', 'openembedded-core', 'meta_x.1'])
      expect(LAYER_NAME.test(n), n).toBe(true);
    for (const n of ['..', '.', '../x', 'a/b', 'a+b', '-x', ...INJECTIONS])
      expect(LAYER_NAME.test(n), JSON.stringify(n)).toBe(false);
  });
  it('conf variable names with overrides and flags', () => {
    for (const v of [
      'INHERIT',
      'RDEPENDS:${PN}',
      'EXTRA_IMAGE_FEATURES:append',
      'do_fetch[network]',
      'PREFERRED_VERSION_linux-yocto',
      'A.B',
    ])
      expect(CONF_VARIABLE.test(v), v).toBe(true);
    for (const v of ['1X', 'A B', 'A[', 'A[b c]', 'A:', '${@x}', 'A:${@x}', ...INJECTIONS])
      expect(CONF_VARIABLE.test(v), JSON.stringify(v)).toBe(false);
  });
});

describe('revisions and versions', () => {
  it('commit ids: 7 to 40 lowercase hex digits', () => {
    expect(COMMIT.test('abcdef0')).toBe(true);
    expect(COMMIT.test('a'.repeat(40))).toBe(true);
    for (const c of ['abcdef', 'a'.repeat(41), 'ABCDEF0', 'ghijklm', 'HEAD', 'abcdef0 '])
      expect(COMMIT.test(c), c).toBe(false);
    expect(FULL_COMMIT.test('a'.repeat(40))).toBe(true);
    expect(FULL_COMMIT.test('a'.repeat(39))).toBe(false);
  });
  it('Yocto series and poky versions', () => {
    for (const s of ['kirkstone', 'scarthgap', 'wrynose', 'master', '6.0']) expect(YOCTO_SERIES.test(s), s).toBe(true);
    for (const s of ['Kirkstone', '-x', 'a b', '']) expect(YOCTO_SERIES.test(s), s).toBe(false);
    for (const v of ['4.0', '4.0.20', '5.0.8', '4.0.20.1']) expect(POKY_VERSION.test(v), v).toBe(true);
    for (const v of ['4', 'v4.0', '4.0.', 'yocto-4.0', '4.0.20-rc1']) expect(POKY_VERSION.test(v), v).toBe(false);
  });
});

describe('isRepoSubdir', () => {
  it('accepts relative directories and . for the root', () => {
    for (const d of ['.', 'meta', 'meta-poky', 'layers/meta-x', 'a+b_c.d']) expect(isRepoSubdir(d), d).toBe(true);
  });
  it('refuses escapes, absolute paths, odd spellings and characters BBLAYERS would split on', () => {
    for (const d of ['..', '../x', 'a/../b', 'a/./b', './a', 'a/', '/a', 'a//b', 'a b', 'a\tb', '', '$x', '.hidden/..'])
      expect(isRepoSubdir(d), JSON.stringify(d)).toBe(false);
  });
});

describe('container settings', () => {
  it('image references', () => {
    for (const i of [
      'crops/poky:ubuntu-22.04',
      'ghcr.io/siemens/kas/kas:4.7',
      'localhost:5000/builder',
      `x@sha256:${'a'.repeat(64)}`,
    ])
      expect(CONTAINER_IMAGE.test(i), i).toBe(true);
    for (const i of ['--privileged', '-v', 'a b', ...INJECTIONS])
      expect(CONTAINER_IMAGE.test(i), JSON.stringify(i)).toBe(false);
  });
  it('memory sizes as docker takes them', () => {
    for (const m of ['8g', '8G', '512m', '1024', '100b', '64k']) expect(MEMORY.test(m), m).toBe(true);
    for (const m of ['8gb', '8 g', '-1g', '1.5g', 'g', '']) expect(MEMORY.test(m), m).toBe(false);
  });
});

describe('gitUrlProblem', () => {
  it('accepts whatever git takes as a remote', () => {
    for (const u of [
      'https://git.yoctoproject.org/poky',
      'ssh://git@github.com/x/y.git',
      'git://git.openembedded.org/bitbake',
      'file:///srv/git/x.git',
      'git@github.com:x/y.git',
      '/srv/git/x',
      './x',
      '../x',
      'https://user@host:8443/x.git',
    ]) {
      expect(gitUrlProblem(u), u).toBeUndefined();
    }
  });
  it('explains why a location is refused', () => {
    expect(gitUrlProblem('')).toBe('is empty');
    expect(gitUrlProblem('-uexample')).toBe('starts with "-", which git would read as an option');
    expect(gitUrlProblem('--upload-pack=x')).toBe('starts with "-", which git would read as an option');
    expect(gitUrlProblem('ext::sh')).toBe('uses the ext:: transport, which makes git run a command');
    expect(gitUrlProblem('EXT::sh')).toBe('uses the ext:: transport, which makes git run a command');
    expect(gitUrlProblem('fd::3')).toBe('uses the remote helper transport fd::, which runs a helper program');
    expect(gitUrlProblem('https://x/a b')).toBe('contains whitespace or a control character');
    expect(gitUrlProblem('https://x/a\nb')).toBe('contains whitespace or a control character');
    expect(gitUrlProblem('https://x/\u0000')).toBe('contains whitespace or a control character');
  });
});
