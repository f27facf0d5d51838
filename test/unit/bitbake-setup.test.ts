/**
 * The build directory and where BitBake runs: the paths it sees (container or host), the files
 * written before it starts, the container it runs in, the environment it gets on the runner, and
 * what it left behind. Real files in a temporary directory; no Docker.
 */
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { copyDeployDir, findDeployDir, listImages } from '../../src/bitbake/deploy.js';
import { containerSpec, directHost, type HostRequest, runnerEnvForBitbake } from '../../src/bitbake/host.js';
import { type BuildTools, discoverLayers, type ResolvedLayer } from '../../src/bitbake/layers.js';
import { bitbakeLayout, confPaths } from '../../src/bitbake/layout.js';
import { RUN_BITBAKE_SH } from '../../src/bitbake/run.js';
import { defaultDistro, parallelism, writeBuildFiles } from '../../src/bitbake/setup.js';
import { createWorkspace, localDirs, type Workspace } from '../../src/bitbake/workspace.js';
import { ConfigError } from '../../src/util/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'bitbake-setup-'));

function layer(name: string, sublayers: string[]): ResolvedLayer {
  return { name, kind: 'git', commit: 'a'.repeat(40), dir: `/store/${name}-1234/${'a'.repeat(40)}`, sublayers };
}
const poky = layer('poky', ['meta', 'meta-poky']);
const mine = layer('meta-mine', ['.']);
const caches = { downloads: '/c/downloads', sstate: '/c/sstate-cache', hashserv: '/c/hashserv' };
const dirs = { layers: [poky, mine], buildDir: '/w/builds/b1', caches };
const POKY_TOOLS: BuildTools = {
  initEnv: { layer: 'poky', file: 'oe-init-build-env' },
  bitbake: { layer: 'poky', dir: 'bitbake' },
  version: '2.8.0',
};
const SPLIT_TOOLS: BuildTools = {
  initEnv: { layer: 'poky', file: 'oe-init-build-env' },
  bitbake: { layer: 'meta-mine', dir: '.' },
  version: '2.19.0',
};
const RUNNER = { cpus: 16, memoryBytes: 64 * 1024 ** 3, source: 'the runner' };
const container = { engine: 'docker' as const, image: 'smidr-builder:bookworm', memory: '8g', cpuCount: 4 };

describe('bitbakeLayout', () => {
  it('puts everything at fixed paths in the container, and binds each to its host directory', () => {
    const l = bitbakeLayout(dirs, true);
    expect([l.build, l.downloads, l.sstate, l.hashserv, l.layer('poky')]).toEqual([
      '/smidr/build',
      '/smidr/downloads',
      '/smidr/sstate',
      '/smidr/hashserv',
      '/smidr/layers/poky',
    ]);
    expect([l.home, l.script]).toEqual(['/smidr/build/.smidr/home', '/smidr/build/.smidr/run-bitbake.sh']);
    expect(l.binds).toEqual([
      { seen: '/smidr/layers/poky', host: poky.dir, readonly: true },
      { seen: '/smidr/layers/meta-mine', host: mine.dir, readonly: true },
      { seen: '/smidr/build', host: '/w/builds/b1', readonly: false },
      { seen: '/smidr/downloads', host: '/c/downloads', readonly: false },
      { seen: '/smidr/sstate', host: '/c/sstate-cache', readonly: false },
      { seen: '/smidr/hashserv', host: '/c/hashserv', readonly: false },
    ]);
    expect(confPaths(l, dirs.layers).layers).toEqual([
      '/smidr/layers/poky/meta',
      '/smidr/layers/poky/meta-poky',
      '/smidr/layers/meta-mine',
    ]);
  });

  it("is the host's own paths without a container, with nothing to bind", () => {
    const l = bitbakeLayout(dirs, false);
    expect(confPaths(l, dirs.layers)).toEqual({
      topdir: '/w/builds/b1',
      tmpdir: '/w/builds/b1/tmp',
      ...caches,
      layers: [`${poky.dir}/meta`, `${poky.dir}/meta-poky`, mine.dir],
    });
    expect(l.script).toBe('/w/builds/b1/.smidr/run-bitbake.sh');
    expect(l.binds).toEqual([]);
  });
});

describe('a TMPDIR under directories.tmp', () => {
  const withTmp = { ...dirs, tmpRoot: '/scratch/yocto-tmp/b1' };

  it('is mounted read-write at its own path in the container, and TMPDIR is tmp/ inside it', () => {
    const l = bitbakeLayout(withTmp, true);
    expect(l.tmpdir).toBe('/smidr/tmpdir/tmp');
    expect(l.binds).toContainEqual({ seen: '/smidr/tmpdir', host: '/scratch/yocto-tmp/b1', readonly: false });
    expect(confPaths(l, []).tmpdir).toBe('/smidr/tmpdir/tmp');
    // Without directories.tmp nothing more is mounted and TMPDIR stays in the build directory.
    expect(bitbakeLayout(dirs, true).tmpdir).toBe('/smidr/build/tmp');
    expect(bitbakeLayout(dirs, true).binds.map((b) => b.seen)).not.toContain('/smidr/tmpdir');
  });

  it("is the host's own path without a container", () => {
    expect(bitbakeLayout(withTmp, false).tmpdir).toBe('/scratch/yocto-tmp/b1/tmp');
    expect(bitbakeLayout(withTmp, false).binds).toEqual([]);
  });

  it('gets one directory per build, named like the build, and auto.conf names it', async () => {
    const tmpDirs = path.join(root, 'tmp-dirs');
    const a = await createWorkspace(path.join(root, 'ws-tmp'), 'build-a', caches0(), tmpDirs);
    const b = await createWorkspace(path.join(root, 'ws-tmp'), 'build-b', caches0(), tmpDirs);
    expect([a.tmpRoot, b.tmpRoot]).toEqual([path.join(tmpDirs, 'build-a'), path.join(tmpDirs, 'build-b')]);
    expect(statSync(a.tmpRoot!).isDirectory()).toBe(true);
    // A build id never names an existing directory: a collision is an error, not a shared TMPDIR.
    await expect(createWorkspace(path.join(root, 'ws-tmp2'), 'build-a', caches0(), tmpDirs)).rejects.toThrow(/EEXIST/);
    const auto = await writtenAutoConf(a, false);
    expect(auto).toContain(`TMPDIR = "${path.join(tmpDirs, 'build-a')}/tmp"`);
    expect(await writtenAutoConf(b, true)).toContain('TMPDIR = "/smidr/tmpdir/tmp"');
  });

  it('is where the deploy directory is found', () => {
    const tmpRoot = path.join(root, 'tmp-root-deploy');
    mkdirSync(path.join(tmpRoot, 'tmp-glibc', 'deploy'), { recursive: true });
    expect(findDeployDir(tmpRoot)).toBe(path.join(tmpRoot, 'tmp-glibc', 'deploy'));
  });
});

describe('localDirs', () => {
  const d = { downloads: '/h/.smidr/downloads', sstate: '/h/.smidr/sstate-cache', layers: '/h/.smidr/layers' };
  it('puts build directories under directories.build unless a workspace dir is given, and passes directories.tmp', () => {
    expect(localDirs(d).buildsDir).toBe('/h/.smidr/builds');
    expect(localDirs(d).tmpDirs).toBeUndefined();
    expect(localDirs({ ...d, build: '/big/builds', tmp: '/fast/tmp' })).toMatchObject({
      buildsDir: '/big/builds',
      tmpDirs: '/fast/tmp',
    });
    expect(localDirs({ ...d, build: '/big/builds' }, '/ws').buildsDir).toBe('/ws');
  });
});

describe('copyDeployDir', () => {
  it("copies a build's deploy directory to <deploy>/<build id>, links as links, never over another copy", async () => {
    const deploy = path.join(root, 'copy-src', 'tmp', 'deploy');
    const images = path.join(deploy, 'images', 'qemux86-64');
    mkdirSync(images, { recursive: true });
    writeFileSync(path.join(images, 'img.rootfs.ext4'), 'image bytes');
    symlinkSync('img.rootfs.ext4', path.join(images, 'img.ext4'));
    const into = path.join(root, 'copies');
    const copy = await copyDeployDir(deploy, into, 'build-1');
    expect(copy).toBe(path.join(into, 'build-1'));
    const copied = path.join(copy, 'images', 'qemux86-64');
    expect(readFileSync(path.join(copied, 'img.rootfs.ext4'), 'utf8')).toBe('image bytes');
    expect(readlinkSync(path.join(copied, 'img.ext4'))).toBe('img.rootfs.ext4');
    await expect(copyDeployDir(deploy, into, 'build-1')).rejects.toThrow();
  });
});

describe('parallelism', () => {
  const runner = { cpus: 16, memoryBytes: 64 * 1024 ** 3, source: 'the runner' };
  const config = (c: Partial<Parameters<typeof parallelism>[0]>) => parallelism({ container, ...c }, '2.8.0', runner);
  it('follows container.cpu_count and memory, which BitBake in the container does not see', () => {
    expect(config({})).toMatchObject({ bbNumberThreads: 4, parallelMake: '-j 1', pressureMaxMemory: 10000 });
    expect(config({ container: { ...container, cpuCount: 1.5 } })).toMatchObject({
      bbNumberThreads: 2,
      parallelMake: '-j 2',
    });
    expect(config({ container: { ...container, engine: 'none' } })).toMatchObject({
      bbNumberThreads: 16,
      parallelMake: '-j 2',
    });
  });
  it("keeps the config's own settings, and sizes the other around them", () => {
    expect(config({ bbNumberThreads: 8, parallelMake: '-j 16' })).toMatchObject({
      bbNumberThreads: 8,
      parallelMake: '-j 16',
    });
    expect(config({ bbNumberThreads: 2 })).toMatchObject({ bbNumberThreads: 2, parallelMake: '-j 2' });
  });
  it('sets memory pressure regulation from BitBake 2.0 only', () => {
    expect(parallelism({ container }, '1.52.0', runner).pressureMaxMemory).toBeUndefined();
  });
});

describe('writeBuildFiles', () => {
  it('writes the conf files with the paths BitBake sees, the build home and the start script', async () => {
    const buildDir = path.join(root, 'build-container');
    mkdirSync(path.join(buildDir, 'conf'), { recursive: true });
    const config = { machine: 'qemux86-64', localConf: [], container };
    const workspace = { id: 'b1', buildDir, caches };
    await writeBuildFiles({
      config,
      workspace,
      layers: [poky, mine],
      tools: POKY_TOOLS,
      distro: 'poky',
      inContainer: true,
      runner: RUNNER,
    });
    const bblayers = readFileSync(path.join(buildDir, 'conf', 'bblayers.conf'), 'utf8');
    expect(bblayers).toContain('POKY_BBLAYERS_CONF_VERSION = "2"');
    expect(bblayers).toContain('    /smidr/layers/poky/meta-poky \\\n    /smidr/layers/meta-mine \\\n"');
    const auto = readFileSync(path.join(buildDir, 'conf', 'auto.conf'), 'utf8');
    expect(auto).toContain('SSTATE_DIR = "/smidr/sstate"');
    expect(auto).toContain('PERSISTENT_DIR = "/smidr/hashserv"'); // BitBake 2.8: no BB_HASHSERVE_DB_DIR
    expect(auto).toContain('BB_NUMBER_THREADS = "4"');
    expect(readFileSync(path.join(buildDir, '.smidr', 'home', '.gitconfig'), 'utf8')).toContain('directory = *');
    const script = path.join(buildDir, '.smidr', 'run-bitbake.sh');
    expect(readFileSync(script, 'utf8')).toBe(RUN_BITBAKE_SH);
    expect(statSync(script).mode & 0o777).toBe(0o755);
  });

  it('writes host paths and no git trust without a container', async () => {
    const buildDir = path.join(root, 'build-direct');
    mkdirSync(path.join(buildDir, 'conf'), { recursive: true });
    const config = { machine: 'qemux86-64', localConf: [], container: { ...container, engine: 'none' as const } };
    const layers = [layer('oe-core', ['meta']), mine];
    await writeBuildFiles({
      config,
      workspace: { id: 'b2', buildDir, caches },
      layers,
      tools: SPLIT_TOOLS,
      distro: 'nodistro',
      inContainer: false,
      runner: RUNNER,
    });
    const auto = readFileSync(path.join(buildDir, 'conf', 'auto.conf'), 'utf8');
    expect(auto).toContain(`TMPDIR = "${buildDir}/tmp"`);
    expect(auto).toContain('BB_HASHSERVE_DB_DIR = "/c/hashserv"');
    // Sized for the runner itself: no container limits apply.
    expect(auto).toContain('BB_NUMBER_THREADS = "16"\nPARALLEL_MAKE = "-j 2"');
    expect(readFileSync(path.join(buildDir, 'conf', 'bblayers.conf'), 'utf8')).not.toContain(
      'POKY_BBLAYERS_CONF_VERSION',
    );
    expect(() => readFileSync(path.join(buildDir, '.smidr', 'home', '.gitconfig'))).toThrow();
  });

  it("defaults the distro to poky's only when meta-poky is there", () => {
    expect(defaultDistro([poky, mine])).toBe('poky');
    expect(defaultDistro([layer('oe-core', ['meta']), mine])).toBe('nodistro');
  });
});

describe('the BitBake host', () => {
  const request: HostRequest = { container, dirs, tools: POKY_TOOLS, buildId: 'b1', containerName: 'smidr-b1' };

  it('runs the fixed script in a container at the layout paths, as the build user, with its limits', () => {
    const spec = containerSpec(request, 'smidr-b1', ['-k', 'core-image-minimal'], { uid: 1001, gid: 1001 }, []);
    expect(spec.mounts).toContainEqual({ source: poky.dir, target: '/smidr/layers/poky', readonly: true });
    expect(spec.mounts).toContainEqual({ source: '/c/sstate-cache', target: '/smidr/sstate', readonly: false });
    expect(spec.env).toEqual({
      LANG: 'en_US.UTF-8',
      LC_ALL: 'en_US.UTF-8',
      SMIDR_BUILD_DIR: '/smidr/build',
      SMIDR_INIT_ENV: '/smidr/layers/poky/oe-init-build-env',
      SMIDR_BITBAKE_DIR: '',
      HOME: '/smidr/build/.smidr/home',
      USER: 'builder',
      LOGNAME: 'builder',
    });
    expect(spec).toMatchObject({ workdir: '/smidr/build', memory: '8g', cpus: 4, labels: { 'org.smidr.build': 'b1' } });
    expect(spec.command).toEqual(['/bin/bash', '/smidr/build/.smidr/run-bitbake.sh', '-k', 'core-image-minimal']);
    // The split layout names BitBake's directory: a repository of its own.
    expect(
      containerSpec({ ...request, tools: SPLIT_TOOLS }, 'x', [], { uid: 1, gid: 1 }, []).env.SMIDR_BITBAKE_DIR,
    ).toBe('/smidr/layers/meta-mine');
  });

  it('refuses to run BitBake as root on the runner, which OE would refuse later', () => {
    expect(() => directHost(request, {}, 0)).toThrow(ConfigError);
    expect(() => directHost(request, {}, 0)).toThrow(/BitBake refuses to run as root/);
  });

  it("runs on the runner with its environment, minus TMPDIR, BBSERVER and the runner's secrets", () => {
    const env = {
      PATH: '/usr/bin',
      TMPDIR: '/tmp/x',
      BBSERVER: 'localhost:1',
      ACTIONS_RUNTIME_TOKEN: 'secret',
      INPUT_SAVE: 'true',
      GITHUB_TOKEN: 'secret',
      GITHUB_REPOSITORY: 'o/r',
      UNSET: undefined,
    };
    expect(runnerEnvForBitbake(env)).toEqual({ PATH: '/usr/bin', GITHUB_REPOSITORY: 'o/r' });
    const host = directHost(request, env, 1000);
    expect(host).toMatchObject({ kind: 'direct', script: '/w/builds/b1/.smidr/run-bitbake.sh', cwd: '/w/builds/b1' });
    expect(host.kind === 'direct' && host.env).toEqual({
      PATH: '/usr/bin',
      GITHUB_REPOSITORY: 'o/r',
      LANG: 'en_US.UTF-8',
      LC_ALL: 'en_US.UTF-8',
      SMIDR_BUILD_DIR: '/w/builds/b1',
      SMIDR_INIT_ENV: `${poky.dir}/oe-init-build-env`,
      SMIDR_BITBAKE_DIR: '',
    });
  });

  it("sources buildtools' environment script named by the action only, never one from the runner's environment", () => {
    const env = { PATH: '/usr/bin', SMIDR_BUILDTOOLS_ENV: '/home/x/evil.sh', SMIDR_INIT_ENV: '/x' };
    expect(runnerEnvForBitbake(env)).toEqual({ PATH: '/usr/bin' });
    const plain = directHost(request, env, 1000);
    expect(plain.kind === 'direct' && plain.env.SMIDR_BUILDTOOLS_ENV).toBeUndefined();
    const tools = '/opt/hostedtoolcache/yocto-buildtools/5.0.8/x86_64/environment-setup-x86_64-pokysdk-linux';
    const withTools = directHost(request, env, 1000, tools);
    expect(withTools.kind === 'direct' && withTools.env.SMIDR_BUILDTOOLS_ENV).toBe(tools);
    expect(withTools.kind === 'direct' && withTools.env.SMIDR_INIT_ENV).toBe(`${poky.dir}/oe-init-build-env`);
  });
});

describe('what a build left', () => {
  it('finds the deploy dir of a TMPDIR with a libc suffix, and lists the image files and links', () => {
    const buildDir = path.join(root, 'deployed');
    const images = path.join(buildDir, 'tmp-glibc', 'deploy', 'images', 'qemux86-64');
    mkdirSync(images, { recursive: true });
    mkdirSync(path.join(buildDir, 'tmpfoo'));
    writeFileSync(path.join(images, 'b.ext4'), 'x');
    symlinkSync('b.ext4', path.join(images, 'a.ext4'));
    mkdirSync(path.join(images, 'modules'));
    expect(findDeployDir(buildDir)).toBe(path.join(buildDir, 'tmp-glibc', 'deploy'));
    expect(listImages(images)).toEqual([path.join(images, 'a.ext4'), path.join(images, 'b.ext4')]);
    expect(findDeployDir(path.join(root, 'nothing'))).toBe(path.join(root, 'nothing', 'tmp', 'deploy'));
    expect(listImages(path.join(root, 'nothing'))).toEqual([]);
  });
});

describe('discoverLayers', () => {
  const repo = path.join(root, 'repo');
  const layerAt = (rel: string) => {
    mkdirSync(path.join(repo, rel, 'conf'), { recursive: true });
    writeFileSync(path.join(repo, rel, 'conf', 'layer.conf'), '');
  };
  it('finds layers two levels down, in name order, not inside a layer or a hidden directory', () => {
    layerAt('meta-oe');
    layerAt('meta-oe/nested');
    layerAt('meta-python');
    layerAt('extra/meta-x');
    layerAt('extra/deeper/meta-too-deep');
    layerAt('.git/meta-hidden');
    expect(discoverLayers(repo)).toEqual(['extra/meta-x', 'meta-oe', 'meta-python']);
  });
  it('takes the repository itself when it is a layer', () => {
    layerAt('.');
    expect(discoverLayers(repo)).toEqual(['.']);
  });
});

function caches0() {
  const c = path.join(root, 'caches0');
  return { downloads: `${c}/downloads`, sstate: `${c}/sstate-cache`, hashserv: `${c}/hashserv` };
}

/** auto.conf as writeBuildFiles writes it for a workspace. */
async function writtenAutoConf(workspace: Workspace, inContainer: boolean): Promise<string> {
  await writeBuildFiles({
    config: {
      machine: 'qemux86-64',
      localConf: [],
      container: { ...container, engine: inContainer ? 'docker' : 'none' },
    },
    workspace,
    layers: [],
    tools: POKY_TOOLS,
    distro: 'poky',
    inContainer,
    runner: RUNNER,
  });
  return readFileSync(path.join(workspace.buildDir, 'conf', 'auto.conf'), 'utf8');
}
