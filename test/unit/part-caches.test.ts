import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Sqlite from 'node:sqlite';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type CacheService, restoreCaches, saveCaches, type SaveSettings } from '../../src/cache/caches.js';
import { type CacheKeys, cacheKeys } from '../../src/cache/keys.js';
import { setLogger, terminalLogger } from '../../src/util/log.js';

const H = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const SETTINGS: SaveSettings = {
  save: true,
  saveReason: '',
  saveOnFailure: true,
  sizeLimitBytes: undefined,
  timeoutMs: 60_000,
};

let tmp: string;
let warnings: string[];
let infos: string[];

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'smidr-parts-'));
  warnings = [];
  infos = [];
  setLogger({ ...terminalLogger, info: (m) => infos.push(m), warning: (m) => warnings.push(m) });
});
afterEach(() => {
  setLogger(terminalLogger);
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * A cache service that keeps entries as directory copies, matching keys as the real one does
 * (exact, else the newest entry starting with a restore key); the version is the path list.
 */
function dirService(): CacheService & { keys: () => string[]; drop: (pred: (k: string) => boolean) => void } {
  const store = path.join(tmp, 'store');
  const entries: { key: string; version: string; dir: string }[] = [];
  let t = 1_000_000;
  const find = (version: string, key: string, restoreKeys: string[]) => {
    const mine = entries.filter((e) => e.version === version);
    const exact = mine.find((e) => e.key === key);
    if (exact) return exact;
    for (const k of restoreKeys) {
      const hit = mine.filter((e) => e.key.startsWith(k)).at(-1);
      if (hit) return hit;
    }
    return undefined;
  };
  return {
    keys: () => entries.map((e) => e.key),
    drop: (pred) => entries.splice(0, entries.length, ...entries.filter((e) => !pred(e.key))),
    now: () => (t += 1000),
    restore: async (entry, key, restoreKeys) => {
      const hit = find(entry.paths.join(), key, restoreKeys);
      if (!hit) return {};
      cpSync(hit.dir, entry.root, { recursive: true });
      return { key: hit.key, archiveBytes: 10 };
    },
    save: async (entry, key) => {
      if (entries.some((e) => e.key === key))
        return {
          id: -1,
          refused: `Unable to reserve cache with key ${key}, another job may be creating this cache.: Error: Failed to CreateCacheEntry: Received non-retryable error: Failed request: (409) Conflict: cache entry with the same key, version, and scope already exists`,
        };
      const dir = path.join(store, String(entries.length));
      for (const p of entry.paths) cpSync(path.join(entry.root, p), path.join(dir, p), { recursive: true });
      entries.push({ key, version: entry.paths.join(), dir });
      return { id: entries.length, archiveBytes: 10 };
    },
  };
}

/** One runner's fresh cache directories. */
function machine(name: string) {
  const root = path.join(tmp, name, 'cache');
  const dirs = {
    sstate: path.join(root, 'sstate-cache'),
    downloads: path.join(root, 'downloads'),
    hashserv: path.join(root, 'hashserv'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  return dirs;
}

/** A real SQLite DB with one row, as the checkpoint before a save needs. */
function putDb(dir: string): void {
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof Sqlite;
  const db = new DatabaseSync(path.join(dir, 'hashserv.db'));
  db.exec('CREATE TABLE t (x TEXT); INSERT INTO t VALUES (1)');
  db.close();
}

function put(dir: string, rel: string, bytes = 100): void {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), 'x'.repeat(bytes));
}

const native = (n: number) =>
  `universal/${H(n).slice(0, 2)}/${H(n).slice(2, 4)}/sstate:quilt-native:x86_64-linux:0.67:r0:x86_64:12:${H(n)}_populate_sysroot.tar.zst`;
const target = (n: number, pn = 'zlib') =>
  `${H(n).slice(0, 2)}/${H(n).slice(2, 4)}/sstate:${pn}:core2-64-poky-linux:1.0:r0:core2-64:12:${H(n)}_populate_sysroot.tar.zst`;

function keys(run: string, m = 'qemux86-64', commit = 'a'): CacheKeys {
  return cacheKeys({
    userPrefix: '',
    series: 'scarthgap',
    distro: 'poky',
    machine: m,
    targets: ['img'],
    layers: [{ name: 'poky', commit: commit.repeat(40) }],
    localConf: [],
    run,
    buildHost: 'builder',
  });
}

describe('the parts layout through a cache service', () => {
  it('saves bases cold, a delta of what a build added, and restores base + delta where they were', async () => {
    const service = dirService();
    const a = machine('a');
    let r = await restoreCaches(keys('1-1'), a, path.join(tmp, 'inv-a.json'), 60_000, service);
    expect(r.sstate.kind).toBe('miss');
    put(a.sstate, native(1), 1000);
    // Larger than the DB (8 KiB) three times over, so a delta of one object and the DB stays one.
    put(a.sstate, target(2), 60_000);
    put(a.downloads, 'zlib.tar.gz', 500);
    put(a.downloads, 'zlib.tar.gz.done', 0);
    putDb(a.hashserv);
    let saved = await saveCaches(r, a, SETTINGS, service);
    expect(saved.parts!.map((p) => [p.part, p.kind, p.objects])).toEqual([
      ['shared', 'base', 1],
      ['machine', 'base', 1],
      ['downloads', 'base', 1],
    ]);
    expect(existsSync(path.join(a.sstate, '..', 'entries'))).toBe(true);

    // The next run on a fresh runner: one new object.
    const b = machine('b');
    r = await restoreCaches(keys('2-1', 'qemux86-64', 'b'), b, path.join(tmp, 'inv-b.json'), 60_000, service);
    expect(r.parts!.map((p) => [p.part, p.kind, p.base?.objects])).toEqual([
      ['shared', 'partial', 1],
      ['machine', 'partial', 1],
      ['downloads', 'partial', 1],
    ]);
    expect(readFileSync(path.join(b.sstate, target(2)), 'utf8')).toHaveLength(60_000);
    expect(existsSync(path.join(b.hashserv, 'hashserv.db'))).toBe(true);
    put(b.sstate, target(3, 'smidr-app'), 200);
    saved = await saveCaches(r, b, SETTINGS, service);
    expect(saved.parts!.map((p) => [p.part, p.kind ?? p.skipped])).toEqual([
      ['shared', 'nothing new since the restore'],
      ['machine', 'delta'],
      ['downloads', 'nothing new since the restore'],
    ]);
    const delta = saved.parts![1]!;
    expect(delta.key).toMatch(
      /^smidr-v2-sstate-machine-scarthgap-poky-qemux86-64@delta-1-1-[0-9a-f]{12}-2-1-[0-9a-f]{12}$/,
    );
    expect(delta.baseKey).toMatch(/@base-1-1-/);
    // The object and the DB, not the base's objects.
    expect(delta.objects).toBe(1);
    expect(delta.bytes).toBe(200 + statSync(path.join(b.hashserv, 'hashserv.db')).size);

    // A third runner gets base and delta, exact for the machine part.
    const c = machine('c');
    r = await restoreCaches(keys('3-1', 'qemux86-64', 'b'), c, path.join(tmp, 'inv-c.json'), 60_000, service);
    const m = r.parts!.find((p) => p.part === 'machine')!;
    expect([m.kind, m.base?.objects, m.delta?.objects]).toEqual(['exact', 1, 1]);
    expect(existsSync(path.join(c.sstate, target(3, 'smidr-app')))).toBe(true);
    expect(r.sstate.kind).toBe('exact');
    expect(existsSync(path.join(c.sstate, '..', 'entries', 'machine-base'))).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('a delta whose base is gone is ignored with a warning; the part is cold', async () => {
    const service = dirService();
    const a = machine('a');
    let r = await restoreCaches(keys('1-1'), a, path.join(tmp, 'inv-a.json'), 60_000, service);
    put(a.sstate, target(2), 3000);
    await saveCaches(r, a, SETTINGS, service);
    const b = machine('b');
    r = await restoreCaches(keys('2-1'), b, path.join(tmp, 'inv-b.json'), 60_000, service);
    put(b.sstate, target(3), 100);
    await saveCaches(r, b, SETTINGS, service);
    service.drop((k) => k.includes('@base-'));
    const c = machine('c');
    r = await restoreCaches(keys('3-1'), c, path.join(tmp, 'inv-c.json'), 60_000, service);
    expect(r.parts!.find((p) => p.part === 'machine')!.kind).toBe('miss');
    expect(warnings).toEqual([
      expect.stringMatching(/^machine cache: \S+@delta-1-1-\S+ is there but not the base it sits on/),
    ]);
    expect(existsSync(path.join(c.sstate, target(3)))).toBe(false);
  });

  it('a restore that cannot put a file in place warns and leaves that part cold; the build goes on', async () => {
    const service = dirService();
    const a = machine('a');
    const r = await restoreCaches(keys('1-1'), a, path.join(tmp, 'inv-a.json'), 60_000, service);
    put(a.sstate, target(2), 3000);
    await saveCaches(r, a, SETTINGS, service);
    const b = machine('b');
    // A file where SSTATE_DIR should be: nothing can be put in place under it.
    rmSync(b.sstate, { recursive: true, force: true });
    writeFileSync(b.sstate, 'not a directory');
    const restored = await restoreCaches(keys('2-1'), b, path.join(tmp, 'inv-b.json'), 60_000, service);
    expect(restored.parts!.find((p) => p.part === 'machine')!.kind).toBe('miss');
    expect(warnings).toEqual([
      expect.stringMatching(/^machine cache: restore failed, building this part without it: /),
    ]);
  });

  it('legs of one run racing for the shared key: the loser says so as information', async () => {
    const service = dirService();
    const legs = ['qemux86-64', 'qemuarm64'].map((m) => ({ m, dirs: machine(m) }));
    const restored = await Promise.all(
      legs.map((l) => restoreCaches(keys('1-1', l.m), l.dirs, path.join(tmp, `inv-${l.m}.json`), 60_000, service)),
    );
    for (const l of legs) put(l.dirs.sstate, native(1), 1000);
    put(legs[1]!.dirs.sstate, target(5, 'zlib-arm'), 100);
    await saveCaches(restored[0]!, legs[0]!.dirs, SETTINGS, service);
    const second = await saveCaches(restored[1]!, legs[1]!.dirs, SETTINGS, service);
    expect(second.parts![0]).toMatchObject({ part: 'shared', lostRace: true });
    expect(warnings).toEqual([]);
    expect(
      infos.some((i) => i.includes('shared cache: ') && i.includes('was saved by another job of this run first')),
    ).toBe(true);
    expect(service.keys().filter((k) => k.includes('-shared-'))).toHaveLength(1);
  });
});
