import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  cachePaths,
  type CacheService,
  planSstateSave,
  restoreCaches,
  restoreOne,
  saveCaches,
  saveDecision,
  type SaveSettings,
  sstateBudget,
} from '../../src/cache/caches.js';
import type { CacheKeys } from '../../src/cache/keys.js';
import type { SstateObject } from '../../src/cache/sstate.js';
import type { EntryPaths } from '../../src/cache/transfer.js';
import { type Logger, setLogger, terminalLogger } from '../../src/util/log.js';

const H = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const KEY = { key: 'smidr-v1-sstate-abc-run-2', restoreKeys: ['smidr-v1-sstate-abc-', 'smidr-v1-sstate-'] };
const KEYS: CacheKeys = {
  downloads: { key: 'smidr-v1-dl-qemux86-64-run-2', restoreKeys: ['smidr-v1-dl-'] },
  sstate: KEY,
  parts: {},
};
const SETTINGS: SaveSettings = {
  save: true,
  saveReason: 'a push build saves by default',
  saveOnFailure: true,
  sizeLimitBytes: undefined,
  timeoutMs: 60_000,
};

let tmp: string;
let warnings: string[];

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'smidr-caches-'));
  warnings = [];
  const recording: Logger = { ...terminalLogger, info: () => undefined, warning: (m) => warnings.push(m) };
  setLogger(recording);
});
afterEach(() => {
  setLogger(terminalLogger);
  rmSync(tmp, { recursive: true, force: true });
});

/** A cache service that answers from a script and a clock that advances 2 s per reading. */
function fakeService(answers: Partial<Pick<CacheService, 'restore' | 'save'>>): CacheService & {
  calls: { op: string; entry: EntryPaths; key: string; restoreKeys?: string[] }[];
} {
  let t = 1_000_000;
  const calls: { op: string; entry: EntryPaths; key: string; restoreKeys?: string[] }[] = [];
  return {
    calls,
    now: () => (t += 2000),
    restore: async (entry, key, restoreKeys, limitMs) => {
      calls.push({ op: 'restore', entry, key, restoreKeys });
      return answers.restore ? answers.restore(entry, key, restoreKeys, limitMs) : {};
    },
    save: async (entry, key, limitMs) => {
      calls.push({ op: 'save', entry, key });
      return answers.save ? answers.save(entry, key, limitMs) : { id: 7, archiveBytes: 100 };
    },
  };
}

function put(rel: string, content = 'x', mtimeMs?: number): string {
  const file = path.join(tmp, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  if (mtimeMs !== undefined) utimesSync(file, mtimeMs / 1000, mtimeMs / 1000);
  return file;
}

function object(name: string, o: Partial<SstateObject> = {}): SstateObject {
  return {
    path: `ab/cd/sstate:${name}:core2-64-poky-linux:1.0:r0:core2-64:14:${H}_populate_sysroot.tar.zst`,
    pn: name,
    arch: 'core2-64-poky-linux',
    pv: '1.0',
    pr: 'r0',
    pkgarch: 'core2-64',
    version: '14',
    unihash: H,
    task: 'populate_sysroot',
    bytes: 1000,
    companions: [],
    mtimeMs: 10,
    ...o,
  };
}

describe('saveDecision', () => {
  it('saves a successful build, and a failed one unless save-on-failure is false', () => {
    expect(saveDecision(SETTINGS, 'success')).toBeUndefined();
    expect(saveDecision(SETTINGS, 'failure')).toBeUndefined();
    expect(saveDecision({ ...SETTINGS, saveOnFailure: false }, 'failure')).toBe(
      'the build ended in failure and save-on-failure is false',
    );
  });

  it('gives the reason save is off, and never saves a build that did not start', () => {
    expect(saveDecision({ ...SETTINGS, save: false, saveReason: 'the save input is false' }, 'success')).toBe(
      'the save input is false',
    );
    expect(saveDecision(SETTINGS, undefined)).toBe('the build did not start');
  });
});

describe('restoreOne', () => {
  const entry = () => ({ root: tmp, paths: ['sstate'] });

  it('reports an exact or partial match with its key, size and time', async () => {
    const service = fakeService({
      restore: async () => {
        put('sstate/ab/cd/object', '12345');
        return { key: 'smidr-v1-sstate-abc-run-1', archiveBytes: 4 };
      },
    });
    const r = await restoreOne('sstate', entry(), KEY, 60_000, service);
    expect(r).toEqual({
      kind: 'exact',
      key: 'smidr-v1-sstate-abc-run-1',
      seconds: 2,
      bytes: 5,
      archiveBytes: 4,
      warning: undefined,
    });
    expect(service.calls).toEqual([{ op: 'restore', entry: entry(), key: KEY.key, restoreKeys: KEY.restoreKeys }]);
    const partial = fakeService({ restore: async () => ({ key: 'smidr-v1-sstate-xyz-run-1' }) });
    expect((await restoreOne('sstate', entry(), KEY, 60_000, partial)).kind).toBe('partial');
  });

  it('empties the directories after a miss: a truncated archive may have left files', async () => {
    put('sstate/ab/cd/half-unpacked');
    const r = await restoreOne('sstate', entry(), KEY, 60_000, fakeService({}));
    expect(r).toMatchObject({ kind: 'miss', key: undefined, bytes: 0 });
    expect(readdirSync(path.join(tmp, 'sstate'))).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('turns a failure or a timeout of the service into a warning and a cold build', async () => {
    put('sstate/partial');
    const service = fakeService({
      restore: async () => {
        throw new Error('the cache service did not answer the lookup within 2 min');
      },
    });
    const r = await restoreOne('sstate', entry(), KEY, 60_000, service);
    expect(r).toMatchObject({ kind: 'miss', bytes: 0 });
    expect(r.warning).toBe(
      'sstate cache: restore failed, building without it: the cache service did not answer the lookup within 2 min',
    );
    expect(warnings).toEqual([r.warning]);
    expect(readdirSync(path.join(tmp, 'sstate'))).toEqual([]);
  });
});

describe('sstateBudget', () => {
  it('leaves room in cache-size-limit for the DB, a tar header per file and the fixed overhead', () => {
    const objects = [object('a', { companions: ['x.siginfo'] }), object('b')];
    expect(sstateBudget(undefined, objects, 0)).toBeUndefined();
    expect(sstateBudget(10_000_000, objects, 1_000_000)).toBe(10_000_000 - 1_000_000 - 3 * 1024 - 256 * 1024);
    expect(sstateBudget(100_000, objects, 0)).toBe(0);
  });
});

describe('planSstateSave', () => {
  const restored = new Set([object('old').path]);

  it('skips when the build created no object and no equivalence', () => {
    expect(
      planSstateSave([object('old', { mtimeMs: 5000 })], { restored, buildStartedMs: 1000, dbChanged: false }),
    ).toEqual({ skipped: 'no new sstate objects and no new equivalences' });
  });

  it('saves for new equivalences alone, and for a new object', () => {
    const dbOnly = planSstateSave([object('old')], { restored, buildStartedMs: 1000, dbChanged: true });
    expect(dbOnly).toMatchObject({ created: 0, dbChanged: true });
    const created = planSstateSave([object('old'), object('new', { mtimeMs: 2000 })], {
      restored,
      buildStartedMs: 1000,
      dbChanged: false,
    });
    expect(created).toMatchObject({ created: 1, pruned: { objects: 0, bytes: 0, superseded: 0, overLimit: [] } });
  });

  it('summarises what pruning drops: superseded objects, and over the budget oldest first', () => {
    const superseded = object('zlib', { mtimeMs: 10 });
    const current = object('zlib', { path: superseded.path.replace(H, `ff${H.slice(2)}`), mtimeMs: 2000 });
    const unused = object('busybox', { mtimeMs: 20 });
    const plan = planSstateSave([superseded, current, unused], {
      restored: new Set([superseded.path, unused.path]),
      buildStartedMs: 1000,
      budgetBytes: 1000,
      dbChanged: false,
    });
    expect('prune' in plan && plan.pruned).toEqual({
      objects: 2,
      bytes: 2000,
      superseded: 1,
      overLimit: ['busybox:do_populate_sysroot'],
    });
  });
});

describe('the save path with an injected service', () => {
  const dirs = () => ({
    downloads: path.join(tmp, 'downloads'),
    sstate: path.join(tmp, 'sstate'),
    hashserv: path.join(tmp, 'hashserv'),
  });
  const archive = `ab/cd/sstate:zlib:core2-64-poky-linux:1.0:r0:core2-64:14:${H}_populate_sysroot.tar.zst`;

  it('names the entries relative to the directory holding the caches, so the runner may live anywhere', () => {
    expect(cachePaths(dirs())).toEqual({
      downloads: { root: tmp, paths: ['downloads'] },
      sstate: { root: tmp, paths: ['sstate', 'hashserv'] },
    });
  });

  async function restoredWith(service: CacheService) {
    for (const d of Object.values(dirs())) mkdirSync(d, { recursive: true });
    return restoreCaches(KEYS, dirs(), path.join(tmp, 'inventory.json'), 60_000, service);
  }

  it('uploads only the parts the build added to, under their keys and the restored path lists', async () => {
    const service = fakeService({});
    const restored = await restoredWith(service);
    // Read once both parts are in: two readings each, then this one.
    expect(restored.buildStartedMs).toBe(1_010_000);
    put(`sstate/${archive}`, 'object', restored.buildStartedMs + 1000);
    put(`sstate/${archive}.lock`);
    const saved = await saveCaches(restored, dirs(), SETTINGS, service);
    expect(saved.downloads).toEqual({ skipped: 'no new downloads' });
    expect(saved.sstate).toMatchObject({ key: KEY.key, archiveBytes: 100, seconds: 2 });
    expect(service.calls.filter((c) => c.op === 'save')).toEqual([
      { op: 'save', entry: restored.paths.sstate, key: KEY.key },
    ]);
    expect(readdirSync(path.join(tmp, 'sstate/ab/cd'))).toEqual([path.posix.basename(archive)]);
  });

  it('warns when the service refuses the save, and does not throw', async () => {
    const service = fakeService({ save: async () => ({ id: -1 }) });
    const restored = await restoredWith(service);
    put(`sstate/${archive}`, 'object', restored.buildStartedMs + 1000);
    const saved = await saveCaches(restored, dirs(), SETTINGS, service);
    expect(saved.sstate.warning).toBe(
      `sstate cache: not saved under ${KEY.key} (the cache service refused or failed; see above)`,
    );
    expect(warnings).toEqual([saved.sstate.warning]);
  });
});
