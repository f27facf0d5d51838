/**
 * Remote cache vs the actions cache on a fresh runner whose build needs 40% of what the store
 * holds: bytes transferred and the time until the first task can start. Same synthetic sstate
 * tree in both stores. `cache: actions` restores the whole entry before BitBake starts (the
 * action's restore path, in a process of its own, against the loopback cache service); the
 * remote cache starts BitBake at once and BitBake fetches each object it wants through the
 * action's read-through endpoint (here: 4 concurrent fetchers, as setscene tasks with
 * BB_NUMBER_THREADS = 4 would, each getting the archive and its .siginfo, from s3rver on
 * 127.0.0.1 through the AWS SDK). Variants alternate, round after round.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { startMirrorEndpoint } from '../src/cache/remote/endpoint.js';
import type { RemoteSettings } from '../src/cache/remote/location.js';
import { S3Store } from '../src/cache/remote/store.js';
import { uploadCandidates, uploadNew } from '../src/cache/remote/upload.js';
import { startCacheService } from '../test/support/cache-service/index.js';
import { REPO_ROOT } from '../test/support/run-action.js';
import { startS3Server, TEST_BUCKET, TEST_CREDENTIALS } from '../test/support/s3-server.js';
import { describeMachine, measuredAt } from './support/doc.js';
import { ensureTree, type Tree } from './support/sstate-tree.js';
import { median, mib, ratio, seconds, table } from './support/stats.js';

export interface RemoteFetchOptions {
  root: string;
  totalBytes: number;
  objects: number;
  rounds: number;
  log: (m: string) => void;
}

/** The share of the store the warm build needs. */
const NEEDED_SHARE = 0.4;
const FETCHERS = 4;

interface Measure {
  firstTask: number;
  allFetched: number;
  bytes: number;
}

export async function remoteFetch(o: RemoteFetchOptions): Promise<string> {
  const tree = await ensureTree(
    path.join(o.root, 'trees'),
    { totalBytes: o.totalBytes, objects: o.objects, staleShare: 0, seed: 14 },
    o.log,
  );
  const work = path.join(o.root, 'remote');
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });
  const machine = describeMachine(work);
  const date = measuredAt();
  Object.assign(process.env, TEST_CREDENTIALS);
  const s3 = await startS3Server(path.join(work, 's3'));
  const settings: RemoteSettings = {
    url: `s3://${TEST_BUCKET}/bench/`,
    bucket: TEST_BUCKET,
    prefix: 'bench/',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    pathStyle: true,
  };
  const service = await startCacheService({ protocol: 'v2' });
  // Every object the tree holds, and the 40% a build needs: a deterministic spread over the tree.
  const needed = tree.objects.filter((_, i) => i % 5 < 5 * NEEDED_SHARE);
  const neededBytes = await filesBytes(
    tree.sstate,
    needed.flatMap((x) => [x.path, `${x.path}.siginfo`]),
  );
  const results: Record<'actions' | 'remote', Measure[]> = { actions: [], remote: [] };
  try {
    o.log('filling the bucket and the actions cache with the tree');
    const store = new S3Store(settings);
    const dirs = { sstate: tree.sstate, downloads: path.join(work, 'no-downloads') };
    await fs.mkdir(dirs.downloads);
    const up = await uploadNew(await uploadCandidates(dirs), { settings, store, dirs, served: new Set() });
    if (up.failed > 0) throw new Error(`upload failed: ${up.firstError}`);
    store.close();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RUNNER_TEMP: work,
      GITHUB_WORKSPACE: work,
      ...service.env,
    };
    await cacheStep('action-save', tree, work, env);
    const archiveBytes = service.entries().find((e) => e.key.includes('-sstate-'))!.sizeBytes;
    for (let round = 0; round < o.rounds; round++) {
      for (const v of round % 2 ? (['remote', 'actions'] as const) : (['actions', 'remote'] as const)) {
        o.log(`round ${round + 1}/${o.rounds}: ${v}`);
        if (v === 'actions') {
          const s = await cacheStep('action-restore', undefined, work, env);
          results.actions.push({ firstTask: s, allFetched: s, bytes: archiveBytes });
        } else {
          results.remote.push(await fetchThroughEndpoint(settings, needed, path.join(work, 'fresh-sstate')));
        }
      }
    }
  } finally {
    await service.stop();
    await s3.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
  const med = (v: 'actions' | 'remote', f: (m: Measure) => number) => median(results[v].map(f));
  const remoteBytes = med('remote', (m) => m.bytes);
  const rows = [
    ['', 'bytes transferred', 'time to the first task', 'all needed objects local'],
    [
      '`cache: actions` (whole entry restored before BitBake)',
      `${mib(med('actions', (m) => m.bytes))}`,
      seconds(med('actions', (m) => m.firstTask)),
      seconds(med('actions', (m) => m.allFetched)),
    ],
    [
      '`cache: remote` (BitBake fetches what it needs through the endpoint)',
      `${mib(remoteBytes)}`,
      seconds(med('remote', (m) => m.firstTask)),
      seconds(med('remote', (m) => m.allFetched)),
    ],
  ];
  return `## Remote cache vs actions cache on a fresh runner

${date}. ${machine}. Synthetic sstate tree: ${tree.objects.length} objects, ${mib(tree.totalBytes)} with
their .siginfo; the build needs ${needed.length} of them (${Math.round(NEEDED_SHARE * 100)}%, ${mib(neededBytes)}).
Median of ${o.rounds} rounds, variants alternating. Remote: ${FETCHERS} concurrent fetchers through the
action's endpoint from s3rver on 127.0.0.1; actions: the action's restore path against the loopback
cache service (v2, Azurite). "Time to the first task": until BitBake can run its first setscene
task (remote: the first object is local; actions: the restore has finished). Loopback stores: a
real store adds network latency and bandwidth limits to both, in proportion to the bytes moved.

${table(rows)}

- Bytes: remote moves ${ratio(remoteBytes, neededBytes)} the objects the build used (target: at most 1.1x:
  ${remoteBytes <= 1.1 * neededBytes ? 'met' : 'missed'}); the actions cache moves ${ratio(
    med('actions', (m) => m.bytes),
    neededBytes,
  )} of them (the whole entry, compressed again).
- Every run, seconds to the first task: actions ${results.actions.map((m) => m.firstTask.toFixed(2)).join(', ')};
  remote ${results.remote.map((m) => m.firstTask.toFixed(2)).join(', ')}.
`;
}

async function fetchThroughEndpoint(settings: RemoteSettings, needed: Tree['objects'], dir: string): Promise<Measure> {
  await fs.rm(dir, { recursive: true, force: true });
  const store = new S3Store(settings);
  const endpoint = await startMirrorEndpoint(store, settings);
  const started = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - started) / 1e9;
  let firstTask: number | undefined;
  const queue = [...needed];
  async function fetcher(): Promise<void> {
    for (let x = queue.shift(); x; x = queue.shift()) {
      for (const rel of [x.path, `${x.path}.siginfo`]) {
        const res = await fetch(`${endpoint.url}/sstate-cache/${rel}`);
        if (res.status !== 200 || !res.body) throw new Error(`${rel}: ${res.status}`);
        await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
        await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(path.join(dir, rel)));
      }
      firstTask ??= since();
    }
  }
  try {
    await Promise.all(Array.from({ length: FETCHERS }, () => fetcher()));
    return { firstTask: firstTask ?? 0, allFetched: since(), bytes: endpoint.stats().bytesServed };
  } finally {
    await endpoint.close();
    store.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function filesBytes(dir: string, rels: string[]): Promise<number> {
  let total = 0;
  for (const r of rels) total += (await fs.stat(path.join(dir, r))).size;
  return total;
}

/** One operation of the action's cache code in a process of its own; returns its seconds. */
async function cacheStep(
  mode: 'action-save' | 'action-restore',
  tree: Tree | undefined,
  work: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const cacheRoot = path.join(work, 'cache');
  const dirs = {
    downloads: path.join(cacheRoot, 'downloads'),
    sstate: path.join(cacheRoot, 'sstate-cache'),
    hashserv: path.join(cacheRoot, 'hashserv'),
  };
  await fs.rm(cacheRoot, { recursive: true, force: true });
  await fs.mkdir(cacheRoot, { recursive: true });
  if (tree) await run('cp', ['-al', tree.sstate, dirs.sstate], env);
  else await fs.mkdir(dirs.sstate);
  await fs.mkdir(dirs.downloads);
  await fs.mkdir(dirs.hashserv);
  const inventory = path.join(work, 'inventory.json');
  if (mode === 'action-save') await fs.writeFile(inventory, JSON.stringify({ sstate: [], downloads: [] }));
  const out = path.join(work, 'step.json');
  const request = path.join(work, 'request.json');
  await fs.writeFile(request, JSON.stringify({ dirs, prefix: 'remote-bench', inventory, buildStartedMs: 0, out }));
  await run(process.execPath, [path.join(REPO_ROOT, 'bench', 'support', 'cache-step.mjs'), mode, request], env);
  const result = JSON.parse(await fs.readFile(out, 'utf8')) as { seconds: number; ok: boolean; detail: unknown };
  if (!result.ok) throw new Error(`${mode} failed: ${JSON.stringify(result.detail)}`);
  return result.seconds;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}
