import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type ContainerSpec, runArgs, userNamespaceOptions } from '../../src/bitbake/container.js';

const spec: ContainerSpec = {
  engine: 'docker',
  image: 'smidr-builder:bookworm',
  name: 'smidr-1',
  user: { uid: 1000, gid: 1000 },
  mounts: [
    { source: '/cache/layers/poky-1/abc', target: '/smidr/layers/poky', readonly: true },
    { source: '/tmp/a,b"c', target: '/smidr/build', readonly: false },
  ],
  env: { HOME: '/smidr/build/.smidr/home' },
  workdir: '/smidr/build',
  memory: '8g',
  cpus: 4,
  securityOptions: ['apparmor=rootlesskit'],
  labels: { 'org.smidr.build': '1' },
  command: ['/bin/bash', '/smidr/build/.smidr/run-bitbake.sh', '-k', 'core-image-minimal'],
};

describe('runArgs', () => {
  const args = runArgs(spec);
  it('runs the fixed script as the given user with limits', () => {
    expect(args.slice(0, 3)).toEqual(['run', '--name', 'smidr-1']);
    expect(args).toContain('--init');
    expect(args.join(' ')).toContain('--user 1000:1000');
    expect(args.join(' ')).toContain('--memory 8g --memory-swap 8g --cpus 4');
    expect(args.join(' ')).toContain('--security-opt apparmor=rootlesskit');
    expect(args.slice(-4)).toEqual([
      'smidr-builder:bookworm',
      '/smidr/build/.smidr/run-bitbake.sh',
      '-k',
      'core-image-minimal',
    ]);
    expect(args[args.indexOf('--entrypoint') + 1]).toBe('/bin/bash');
  });
  it('mounts layers read-only and quotes awkward paths CSV-style', () => {
    expect(args).toContain('type=bind,source=/cache/layers/poky-1/abc,target=/smidr/layers/poky,readonly');
    expect(args).toContain('type=bind,"source=/tmp/a,b""c",target=/smidr/build');
  });
});

describe('userNamespaceOptions', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'userns-'));
  const restrict = path.join(dir, 'restrict');
  const profile = path.join(dir, 'rootlesskit');
  it('adds nothing where user namespaces are not restricted', () => {
    expect(userNamespaceOptions(path.join(dir, 'absent'), profile)).toEqual({ options: [] });
    writeFileSync(restrict, '0\n');
    expect(userNamespaceOptions(restrict, profile)).toEqual({ options: [] });
  });
  it('uses the rootlesskit profile on Ubuntu 24.04, and warns with the fix without it', () => {
    writeFileSync(restrict, '1\n');
    expect(userNamespaceOptions(restrict, profile).warning).toMatch(/apparmor_restrict_unprivileged_userns=0/);
    writeFileSync(profile, 'profile rootlesskit {}\n');
    expect(userNamespaceOptions(restrict, profile)).toEqual({ options: ['apparmor=rootlesskit'] });
  });
});
