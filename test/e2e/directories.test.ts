/**
 * smidr.yaml's directories.tmp, build and deploy on a self-hosted runner (cache: local): the
 * build directory goes under `build`, the build's own TMPDIR under `tmp` (mounted read-write into
 * the container), and the deploy output is copied under `deploy`. Real Docker, the stand-in.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { runJob, type StepResult } from '../support/run-action.js';
import {
  BUILDER_IMAGE,
  dockerAvailable,
  jobWorkspace,
  pokyRemote,
  scratch,
  smidrYaml,
  standinReport,
} from '../support/world.js';

const LONG = 600_000;

describe('directories.tmp, build and deploy with cache: local', () => {
  let root: string;
  let main: StepResult;
  let post: StepResult;
  let buildDir: string;

  beforeAll(async () => {
    if (!dockerAvailable()) throw new Error(`Docker or the builder image ${BUILDER_IMAGE} is missing`);
    root = scratch('directories');
    const yaml = `${smidrYaml(pokyRemote(root).url)}directories:
  downloads: ${root}/persistent/downloads
  sstate: ${root}/persistent/sstate-cache
  layers: ${root}/persistent/layers
  tmp: ${root}/fast-disk/tmp
  build: ${root}/big-disk/builds
  deploy: ${root}/deploy-copies
`;
    const workspace = jobWorkspace(root, 'workspace', yaml);
    ({ main, post } = await runJob({
      workspace,
      jobDir: path.join(root, 'jobs', 'local'),
      inputs: { config: 'smidr.yaml', cache: 'local' },
      env: { RUNNER_ENVIRONMENT: 'self-hosted' },
    }));
    buildDir = main.outputs['build-dir']!;
  }, LONG);

  it('builds, and warns about none of them', () => {
    expect(main.exitCode, main.stdout).toBe(0);
    expect(post.exitCode, post.stdout).toBe(0);
    expect(main.annotations.filter((a) => /directories\./.test(a))).toEqual([]);
  });

  it('puts the build directory under directories.build', () => {
    expect(path.dirname(buildDir)).toBe(`${root}/big-disk/builds`);
  });

  it('gives the build its own TMPDIR under directories.tmp, which BitBake in the container wrote to', () => {
    const id = path.basename(buildDir);
    const tmpRoot = `${root}/fast-disk/tmp/${id}`;
    const r = standinReport(buildDir);
    expect(r.variables.TMPDIR).toBe('/smidr/tmpdir/tmp');
    // The host's TMPDIR never reaches BitBake.
    expect(r.env.TMPDIR).toBeNull();
    expect(main.outputs['deploy-dir']).toBe(`${tmpRoot}/tmp/deploy`);
    const images = JSON.parse(main.outputs.images!) as string[];
    expect(images.map((i) => path.basename(i))).toContain('smidr-image-qemux86-64.rootfs.ext4');
    for (const image of images) expect(image.startsWith(`${tmpRoot}/tmp/deploy/images/`)).toBe(true);
    expect(existsSync(path.join(buildDir, 'tmp'))).toBe(false);
    // Only this build's directory is there: nothing shared.
    expect(readdirSync(`${root}/fast-disk/tmp`)).toEqual([id]);
  });

  it('copies the deploy directory to <deploy>/<build id>', () => {
    const id = path.basename(buildDir);
    const copied = `${root}/deploy-copies/${id}/images/qemux86-64/smidr-image-qemux86-64.rootfs.ext4`;
    const original = `${main.outputs['deploy-dir']!}/images/qemux86-64/smidr-image-qemux86-64.rootfs.ext4`;
    expect(readFileSync(copied)).toEqual(readFileSync(original));
    expect(main.stdout).toContain(`Copied the deploy directory to ${root}/deploy-copies/${id} (directories.deploy)`);
  });
});
