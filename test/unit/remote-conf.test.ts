/**
 * How the remote cache and a shared hash server reach BitBake: the inputs that name them, the
 * conf lines (a loopback URL, never a credential) and the container's network.
 */
import { describe, expect, it } from 'vitest';

import { remoteSettings, resolveCacheMode } from '../../src/action/inputs.js';
import { type AutoConfSettings, renderAutoConf } from '../../src/bitbake/conf.js';
import { type ContainerSpec, runArgs } from '../../src/bitbake/container.js';
import { runnerEnvForBitbake } from '../../src/bitbake/host.js';
import { hashServeConf, parseHashServer } from '../../src/cache/remote/hashserve.js';
import { mirrorConf } from '../../src/cache/remote/session.js';
import { type BuildConfig, type ConfAssignment, forbidsNetwork } from '../../src/config/config.js';

const where = { url: "input 'remote-cache'", endpoint: "input 'remote-endpoint'" };

describe('remote cache inputs', () => {
  it('a bucket named in remote-cache makes auto mean remote, on any runner', () => {
    expect(resolveCacheMode('auto', { RUNNER_ENVIRONMENT: 'github-hosted' }, true)).toBe('remote');
    expect(resolveCacheMode('auto', { RUNNER_ENVIRONMENT: 'self-hosted' }, true)).toBe('remote');
    expect(resolveCacheMode('actions', {}, true)).toBe('actions');
  });

  it('an endpoint implies path-style addressing unless told otherwise', () => {
    expect(remoteSettings({ url: 's3://yocto/ci', where })).toEqual({
      url: 's3://yocto/ci/',
      bucket: 'yocto',
      prefix: 'ci/',
      endpoint: undefined,
      region: undefined,
      pathStyle: false,
    });
    expect(remoteSettings({ url: 's3://yocto', endpoint: 'http://minio:9000', where })).toMatchObject({
      pathStyle: true,
    });
    expect(
      remoteSettings({ url: 's3://yocto', endpoint: 'https://r2.example.com', pathStyle: false, where }),
    ).toMatchObject({ pathStyle: false });
  });

  it('names the input of a bad endpoint', () => {
    expect(() => remoteSettings({ url: 's3://yocto', endpoint: 'minio:9000', where })).toThrow(
      /input 'remote-endpoint': "minio:9000" is not an http:\/\/ or https:\/\/ URL/,
    );
  });
});

const base: AutoConfSettings = {
  machine: 'qemux86-64',
  distro: 'poky',
  paths: { topdir: '/b', tmpdir: '/b/tmp', downloads: '/d', sstate: '/s', hashserv: '/h', layers: [] },
  hashservDbDirSupported: true,
  localConf: [{ variable: 'SSTATE_MIRRORS', operator: '=', value: 'file://.* file:///mine/PATH' }],
};

describe('conf for the remote cache and a shared hash server', () => {
  it("points BitBake's mirrors at the loopback endpoint, before local_conf so a user can override", () => {
    const text = renderAutoConf({ ...base, mirrors: mirrorConf('http://127.0.0.1:4711', { noNetwork: false }) });
    expect(text).toContain(
      'SSTATE_MIRRORS = "file://.* http://127.0.0.1:4711/sstate-cache/PATH;downloadfilename=PATH"',
    );
    expect(text).toContain('PREMIRRORS:prepend = "git://.*/.* http://127.0.0.1:4711/downloads/ gitsm://.*/.* ');
    expect(text).toContain('https?://.*/.* http://127.0.0.1:4711/downloads/');
    expect(text).toContain('BB_GENERATE_MIRROR_TARBALLS = "1"');
    expect(text.indexOf('127.0.0.1:4711/sstate-cache')).toBeLessThan(text.indexOf('file:///mine/PATH'));
    expect(text).not.toMatch(/AWS|S3RVER|secret/i);
  });

  it('with BB_NO_NETWORK set, keeps the sstate mirror and leaves out the premirror BitBake would refuse', () => {
    const text = renderAutoConf({ ...base, mirrors: mirrorConf('http://127.0.0.1:4711', { noNetwork: true }) });
    expect(text).toContain('http://127.0.0.1:4711/sstate-cache/PATH');
    expect(text).toContain('SSTATE_MIRROR_ALLOW_NETWORK = "1"');
    expect(text).not.toContain('PREMIRRORS');
    expect(text).not.toContain('127.0.0.1:4711/downloads');
  });

  it('finds BB_NO_NETWORK = "1" in advanced.bb_no_network, local_conf and a kas header', () => {
    const config = (c: Partial<BuildConfig>) => ({ localConf: [], ...c }) as BuildConfig;
    const on: ConfAssignment = { variable: 'BB_NO_NETWORK', operator: '=', value: '1' };
    expect(forbidsNetwork(config({ settingsConf: [on] }))).toBe(true);
    expect(forbidsNetwork(config({ localConf: [on] }))).toBe(true);
    expect(forbidsNetwork(config({ localConf: [{ ...on, value: '0' }] }))).toBe(false);
    expect(
      forbidsNetwork(config({ confText: { localConf: 'X = "1"\nBB_NO_NETWORK ?= "1"\n', bblayersConf: '' } })),
    ).toBe(true);
    expect(forbidsNetwork(config({ confText: { localConf: '# BB_NO_NETWORK = "1"\n', bblayersConf: '' } }))).toBe(
      false,
    );
    expect(forbidsNetwork(config({}))).toBe(false);
  });

  it('a writer reports to the shared server; a reader uses it as upstream of a local one', () => {
    const server = parseHashServer('hashserv.example.com:8686', 'in');
    const writer = renderAutoConf({ ...base, hashServe: hashServeConf(server, true) });
    expect(writer).toContain('BB_HASHSERVE = "hashserv.example.com:8686"');
    expect(writer).not.toContain('BB_HASHSERVE = "auto"');
    const reader = renderAutoConf({ ...base, hashServe: hashServeConf(server, false) });
    expect(reader).toContain('BB_HASHSERVE = "auto"');
    expect(reader).toContain('BB_HASHSERVE_UPSTREAM = "hashserv.example.com:8686"');
    expect(renderAutoConf(base)).toContain('BB_HASHSERVE = "auto"');
    expect(renderAutoConf(base)).not.toContain('BB_HASHSERVE_UPSTREAM');
  });
});

describe('the container in remote mode', () => {
  const spec: ContainerSpec = {
    engine: 'docker',
    image: 'img',
    name: 'n',
    user: { uid: 1000, gid: 1000 },
    mounts: [],
    env: {},
    workdir: '/b',
    securityOptions: [],
    labels: {},
    command: ['/bin/bash', 'x'],
  };
  it("shares the runner's network only when asked", () => {
    expect(runArgs({ ...spec, network: 'host' })).toContain('--network');
    expect(runArgs({ ...spec, network: 'host' }).join(' ')).toContain('--network host img');
    expect(runArgs(spec)).not.toContain('--network');
  });
});

describe('credentials stay with the action', () => {
  it('BitBake run on the runner gets no AWS_* variable', () => {
    const env = runnerEnvForBitbake({
      PATH: '/usr/bin',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      AWS_WEB_IDENTITY_TOKEN_FILE: '/tmp/t',
    });
    expect(env).toEqual({ PATH: '/usr/bin' });
  });
});
