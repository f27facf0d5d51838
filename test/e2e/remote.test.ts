/**
 * The remote cache end to end: dist/ as the runner runs it, the official AWS SDK inside it talking
 * to s3rver on 127.0.0.1, BitBake (the stand-in) in the builder container on the host network,
 * fetching through the action's read-through endpoint with SSTATE_MIRRORS and PREMIRRORS. Every
 * host has its own runner directories: nothing is shared but the bucket.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { servedListFile } from '../../src/cache/remote/session.js';
import { formatBytes } from '../../src/util/format.js';
import { type GitRemote, makeWorkspaceRepo } from '../support/git-remotes.js';
import { runJob, type RunnerEnv, type StepResult } from '../support/run-action.js';
import {
  deadEndpoint,
  objectBytes,
  type S3Server,
  startFailingStore,
  startS3Server,
  TEST_BUCKET,
  TEST_CREDENTIALS,
} from '../support/s3-server.js';
import {
  BUILDER_IMAGE,
  dockerAvailable,
  FIXTURES,
  pokyRemote,
  scratch,
  smidrYaml,
  standinReport,
} from '../support/world.js';

const LONG = 900_000;
const PREFIX = 'fleet/';
let root: string;
let poky: GitRemote;
let s3: S3Server;
let jobs = 0;

type Job = { main: StepResult; post: StepResult };

/** A source only reachable through mirrors: host A gets it from a MIRRORS directory in the layer. */
const EXTRA_SOURCE = 'smidr-extra-1.0.tar.gz';
const extraRecipe = (output: string) =>
  [
    'SUMMARY = "A recipe with a network source"',
    'LICENSE = "MIT"',
    `SRC_URI = "https://downloads.example.invalid/${EXTRA_SOURCE}"`,
    `STANDIN_OUTPUT = "${output}"`,
    '',
  ].join('\n');

/** meta-smidr-test plus smidr-extra in the image; `mirror: true` adds the MIRRORS host A uses. */
function workspace(name: string, o: { extraOutput?: string; mirror?: boolean } = {}): string {
  const dir = path.join(root, name);
  const localConf = o.mirror ? ['MIRRORS = "https?://.*/.* file:///smidr/layers/meta-smidr-test/mirror/"'] : [];
  makeWorkspaceRepo(
    dir,
    {
      'smidr.yaml': smidrYaml(poky.url, { localConf }),
      'meta-smidr-test/recipes-test/smidr-extra/smidr-extra_1.0.bb': extraRecipe(o.extraOutput ?? 'extra 1'),
      'meta-smidr-test/recipes-test/images/smidr-image.bb': readFileSync(
        path.join(FIXTURES, 'meta-smidr-test/recipes-test/images/smidr-image.bb'),
        'utf8',
      ).replace('smidr-app"', 'smidr-app smidr-extra"'),
      [`meta-smidr-test/mirror/${EXTRA_SOURCE}`]: 'the extra source\n',
    },
    { 'meta-smidr-test': path.join(FIXTURES, 'meta-smidr-test') },
  );
  return dir;
}

/** A job on its own host: its own runner temp and tool cache, nothing shared but the bucket. */
function host(
  ws: string,
  o: { endpoint?: string; eventName?: string; inputs?: Record<string, string> } = {},
): RunnerEnv {
  jobs += 1;
  return {
    workspace: ws,
    jobDir: path.join(root, 'hosts', String(jobs)),
    runId: String(7000 + jobs),
    eventName: o.eventName,
    inputs: {
      config: 'smidr.yaml',
      cache: 'remote',
      'remote-cache': `s3://${TEST_BUCKET}/${PREFIX}`,
      'remote-endpoint': o.endpoint ?? s3.endpoint,
      ...o.inputs,
    },
    env: { ...TEST_CREDENTIALS },
  };
}

function ok(r: Job): void {
  expect(r.main.exitCode, r.main.stdout).toBe(0);
  expect(r.post.exitCode, r.post.stdout).toBe(0);
}

const bucket = () => s3.keys().filter((k) => k.startsWith(PREFIX) && !k.startsWith(`${PREFIX}usage/`));
const sstateSummary = (r: Job) =>
  /Sstate summary: Wanted (\d+) Local (\d+) Mirrors (\d+) Missed (\d+)/.exec(r.main.stdout);

/**
 * The sstate archives a job left in its own SSTATE_DIR (made, or fetched from the bucket), as
 * relative paths; its runner directory is its alone.
 */
function localArchives(r: RunnerEnv): string[] {
  const dir = path.join(r.jobDir, 'runner-temp', 'smidr', 'cache', 'sstate-cache');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.tar.zst'))
    .sort();
}

const hasSiginfo = (r: RunnerEnv, rel: string) =>
  existsSync(path.join(r.jobDir, 'runner-temp', 'smidr', 'cache', 'sstate-cache', `${rel}.siginfo`));

/**
 * The summary's line for what the endpoint served, from the served list the main step left and
 * the sizes of those objects in the bucket (read from s3rver's files, not through the action).
 */
function servedLine(r: Job): string {
  const served = JSON.parse(readFileSync(servedListFile(r.main.outputs['build-dir']!), 'utf8')) as string[];
  const folder = (id: string) => (id.startsWith('sstate/') ? 'sstate-cache/' : 'downloads/');
  const bytes = served.reduce(
    (n, id) => n + objectBytes(s3, `${PREFIX}${folder(id)}${id.slice(id.indexOf('/') + 1)}`).length,
    0,
  );
  return `| Served to BitBake from the store | ${served.length} objects, ${formatBytes(bytes)};`;
}

const storeLine = () => `| Remote store | \`s3://${TEST_BUCKET}/${PREFIX} at ${s3.endpoint}\` |`;

/** Neither the credentials nor any AWS variable reach a conf file, the log, the summary or BitBake. */
function noSecrets(r: Job): void {
  const buildDir = r.main.outputs['build-dir']!;
  const texts = [
    r.main.stdout,
    r.post.stdout,
    r.main.summary,
    r.post.summary,
    readFileSync(path.join(buildDir, 'conf', 'auto.conf'), 'utf8'),
    JSON.stringify(r.main.state),
  ];
  for (const t of texts) expect(t).not.toContain(TEST_CREDENTIALS.AWS_SECRET_ACCESS_KEY);
  expect(Object.keys(standinReport(buildDir).env).filter((k) => k.startsWith('AWS_'))).toEqual([]);
}

/** A TCP port on 127.0.0.1 that accepts connections: all the action's reachability check asks of a hash server. */
async function listener(): Promise<{ address: string; server: Server }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

beforeAll(async () => {
  if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/test.sh`);
  root = scratch('remote');
  poky = pokyRemote(root);
  s3 = await startS3Server(path.join(root, 's3'));
}, LONG);

afterAll(() => s3?.stop());

describe('a fleet sharing one bucket', () => {
  let a: Job;
  let hostA: RunnerEnv;
  let afterA: string[];
  let b: Job;
  let pr: Job;
  let hashListener: { address: string; server: Server };

  beforeAll(async () => {
    hostA = host(workspace('ws-a', { mirror: true }));
    a = await runJob(hostA);
    afterA = bucket();
    b = await runJob(host(workspace('ws-b')));
    // A pull request that changes smidr-extra: it must fetch the source again, from the bucket.
    // It names a shared hash server (something that accepts connections): it must read it only.
    hashListener = await listener();
    pr = await runJob(
      host(workspace('ws-pr', { extraOutput: 'extra 2' }), {
        eventName: 'pull_request',
        inputs: { hashserve: hashListener.address },
      }),
    );
  }, LONG);

  afterAll(() => hashListener?.server.close());

  it('host A builds cold and uploads exactly the objects and downloads it created', () => {
    ok(a);
    const summary = sstateSummary(a)!;
    expect(Number(summary[2]) + Number(summary[3])).toBe(0); // nothing local, nothing on the mirror
    const created = localArchives(hostA);
    expect(created.length).toBeGreaterThan(0);
    const expected = created.flatMap((rel) => [
      `${PREFIX}sstate-cache/${rel}`,
      ...(hasSiginfo(hostA, rel) ? [`${PREFIX}sstate-cache/${rel}.siginfo`] : []),
    ]);
    const sstateKeys = afterA.filter((k) => k.startsWith(`${PREFIX}sstate-cache/`));
    expect(sstateKeys).toEqual(expected.sort());
    // Every archive went up with its signature; no signature without its archive.
    expect(sstateKeys).toHaveLength(created.length * 2);
    expect(afterA).toContain(`${PREFIX}downloads/${EXTRA_SOURCE}`);
    expect(afterA.filter((k) => /\.(done|lock)$/.test(k))).toEqual([]);
    const uploaded = created.length + afterA.length - sstateKeys.length;
    expect(a.post.stdout).toContain(`Remote cache: uploaded ${uploaded} new objects`);
    // The job summary: the store, nothing served to a cold build, and what the post step uploaded.
    expect(a.main.summary).toContain(storeLine());
    expect(a.main.summary).toContain('| Served to BitBake from the store | 0 objects, 0 B;');
    expect(a.main.summary).toContain('| Writes to the store | yes: the post step uploads what this build made |');
    expect(a.main.summary).not.toContain('| Hash server |');
    expect(a.post.summary).toContain('### Remote store saved');
    expect(a.post.summary).toMatch(new RegExp(`\\| Uploaded \\| ${uploaded} objects, [\\d.]+ [KM]?i?B in`));
    expect(a.post.summary).toContain('| Skipped, already in the store | 0 objects |');
    noSecrets(a);
  });

  it('host B gets every object from the bucket (100% match, all Mirrors) and builds nothing', () => {
    ok(b);
    const [, wanted, local, mirrors, missed] = sstateSummary(b)!.map(Number);
    expect(wanted).toBeGreaterThan(0);
    expect({ local, mirrors, missed }).toEqual({ local: 0, mirrors: wanted, missed: 0 });
    expect(b.main.outputs['sstate-match']).toBe('100');
    expect(standinReport(b.main.outputs['build-dir']!).tasks_run).toEqual([]);
    expect(b.post.stdout).toContain('Remote cache: uploaded 0 new objects');
    expect(bucket()).toEqual(afterA);
    // The summary counts what BitBake fetched through the endpoint, bytes as the bucket holds them.
    expect(b.main.summary).toContain(storeLine());
    expect(b.main.summary).toContain(servedLine(b));
    expect(servedLine(b)).not.toContain('| 0 objects');
    expect(b.post.summary).toContain('| Uploaded | 0 objects, 0 B in');
    const present = /Remote cache: uploaded 0 new objects .*; (\d+) were in the bucket already/.exec(
      b.post.stdout,
    )?.[1];
    expect(Number(present)).toBeGreaterThan(0);
    expect(b.post.summary).toContain(`| Skipped, already in the store | ${present} objects |`);
    noSecrets(b);
  });

  it('a pull request reads through PREMIRRORS and SSTATE_MIRRORS but writes nothing', () => {
    ok(pr);
    const report = standinReport(pr.main.outputs['build-dir']!);
    expect(report.tasks_run.some((t) => t.startsWith('smidr-extra') && t.endsWith('do_fetch'))).toBe(true);
    expect(sstateSummary(pr)![3]).not.toBe('0');
    expect(pr.post.stdout).toMatch(/Not saving to the remote cache: a pull_request build restores only/);
    expect(s3.keys().filter((k) => k.startsWith(PREFIX))).toEqual(
      expect.arrayContaining(afterA), // the usage record of host A and B aside, nothing new
    );
    expect(bucket()).toEqual(afterA);
    // The summary says the build read only, why, and which hash server it read from.
    expect(pr.main.summary).toContain(storeLine());
    expect(pr.main.summary).toContain(servedLine(pr));
    expect(pr.main.summary).toContain(
      '| Writes to the store | read-only: a pull\\_request build restores only (its code is untrusted); set save: true to save |',
    );
    expect(pr.main.summary).toContain(
      `| Hash server | \`${hashListener.address}\`: answered; read-only: the local server reads it as its upstream |`,
    );
    expect(pr.post.summary).toContain('### Remote store saved');
    expect(pr.post.summary).toContain('Nothing uploaded: a pull\\_request build restores only');
    noSecrets(pr);
  });
});

describe('a store that fails', () => {
  it(
    'answering 500: one warning, a cold build that succeeds',
    async () => {
      const failing = await startFailingStore();
      try {
        const r = await runJob(host(workspace('ws-500', { mirror: true }), { endpoint: failing.endpoint }));
        ok(r);
        expect(r.main.annotations.filter((l) => l.startsWith('::warning') && l.includes('remote cache'))).toHaveLength(
          1,
        );
        expect(sstateSummary(r)![4]).not.toBe('0');
        expect(r.main.outputs.result).toBe('success');
      } finally {
        await failing.stop();
      }
    },
    LONG,
  );

  it(
    'down: one warning, a cold build that succeeds',
    async () => {
      const r = await runJob(host(workspace('ws-down', { mirror: true }), { endpoint: await deadEndpoint() }));
      ok(r);
      expect(r.main.annotations.filter((l) => l.startsWith('::warning') && l.includes('remote cache'))).toHaveLength(1);
      expect(r.main.outputs.result).toBe('success');
    },
    LONG,
  );
});

describe('two hosts saving at once', () => {
  it(
    'leave a consistent bucket: every object whole, each once, with its signature',
    async () => {
      const before = new Set(bucket());
      const hx = host(workspace('ws-x', { extraOutput: 'extra 3' }));
      const hy = host(workspace('ws-y', { extraOutput: 'extra 3' }));
      const [x, y] = await Promise.all([runJob(hx), runJob(hy)]);
      ok(x);
      ok(y);
      const added = bucket().filter((k) => !before.has(k));
      const archives = added.filter((k) => k.endsWith('.tar.zst'));
      expect(archives.length).toBeGreaterThan(0);
      for (const k of archives) expect(added).toContain(`${k}.siginfo`);
      expect(added).toHaveLength(archives.length * 2);
      // Both made the same objects (same task hashes): each is in the bucket once, whole.
      const made = new Set([...localArchives(hx), ...localArchives(hy)].map((rel) => `${PREFIX}sstate-cache/${rel}`));
      for (const k of archives) expect(made.has(k)).toBe(true);
    },
    LONG,
  );
});
