/**
 * The loopback artifact service (twirp ArtifactService + Azurite) against the real, unmodified
 * @actions/artifact client in this process: upload (CreateArtifact, the zip through the Azure SDK,
 * FinalizeArtifact), list, and download with extraction (GetSignedArtifactURL).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { DefaultArtifactClient } from '@actions/artifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  applyClientEnv,
  type CacheService,
  captureOutput,
  RESULTS_BACKEND_IDS,
  startCacheService,
} from '../support/cache-service/index.js';

describe('artifact service (twirp + Azure Blob via Azurite)', { timeout: 60_000 }, () => {
  let service: CacheService;
  let undo: () => void;
  let root: string;

  beforeAll(async () => {
    service = await startCacheService({ protocol: 'v2' });
    root = await mkdtemp(path.join(os.tmpdir(), 'artifact-service-'));
    undo = applyClientEnv(service, { RUNNER_TEMP: root, GITHUB_WORKSPACE: root });
  });

  afterAll(async () => {
    undo();
    await service.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('uploads, lists and downloads an artifact with the real client', async () => {
    const deploy = path.join(root, 'deploy');
    await mkdir(path.join(deploy, 'images'), { recursive: true });
    await writeFile(path.join(deploy, 'images', 'a.ext4'), 'first image');
    await writeFile(path.join(deploy, 'images', 'b.manifest'), 'busybox 1.36\n');
    const client = new DefaultArtifactClient();
    const files = ['a.ext4', 'b.manifest'].map((f) => path.join(deploy, 'images', f));
    const { value: uploaded } = await captureOutput(() => client.uploadArtifact('images', files, deploy));
    expect(uploaded.id).toBe(1);
    expect(uploaded.size).toBeGreaterThan(0);
    expect(service.calls()).toMatchObject({ 'artifact.CreateArtifact': 1, 'artifact.FinalizeArtifact': 1 });
    expect(service.callCount('blob.PutBlock', 'blob.PutBlob')).toBeGreaterThan(0);

    const [stored] = service.artifacts();
    expect(stored).toMatchObject({ id: 1, name: 'images', runId: RESULTS_BACKEND_IDS.run, finalized: true });
    expect(stored!.digest).toBe(`sha256:${uploaded.digest!}`);
    expect((await service.readArtifact(1)).subarray(0, 2).toString()).toBe('PK');

    const { value: listed } = await captureOutput(() => client.listArtifacts());
    expect(listed.artifacts.map((a) => [a.id, a.name, a.size])).toEqual([[1, 'images', uploaded.size]]);

    const into = path.join(root, 'downloaded');
    await captureOutput(() => client.downloadArtifact(1, { path: into }));
    expect(await readFile(path.join(into, 'images', 'a.ext4'), 'utf8')).toBe('first image');
    expect(await readFile(path.join(into, 'images', 'b.manifest'), 'utf8')).toBe('busybox 1.36\n');
    expect(service.serverErrors()).toEqual([]);
  });

  it('refuses a second artifact of the same name in one run', async () => {
    const file = path.join(root, 'again.txt');
    await writeFile(file, 'x');
    const { value, warnings } = await captureOutput(() =>
      new DefaultArtifactClient().uploadArtifact('images', [file], root).then(
        () => 'uploaded',
        (e: unknown) => String(e),
      ),
    );
    expect(value, warnings.join('\n')).toMatch(/already exists|409|Conflict/i);
    expect(service.artifacts()).toHaveLength(1);
  });
});
