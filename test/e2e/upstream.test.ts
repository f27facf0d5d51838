/**
 * A config written the way upstream Smidr writes them (a provider label, packages, features,
 * advanced, artifacts, ${VAR:-default} directories, a cache block) builds with the stand-in, and
 * BitBake reads the conf lines those keys name; with upload-artifacts the `artifacts:` files go to
 * the loopback artifact service through the real @actions/artifact client.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { DefaultArtifactClient } from '@actions/artifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyClientEnv, type CacheService, captureOutput, startCacheService } from '../support/cache-service/index.js';
import { runJob, type StepResult } from '../support/run-action.js';
import { BUILDER_IMAGE, dockerAvailable, jobWorkspace, pokyRemote, scratch, standinReport } from '../support/world.js';

const LONG = 600_000;

function upstreamStyle(pokyUrl: string): string {
  return `name: \${E2E_PROJECT:-upstream-style}
description: "CI build of an upstream-style config"
yocto_series: scarthgap
base:
  provider: custom
  machine: \${E2E_MACHINE:-qemux86-64}
  distro: poky
  version: "6.0.0"
layers:
  - name: poky
    git: ${pokyUrl}
    branch: main
  - name: meta-smidr-test
    path: meta-smidr-test
build:
  image: smidr-image
  bb_number_threads: 2
  parallel_make: \${E2E_JOBS:-2}
directories:
  downloads: \${E2E_UNSET_DL_DIR:-~/.smidr/downloads}
  tmp: \${TOPDIR}/tmp
  deploy: \${E2E_DEPLOY_DIR:-~/.smidr/deploy}
packages:
  classes: package_ipk
features:
  extra_image_features: ["debug-tweaks"]
  inherit_classes: ["rm_work"]
advanced:
  bb_hashserve: auto
  license_flags: commercial
  accept_fsl_eula: true
  bb_no_network: \${E2E_NO_NETWORK:-false}
artifacts:
  - "*.ext4"
container:
  base_image: ${BUILDER_IMAGE}
  memory: 2g
  cpu_count: 2
cache:
  retention: 30
`;
}

describe('an upstream-style smidr.yaml', () => {
  let main: StepResult;
  let service: CacheService;
  let root: string;

  beforeAll(async () => {
    if (!dockerAvailable()) throw new Error(`Docker or the builder image ${BUILDER_IMAGE} is missing`);
    root = scratch('upstream');
    service = await startCacheService({ protocol: 'v2' });
    const workspace = jobWorkspace(root, 'workspace', upstreamStyle(pokyRemote(root).url));
    ({ main } = await runJob({
      workspace,
      jobDir: path.join(root, 'jobs', 'upstream'),
      inputs: { config: 'smidr.yaml', 'upload-artifacts': 'true' },
      env: { ...service.env, E2E_NO_NETWORK: 'true', E2E_JOBS: '3' },
    }));
  }, LONG);

  afterAll(async () => {
    await service?.stop();
  });

  it('builds, with one warning for each key it cannot apply', () => {
    expect(main.exitCode, main.stdout).toBe(0);
    expect(main.stdout).toMatch(/smidr\.yaml:39: cache: ignored/);
    expect(main.stdout).toMatch(/smidr\.yaml:8: base\.version: ignored/);
    // ${TOPDIR}/tmp is the default (each build's own TMPDIR): nothing to warn about.
    expect(main.stdout).not.toMatch(/directories\.tmp/);
    expect(main.stdout).toMatch(/directories\.deploy: not used with cache: actions/);
  });

  it('wrote the conf lines the keys name, and BitBake read them', () => {
    const r = standinReport(main.outputs['build-dir']!);
    expect(r.user_conf_values).toMatchObject({
      PACKAGE_CLASSES: 'package_ipk',
      EXTRA_IMAGE_FEATURES: 'debug-tweaks',
      LICENSE_FLAGS_ACCEPTED: 'commercial',
      ACCEPT_FSL_EULA: '1',
      BB_NO_NETWORK: '1',
      PARALLEL_MAKE: '-j 3',
    });
    expect(r.variables.INHERIT).toContain('rm_work');
    expect(r.variables.BB_HASHSERVE).toBe('auto');
    expect(r.variables.MACHINE).toBe('qemux86-64');
  });

  it('sets the artifacts output from the patterns', () => {
    const artifacts = JSON.parse(main.outputs.artifacts!) as string[];
    expect(artifacts.length).toBeGreaterThan(0);
    for (const a of artifacts) {
      expect(a.startsWith(`${main.outputs['deploy-dir']!}/`)).toBe(true);
      expect(a).toMatch(/\.ext4$/);
    }
    expect(artifacts.map((a) => path.basename(a))).toContain('smidr-image-qemux86-64.rootfs.ext4');
  });

  it('uploads the artifacts as one workflow artifact, which the run can list and download', async () => {
    const undo = applyClientEnv(service, { RUNNER_TEMP: path.join(root, 'test-temp'), GITHUB_WORKSPACE: root });
    try {
      const client = new DefaultArtifactClient();
      const { value: listed } = await captureOutput(() => client.listArtifacts());
      const name = `smidr-${path.basename(main.outputs['build-dir']!)}`;
      expect(listed.artifacts.map((a) => a.name)).toEqual([name]);
      expect(main.stdout).toMatch(
        new RegExp(`Uploaded \\d+ files as the artifact ${name} \\(id ${listed.artifacts[0]!.id}, `),
      );
      const into = mkdtempSync(path.join(root, 'downloaded-'));
      await captureOutput(() => client.downloadArtifact(listed.artifacts[0]!.id, { path: into }));
      // The zip holds the files relative to the deploy directory, as the artifacts output lists them.
      const deployDir = main.outputs['deploy-dir']!;
      for (const file of JSON.parse(main.outputs.artifacts!) as string[]) {
        const rel = path.relative(deployDir, file);
        expect(readFileSync(path.join(into, rel)), rel).toEqual(readFileSync(file));
      }
      expect(service.artifacts()[0]!.sizeBytes).toBe(listed.artifacts[0]!.size);
      expect(service.serverErrors()).toEqual([]);
    } finally {
      undo();
    }
  });
});
