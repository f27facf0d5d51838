/**
 * The runner as it is: layer remotes that fail for a moment. dist/main.js fetches poky over git's
 * smart HTTP from a server on 127.0.0.1 that fails its first requests.
 */
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GitHttpServer } from '../support/git-http-server.js';
import { runJob, startStep, type StepResult } from '../support/run-action.js';
import { BUILDER_IMAGE, dockerAvailable, jobWorkspace, pokyRemote, scratch, smidrYaml } from '../support/world.js';

const LONG = 600_000;
let root: string;
let server: GitHttpServer;

beforeAll(async () => {
  if (!dockerAvailable()) {
    throw new Error(
      `Docker or the builder image ${BUILDER_IMAGE} is missing: run ./scripts/test.sh, which sets both up`,
    );
  }
  root = scratch('runners');
  pokyRemote(root);
  server = new GitHttpServer(path.join(root, 'remotes'));
  await server.start();
});

afterAll(async () => {
  await server?.stop();
});

function job(name: string, yaml: string) {
  const workspace = jobWorkspace(root, `ws-${name}`, yaml);
  return { workspace, jobDir: path.join(root, 'jobs', name), inputs: { config: 'smidr.yaml' } };
}

describe('a layer remote that fails its first requests', () => {
  let main: StepResult;
  let post: StepResult;

  beforeAll(async () => {
    server.failNext('http-503', 'reset');
    ({ main, post } = await runJob(job('flaky', smidrYaml(server.url('poky.git')))));
  }, LONG);

  it('is retried, each retry logged, and the build succeeds', () => {
    expect(main.exitCode, main.stdout).toBe(0);
    expect(main.outputs.result).toBe('success');
    expect(post.exitCode).toBe(0);
    const retries = main.annotations.filter((a) => a.startsWith('::warning') && a.includes('trying again'));
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/git ls-remote failed \(server error: .*503\); attempt 1 of 4/);
    expect(retries[1]).toMatch(/git ls-remote failed \(connection dropped: .*\); attempt 2 of 4/);
    expect(server.requests.slice(0, 3).map((r) => r.replace(/\?\S*/, ''))).toEqual([
      'GET /poky.git/info/refs (http-503)',
      'GET /poky.git/info/refs (reset)',
      'GET /poky.git/info/refs',
    ]);
  });
});

describe('a layer remote that does not exist', () => {
  let main: StepResult;

  beforeAll(async () => {
    main = await startStep(job('missing', smidrYaml(server.url('missing.git'))), 'main').done;
  }, LONG);

  it('fails at once with the message of a permanent error', () => {
    expect(main.exitCode).not.toBe(0);
    expect(main.stdout).toContain(`layer 'poky': cannot reach ${server.url('missing.git')}`);
    expect(main.stdout).toContain('not found');
    expect(main.stdout).not.toContain('trying again');
  });
});
