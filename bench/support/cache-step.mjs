// One cache operation in a process of its own, so its time and peak RSS are its own:
//   node cache-step.mjs <action-save|action-restore|bare-save|bare-restore> <request.json>
// "action" runs the action's own code (lib/cache/caches.js, tsc's output of src/cache/caches.ts: what
// rollup bundles into dist/) exactly as main.ts and post.ts call it; "bare" calls
// @actions/cache's saveCache/restoreCache on the same paths: the floor for any action built on
// it. Plain JavaScript on purpose: a .ts file would load Node's type stripper, whose memory would
// be counted as the action's.
// The request: { dirs, prefix, inventory?, buildStartedMs?, out }. The result, written to `out`:
// { seconds, maxRssKiB, ok, detail }.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// @actions/cache only for the bare modes: the action's step never loads it (its worker process does),
// so importing it here would count its heap as the step's.
const cache = process.argv[2].startsWith('bare-') ? await import('@actions/cache') : undefined;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { cachePaths, restoreCaches, saveCaches } = await import(path.join(root, 'lib', 'cache', 'caches.js'));
const { cacheKeys } = await import(path.join(root, 'lib', 'cache', 'keys.js'));

const [mode, requestFile] = process.argv.slice(2);
const req = JSON.parse(readFileSync(requestFile, 'utf8'));
const paths = cachePaths(req.dirs);
const keys = cacheKeys({
  userPrefix: req.prefix,
  series: 'scarthgap',
  distro: 'poky',
  machine: 'qemux86-64',
  targets: ['core-image-minimal'],
  layers: [{ name: 'poky', commit: '0'.repeat(40) }],
  localConf: [],
  run: 'bench-1',
});

/** The same directories as the action's sstate entry, as a plain @actions/cache user names them. */
const bareSstatePaths = [req.dirs.sstate, req.dirs.hashserv];

/** The action's default cache-timeout (20 minutes): never reached here, only passed on. */
const TIMEOUT_MS = 20 * 60_000;

async function operation() {
  switch (mode) {
    case 'action-save': {
      const r = await saveCaches(
        {
          keys,
          paths,
          downloads: { kind: 'miss', seconds: 0, bytes: 0 },
          sstate: { kind: 'miss', seconds: 0, bytes: 0 },
          hashserv: 'miss',
          inventoryFile: req.inventory,
          dbFingerprint: undefined,
          buildStartedMs: req.buildStartedMs,
        },
        req.dirs,
        { save: true, saveReason: '', saveOnFailure: true, timeoutMs: TIMEOUT_MS },
      );
      return { ok: r.sstate.key === keys.sstate.key, detail: r.sstate };
    }
    case 'action-restore': {
      const r = await restoreCaches(keys, req.dirs, req.inventory, TIMEOUT_MS);
      return { ok: r.sstate.kind === 'exact', detail: r.sstate };
    }
    case 'bare-save': {
      const id = await cache.saveCache(bareSstatePaths, keys.sstate.key);
      return { ok: id !== -1, detail: { id } };
    }
    case 'bare-restore': {
      const key = await cache.restoreCache(bareSstatePaths, keys.sstate.key, [...keys.sstate.restoreKeys]);
      return { ok: key === keys.sstate.key, detail: { key } };
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

/**
 * The action runs @actions/cache in a node worker process of its own (cache-worker.js): its peak
 * counts as the action's too. Polled from /proc (VmHWM only grows, so the last reading is close to
 * the peak); tar and zstd, the children's children, are not counted.
 */
const workerPeaks = new Map();
function pollWorkers() {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (!new RegExp(`^PPid:\\s+${process.pid}$`, 'm').test(status)) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cache-worker')) continue;
      const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
      workerPeaks.set(pid, Math.max(workerPeaks.get(pid) ?? 0, kib));
    } catch {
      // Gone meanwhile.
    }
  }
}
const poller = setInterval(pollWorkers, 50);

const started = process.hrtime.bigint();
const result = await operation();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(poller);
// getrusage(RUSAGE_SELF).ru_maxrss: this process's own peak.
const workerRssKiB = Math.max(0, ...workerPeaks.values());
writeFileSync(req.out, JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS, workerRssKiB, ...result }));
