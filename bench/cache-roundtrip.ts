/**
 * Cache round trip: a synthetic sstate tree saved and restored through the action's cache code
 * against the loopback cache service (v2: twirp + Azurite), beside two baselines on the same data
 * in the same run: bare @actions/cache saveCache/restoreCache (the floor for any action built on
 * it) and `tar | zstd` to a file and back (the disk and compressor limit). A fourth variant lets
 * the action prune: the tree holds superseded objects this "build" did not use.
 * Variants run interleaved, in a rotating order, round after round.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { type CacheService, startCacheService } from '../test/support/cache-service/index.js';
import { REPO_ROOT } from '../test/support/run-action.js';
import { describeMachine, measuredAt } from './support/doc.js';
import { watchMemory } from './support/memory.js';
import { useShippedWorker } from './support/shipped-worker.js';
import { census, ensureTree, type Tree } from './support/sstate-tree.js';
import { median, mib, ratio, seconds, table, throughput } from './support/stats.js';

export interface RoundTripOptions {
  root: string;
  totalBytes: number;
  objects: number;
  rounds: number;
  log: (m: string) => void;
}

type Variant = 'tar-zstd' | 'bare' | 'action' | 'action-prune';
const VARIANTS: Variant[] = ['tar-zstd', 'bare', 'action', 'action-prune'];
const LABEL: Record<Variant, string> = {
  // A pipe inside a Markdown table cell must be escaped, even in code.
  'tar-zstd': '`tar \\| zstd -T0` to a file and back',
  bare: 'bare `@actions/cache` saveCache / restoreCache',
  action: "the action's cache path (nothing to prune)",
  'action-prune': "the action's cache path, superseded objects pruned",
};

interface Measure {
  save: number;
  restore: number;
  archive: number;
  moved: number;
  saveRss?: number;
  restoreRss?: number;
  saveWorkerRss?: number;
  restoreWorkerRss?: number;
  /** The step and its workers at one moment (KiB). */
  saveTogetherRss?: number;
  restoreTogetherRss?: number;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  onStart?: (pid: number) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) onStart?.(child.pid);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      fs.appendFile(logFile, Buffer.concat(chunks)).then(() => {
        if (code === 0) resolve(wall);
        else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}; see ${logFile}`));
      }, reject);
    });
  });
}

export async function cacheRoundTrip(o: RoundTripOptions): Promise<string> {
  const tree = await ensureTree(
    path.join(o.root, 'trees'),
    { totalBytes: o.totalBytes, objects: o.objects, staleShare: 0.25, seed: 6 },
    o.log,
  );
  const work = path.join(o.root, 'roundtrip');
  await fs.rm(work, { recursive: true, force: true });
  const cacheRoot = path.join(work, 'cache');
  const dirs = {
    downloads: path.join(cacheRoot, 'downloads'),
    sstate: path.join(cacheRoot, 'sstate-cache'),
    hashserv: path.join(cacheRoot, 'hashserv'),
  };
  const temp = path.join(work, 'runner-temp');
  // Beside the scratch directory, not in it: the error that names it must still find it.
  const logFile = path.join(o.root, 'roundtrip-log.txt');
  await fs.rm(logFile, { force: true });
  await fs.mkdir(temp, { recursive: true });
  const machine = describeMachine(work);
  const date = measuredAt();

  await useShippedWorker();
  const service = await startCacheService({ protocol: 'v2' });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: temp,
    GITHUB_WORKSPACE: work,
    ...service.env,
  };
  const prunedAway = tree.objects.filter((x) => x.stale);
  const results: Record<Variant, Measure[]> = { 'tar-zstd': [], bare: [], action: [], 'action-prune': [] };
  try {
    for (let round = 0; round < o.rounds; round++) {
      // Rotate the order, so no variant always runs first (cold page cache) or last.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const v of order) {
        o.log(`round ${round + 1}/${o.rounds}: ${v}`);
        results[v].push(await measure(v, `r${round}-${v}`, tree, dirs, cacheRoot, work, env, service, logFile));
      }
    }
    if (service.serverErrors().length > 0)
      throw new Error(`cache service errors: ${service.serverErrors().join('; ')}`);
  } finally {
    await service.stop();
    await fs.rm(work, { recursive: true, force: true });
  }

  const med = (v: Variant, f: (m: Measure) => number | undefined) =>
    median(results[v].map(f).filter((x): x is number => x !== undefined));
  const bare = { save: med('bare', (m) => m.save), restore: med('bare', (m) => m.restore) };
  const disk = { save: med('tar-zstd', (m) => m.save), restore: med('tar-zstd', (m) => m.restore) };
  const rows = [
    [
      '',
      'save',
      'restore',
      'save throughput',
      'restore throughput',
      'archive',
      'save / bare',
      'restore / bare',
      'save / tar+zstd',
      'restore / tar+zstd',
      'peak RSS save / restore',
    ],
  ];
  for (const v of VARIANTS) {
    const save = med(v, (m) => m.save);
    const restore = med(v, (m) => m.restore);
    const moved = med(v, (m) => m.moved);
    const worker = (k: 'saveWorkerRss' | 'restoreWorkerRss') =>
      v === 'bare' ? '' : ` (worker ${mib(med(v, (m) => m[k]) * 1024)})`;
    const rss =
      v === 'tar-zstd'
        ? '–'
        : `${mib(med(v, (m) => m.saveRss) * 1024)}${worker('saveWorkerRss')} / ${mib(med(v, (m) => m.restoreRss) * 1024)}${worker('restoreWorkerRss')}`;
    rows.push([
      LABEL[v],
      seconds(save),
      seconds(restore),
      throughput(moved, save),
      throughput(moved, restore),
      mib(med(v, (m) => m.archive)),
      ratio(save, bare.save),
      ratio(restore, bare.restore),
      ratio(save, disk.save),
      ratio(restore, disk.restore),
      rss,
    ]);
  }
  const actionSave = med('action', (m) => m.save) / bare.save;
  const actionRestore = med('action', (m) => m.restore) / bare.restore;
  const peakOf = (f: (m: Measure) => (number | undefined)[]) =>
    1024 *
    Math.max(
      ...(['action', 'action-prune'] as const).flatMap((v) => results[v].flatMap((m) => f(m).map((x) => x ?? 0))),
    );
  const peakBytes = peakOf((m) => [m.saveRss, m.restoreRss]);
  const workerPeakBytes = peakOf((m) => [m.saveWorkerRss, m.restoreWorkerRss]);
  const togetherPeakBytes = peakOf((m) => [m.saveTogetherRss, m.restoreTogetherRss]);
  const all = (v: Variant, f: (m: Measure) => number) => results[v].map((m) => f(m).toFixed(1)).join(', ');

  return `## Cache round trip

${date}. ${machine}.

The tree: ${tree.objects.length} sstate objects (each with its \`.siginfo\`; ${tree.files} files),
${mib(tree.totalBytes)}, OE-core names and \`<h0h1>/<h2h3>/\` fan-out (native objects under \`universal/\`),
incompressible content (objects are zstd already), sizes lognormal from 1 KiB to
${mib(Math.max(...tree.objects.map((x) => x.bytes)))}; ${prunedAway.length} of the objects (${mib(tree.staleBytes)}) are
superseded older builds of the same recipe, architecture and task. Generated from a seed by
\`bench/support/sstate-tree.ts\`. Saved and restored against the loopback cache service (v2
protocol: twirp, archives in Azurite, downloads as one plain GET), the service and the client on
the same machine. Each variant ran in each of ${o.rounds} rounds, interleaved with the others in a rotating
order; medians below. Throughput is the tree's bytes (pruned: what was left) over the time.
"The action's cache path" is \`saveCaches\` / \`restoreCaches\` from \`src/cache/caches.ts\` in the default parts
layout, as the post and main steps call them (checkpoint, clean-up, prune, inventory): the tree's native objects go to
the shared part, the rest with the DB to the machine part, each an entry of its own, both moved at the same time through
the one worker process the step starts for @actions/cache (\`dist/cache-worker.js\`, as it ships), the downloads part looked up beside them. Each variant runs in
a node process of its own whose peak RSS is shown (\`getrusage\` \`ru_maxrss\`), with the peak of the worker process
(\`/proc\`, polled every 50 ms by the benchmark's process); "together" is the highest sum of the step's and its workers' resident sizes at one
moment. tar and zstd are not counted. The bare variant's time includes loading @actions/cache, as the action's includes
starting its worker.

${table(rows)}

- The action's cache path against bare \`@actions/cache\`: save ${ratio(
    med('action', (m) => m.save),
    bare.save,
  )}, restore
  ${ratio(
    med('action', (m) => m.restore),
    bare.restore,
  )} (target: within 1.1x: ${actionSave <= 1.1 && actionRestore <= 1.1 ? 'met' : 'missed'});
  with superseded objects pruned, save ${ratio(
    med('action-prune', (m) => m.save),
    bare.save,
  )} and restore
  ${ratio(
    med('action-prune', (m) => m.restore),
    bare.restore,
  )} of bare on the whole tree.
- Peak RSS of the action's node processes, highest of all their runs: the step's own ${mib(peakBytes)}, the cache worker
  processes it starts for @actions/cache ${mib(workerPeakBytes)} (all at one moment), the step and its workers together
  ${mib(togetherPeakBytes)} (target: under 300 MiB: ${togetherPeakBytes < 300 * 2 ** 20 ? 'met' : 'missed'}).
- Every run, in seconds (save): tar+zstd ${all('tar-zstd', (m) => m.save)}; bare ${all('bare', (m) => m.save)}; action
  ${all('action', (m) => m.save)}; action pruning ${all('action-prune', (m) => m.save)}. Restore: tar+zstd
  ${all('tar-zstd', (m) => m.restore)}; bare ${all('bare', (m) => m.restore)}; action ${all('action', (m) => m.restore)};
  action pruning ${all('action-prune', (m) => m.restore)}.
`;
}

async function fresh(
  cacheRoot: string,
  tree: Tree | undefined,
  dirs: { downloads: string; sstate: string; hashserv: string },
): Promise<void> {
  await fs.rm(cacheRoot, { recursive: true, force: true });
  await fs.mkdir(cacheRoot, { recursive: true });
  // Hard links: a copy in no time that the action may prune without touching the tree.
  if (tree) await runQuiet('cp', ['-al', tree.sstate, dirs.sstate]);
  else await fs.mkdir(dirs.sstate);
  await fs.mkdir(dirs.downloads);
  await fs.mkdir(dirs.hashserv);
}

function runQuiet(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

async function measure(
  v: Variant,
  prefix: string,
  tree: Tree,
  dirs: { downloads: string; sstate: string; hashserv: string },
  cacheRoot: string,
  work: string,
  env: NodeJS.ProcessEnv,
  service: CacheService,
  logFile: string,
): Promise<Measure> {
  await fresh(cacheRoot, tree, dirs);
  const expected = await census(cacheRoot);
  let m: Measure;
  if (v === 'tar-zstd') {
    const archive = path.join(work, 'archive.tar.zst');
    // The shape of @actions/cache's own command (tar piped through zstd with all cores), without the service.
    const save = await run(
      'bash',
      ['-c', 'tar -cf - -C "$1" sstate-cache hashserv | zstd -q -T0 -o "$2"', 'save', cacheRoot, archive],
      env,
      logFile,
    );
    const archiveBytes = (await fs.stat(archive)).size;
    await fresh(cacheRoot, undefined, dirs);
    await fs.rm(dirs.sstate, { recursive: true });
    await fs.rm(dirs.hashserv, { recursive: true });
    const restore = await run(
      'bash',
      ['-c', 'zstd -q -d -c "$2" | tar -xf - -C "$1"', 'restore', cacheRoot, archive],
      env,
      logFile,
    );
    await fs.rm(archive);
    m = { save, restore, archive: archiveBytes, moved: expected.bytes };
  } else {
    const action = v !== 'bare';
    const prune = v === 'action-prune';
    const inventory = path.join(work, 'inventory.json');
    // A cold build's save: every object is new. The pruning one: a warm build that restored the
    // tree, used the current objects (newer mtime) and created one in fifty of them, so the
    // superseded ones go.
    const restored = prune
      ? tree.objects
          .filter((x, i) => x.stale || i % 50 !== 0)
          .map((x) => x.path)
          .sort()
      : [];
    await fs.writeFile(inventory, JSON.stringify({ sstate: restored, downloads: [] }));
    const buildStartedMs = prune ? tree.currentMtimeMs - 3_600_000 : 0;
    const save = await step(
      action ? 'action-save' : 'bare-save',
      { dirs, prefix, inventory, buildStartedMs },
      env,
      work,
      logFile,
    );
    const left = await census(cacheRoot);
    // The action's parts layout saves two entries (the shared and the machine sstate), bare one.
    const saved = service.entries().filter((e) => e.key.includes(`-${prefix}-`));
    if (saved.length === 0) throw new Error(`${v}: no entry was saved; see ${logFile}`);
    await fresh(cacheRoot, undefined, dirs);
    const restore = await step(
      action ? 'action-restore' : 'bare-restore',
      { dirs, prefix, inventory },
      env,
      work,
      logFile,
    );
    const got = await census(cacheRoot);
    if (got.files !== left.files || got.bytes !== left.bytes)
      throw new Error(`${v}: restored ${got.files} files, ${got.bytes} bytes; saved ${left.files}, ${left.bytes}`);
    await service.deleteEntries((e) => saved.some((s) => s.id === e.id));
    m = {
      save: save.seconds,
      restore: restore.seconds,
      archive: saved.reduce((n, e) => n + e.sizeBytes, 0),
      moved: left.bytes,
      saveRss: save.maxRssKiB,
      restoreRss: restore.maxRssKiB,
      saveWorkerRss: save.workerRssKiB,
      restoreWorkerRss: restore.workerRssKiB,
      saveTogetherRss: save.togetherRssKiB,
      restoreTogetherRss: restore.togetherRssKiB,
    };
  }
  await fs.rm(cacheRoot, { recursive: true, force: true });
  return m;
}

async function step(
  mode: string,
  request: object,
  env: NodeJS.ProcessEnv,
  work: string,
  logFile: string,
): Promise<{ seconds: number; maxRssKiB: number; workerRssKiB: number; togetherRssKiB: number }> {
  const requestFile = path.join(work, 'request.json');
  const out = path.join(work, 'result.json');
  await fs.rm(out, { force: true });
  await fs.writeFile(requestFile, JSON.stringify({ ...request, out }));
  let memory: ReturnType<typeof watchMemory> | undefined;
  try {
    await run(
      process.execPath,
      [path.join(REPO_ROOT, 'bench', 'support', 'cache-step.mjs'), mode, requestFile],
      env,
      logFile,
      (pid) => (memory = watchMemory(pid)),
    );
  } finally {
    memory?.stop();
  }
  const peaks = memory!.stop();
  const r = JSON.parse(await fs.readFile(out, 'utf8')) as {
    seconds: number;
    maxRssKiB: number;
    ok: boolean;
    detail: unknown;
  };
  if (!r.ok) throw new Error(`${mode} did not succeed: ${JSON.stringify(r.detail)}; see ${logFile}`);
  return {
    ...r,
    workerRssKiB: peaks.workersKiB,
    togetherRssKiB: Math.max(peaks.togetherKiB, r.maxRssKiB),
  };
}
