/**
 * Cache growth over successive runs with changing layer revisions: the size of the sstate entry
 * saved after each run, for this action and for the naive hand-written workflow (actions/cache of
 * the whole sstate directory under a rolling key, restored by prefix). Both build the same
 * revisions with the BitBake stand-in, run after run, interleaved.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import * as cache from '@actions/cache';

import {
  applyClientEnv,
  type CacheService,
  captureOutput,
  startCacheService,
} from '../test/support/cache-service/index.js';
import { git } from '../test/support/git-remotes.js';
import { BUILDER_IMAGE, dockerAvailable, jobWorkspace, pokyRemote, smidrYaml } from '../test/support/world.js';
import { describeMachine, measuredAt } from './support/doc.js';
import { timedJob } from './support/jobs.js';
import { mib, table } from './support/stats.js';

export interface GrowthOptions {
  root: string;
  runs: number;
  log: (m: string) => void;
}

const OUTPUT_BYTES = 1_000_000;

export async function cacheGrowth(o: GrowthOptions): Promise<string> {
  if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/setup.sh`);
  const root = path.join(o.root, 'growth');
  rmSync(root, { recursive: true, force: true });
  const machine = describeMachine(o.root);
  const date = measuredAt();
  const poky = pokyRemote(root);
  const ws = jobWorkspace(root, 'ws', smidrYaml(poky.url, { localConf: [`STANDIN_OUTPUT_BYTES = "${OUTPUT_BYTES}"`] }));
  const app = path.join(ws, 'meta-smidr-test', 'recipes-test', 'smidr-app', 'smidr-app_1.0.bb');
  const busybox = 'meta/recipes-core/busybox/busybox_1.36.1.bb';
  const service = await startCacheService({ protocol: 'v2' });
  const runnerTemp = path.join(root, 'runner-temp');
  // With `cache: off` the action keeps its caches here, empty at the start of every job.
  const sstateDir = path.join(runnerTemp, 'smidr', 'cache', 'sstate-cache');
  const rows: { change: string; action: EntrySize; naive: EntrySize }[] = [];
  let jobs = 0;
  try {
    for (let run = 1; run <= o.runs; run++) {
      let change = 'first build';
      if (run > 1) {
        writeFileSync(
          app,
          readFileSync(app, 'utf8').replace(/STANDIN_OUTPUT = ".*"/, `STANDIN_OUTPUT = "smidr-app run ${run}"`),
        );
        git(ws, 'commit', '-q', '-am', `smidr-app for run ${run}`);
        change = 'meta-smidr-test (smidr-app)';
        if (run % 2 === 1) {
          const bb = readFileSync(path.join(poky.work, busybox), 'utf8').replace(
            /STANDIN_OUTPUT = ".*"/,
            `STANDIN_OUTPUT = "busybox for run ${run}"`,
          );
          poky.commit({ [busybox]: bb }, `busybox for run ${run}`);
          change += ', poky (busybox)';
        }
      }
      const job = async (variant: 'action' | 'naive') => {
        jobs++;
        o.log(`run ${run}/${o.runs}: ${variant}`);
        const naive = variant === 'naive';
        const r = await timedJob(
          {
            workspace: ws,
            jobDir: path.join(root, 'jobs', String(jobs)),
            runnerTemp,
            runId: String(9000 + jobs),
            inputs: naive
              ? { config: 'smidr.yaml', cache: 'off' }
              : { config: 'smidr.yaml', cache: 'actions', 'cache-key-prefix': 'growth' },
            env: { ...service.env },
          },
          naive
            ? {
                beforeMain: () =>
                  naiveCache(service, root, ws, () =>
                    cache.restoreCache([sstateDir], `naive-sstate-${run}`, ['naive-sstate-']),
                  ),
                afterPost: () =>
                  naiveCache(service, root, ws, () => cache.saveCache([sstateDir], `naive-sstate-${run}`)),
              }
            : {},
        );
        if (r.main.exitCode !== 0 || r.post.exitCode !== 0)
          throw new Error(
            `${variant} run ${run} failed:\n${r.main.stdout.slice(-3000)}\n${r.post.stdout.slice(-2000)}`,
          );
        rmSync(path.join(root, 'jobs', String(jobs)), { recursive: true, force: true });
        // The entry the next run would restore: the newest.
        const entry = service
          .entries()
          .filter((e) => (naive ? e.key.startsWith('naive-sstate-') : e.key.startsWith('smidr-v1-growth-sstate-')))
          .at(-1);
        if (!entry) throw new Error(`${variant} run ${run}: no sstate entry saved`);
        return { archive: entry.sizeBytes, ...sstateInArchive(await service.readArchive(entry.id)) };
      };
      // Alternate which goes first, so load on the machine does not always hit the same one.
      const [first, second] = run % 2 ? (['action', 'naive'] as const) : (['naive', 'action'] as const);
      const a = await job(first);
      const b = await job(second);
      rows.push({ change, action: first === 'action' ? a : b, naive: first === 'naive' ? a : b });
    }
    if (service.serverErrors().length > 0)
      throw new Error(`cache service errors: ${service.serverErrors().join('; ')}`);
  } finally {
    await service.stop();
    rmSync(root, { recursive: true, force: true });
  }

  const workingSet = rows[0]!.action.bytes;
  const maxAction = Math.max(...rows.map((r) => r.action.bytes)) / workingSet;
  const lastNaive = rows.at(-1)!.naive.bytes / workingSet;
  const cell = (e: EntrySize) => `${e.objects} objects, ${mib(e.bytes)} (archive ${mib(e.archive)})`;
  const body = rows.map((r, i) => [
    String(i + 1),
    r.change,
    cell(r.action),
    `${(r.action.bytes / workingSet).toFixed(2)}x`,
    cell(r.naive),
    `${(r.naive.bytes / workingSet).toFixed(2)}x`,
  ]);
  return `## Cache growth

${date}. ${machine}.

${o.runs} successive runs of \`smidr-image\` with the BitBake stand-in (\`STANDIN_OUTPUT_BYTES = "${OUTPUT_BYTES}"\`: each
sstate object carries 1 MB of incompressible bytes), a new revision of the layer under test before every run after the
first (\`smidr-app\` changes its output) and, every other run, a new poky revision (\`busybox\` changes its output, so
everything above it rebuilds). After each run, the size of the sstate entry in the loopback cache service (the newest
entry, the one the next run restores), for this action (\`cache: actions\`, rolling keys, pruned before saving) and for the
naive hand-written workflow: the action with \`cache: off\` wrapped in \`actions/cache\` of the whole sstate directory,
restored by the prefix \`naive-sstate-\` and saved as \`naive-sstate-<run>\`. The two ran interleaved, on the same
revisions. One build's working set is the first run's entry: a cold build uses every object it saves. Sizes are the
sstate objects in the entry (read from the archive's listing); the compressed archive is smaller where the stand-in's
payloads repeat (they are seeded by recipe name and version, so two revisions of a recipe carry the same bytes, which zstd
finds when they lie close in the tar stream; real objects would not).

${table([['run', 'layer change before it', 'this action', '/ working set', 'naive workflow', '/ working set'], ...body])}

- This action: at most ${maxAction.toFixed(2)}x one build's working set over ${o.runs} runs (target: within 1.2x:
  ${maxAction <= 1.2 ? 'met' : 'missed'}). The naive workflow: ${lastNaive.toFixed(2)}x after ${o.runs} runs, and it keeps growing
  with every revision until the 10 GB repository limit evicts entries.
`;
}

interface EntrySize {
  archive: number;
  objects: number;
  bytes: number;
}

/** Sstate archives (not their .siginfo) listed in a cache archive, and their bytes. */
function sstateInArchive(archive: Buffer): { objects: number; bytes: number } {
  const listing = execFileSync('bash', ['-c', 'zstd -q -d -c | tar -tvf -'], {
    input: archive,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let objects = 0;
  let bytes = 0;
  for (const line of listing.split('\n')) {
    // -rw-r--r-- user/group SIZE DATE TIME PATH
    const m = /^\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (m && /\/sstate:[^/]*\.tar\.zst$/.test(m[2]!)) {
      objects++;
      bytes += Number(m[1]);
    }
  }
  return { objects, bytes };
}

/** Runs one bare @actions/cache call in this process, as the naive workflow's actions/cache step would. */
async function naiveCache(
  service: CacheService,
  root: string,
  ws: string,
  call: () => Promise<unknown>,
): Promise<void> {
  const undo = applyClientEnv(service, { RUNNER_TEMP: path.join(root, 'client-temp'), GITHUB_WORKSPACE: ws });
  try {
    const { value, warnings } = await captureOutput(call);
    if (warnings.length > 0 || value === -1)
      throw new Error(`naive workflow's cache step failed: ${warnings.join('; ') || String(value)}`);
  } finally {
    undo();
  }
}
