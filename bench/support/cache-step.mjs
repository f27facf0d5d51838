// One cache operation in a process of its own, so its time and peak RSS are its own:
//   node cache-step.mjs <action-save|action-restore|bare-save|bare-restore> <request.json>
// "action" runs the action's own code (lib/cache/caches.js, tsc's output of src/cache/caches.ts: what
// rollup bundles into dist/) exactly as main.ts and post.ts call it; "bare" calls
// @actions/cache's saveCache/restoreCache on the same paths: the floor for any action built on
// it. Plain JavaScript on purpose: a .ts file would load Node's type stripper, whose memory would
// be counted as the action's.
// The request: { dirs, prefix, inventory?, buildStartedMs?, out }. The result, written to `out`:
// { seconds, maxRssKiB, ok, detail }.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// @actions/cache only for the bare modes, and inside the timed operation: the action's worker
// process loads it inside the action's time, and the action's step never loads it (importing it
// here would count its heap as the step's).
let cache;

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
      // The parts layout (the default) saves a shared and a machine base; both must be there.
      const sstateParts = (r.parts ?? []).filter((p) => p.part !== 'downloads');
      const ok = r.parts ? sstateParts.every((p) => p.key && !p.warning) : r.sstate.key === keys.sstate.key;
      return { ok, detail: r.parts ? sstateParts : r.sstate };
    }
    case 'action-restore': {
      const r = await restoreCaches(keys, req.dirs, req.inventory, TIMEOUT_MS);
      return { ok: r.sstate.kind === 'exact', detail: r.sstate };
    }
    case 'bare-save': {
      cache = await import('@actions/cache');
      const id = await cache.saveCache(bareSstatePaths, keys.sstate.key);
      return { ok: id !== -1, detail: { id } };
    }
    case 'bare-restore': {
      cache = await import('@actions/cache');
      const key = await cache.restoreCache(bareSstatePaths, keys.sstate.key, [...keys.sstate.restoreKeys]);
      return { ok: key === keys.sstate.key, detail: { key } };
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

const started = process.hrtime.bigint();
const result = await operation();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
// getrusage(RUSAGE_SELF).ru_maxrss: this process's own peak. The workers' memory is read by the
// benchmark's process (support/memory.ts): polling here would allocate in the process measured.
writeFileSync(req.out, JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS, ...result }));
