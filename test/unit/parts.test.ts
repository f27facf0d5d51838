import { describe, expect, it } from 'vitest';

import {
  baseIdOf,
  baseKey,
  deltaKey,
  deltaPrefix,
  type PartSaveInput,
  planPartSave,
  stateOf,
  supersededPartLineages,
} from '../../src/cache/parts.js';
import { parseSstateName, sstateScope } from '../../src/cache/sstate.js';
import { lostRace } from '../../src/cache/transfer.js';

const H = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function scopeOf(rel: string) {
  const parsed = parseSstateName(rel.split('/').at(-1)!)!;
  return sstateScope({ ...parsed, path: rel });
}

describe('sstateScope', () => {
  it('shares native and crosssdk objects (under NATIVELSBSTRING), allarch objects and native licenses', () => {
    expect(
      scopeOf(`universal/e3/b0/sstate:quilt-native:x86_64-linux:0.67:r0:x86_64:12:${H}_populate_sysroot.tar.zst`),
    ).toBe('shared');
    expect(
      scopeOf(
        `ubuntu-24.04/e3/b0/sstate:gcc-crosssdk-x86_64-pokysdk-linux:x86_64-pokysdk-linux:13.3.0:r0:x86_64_x86_64_linux:12:${H}_populate_sysroot.tar.zst`,
      ),
    ).toBe('shared');
    expect(scopeOf(`e3/b0/sstate:hello:all-poky-linux:1.0:r0:allarch:12:${H}_package_write_ipk.tar.zst`)).toBe(
      'shared',
    );
    expect(scopeOf(`e3/b0/sstate:quilt-native::0.67:r0::12:${H}_populate_lic.tar.zst`)).toBe('shared');
  });

  it('keeps cross, tune, machine objects and target licenses with the machine', () => {
    expect(
      scopeOf(
        `universal/e3/b0/sstate:gcc-cross-aarch64:x86_64-poky-linux:13.3.0:r0:x86_64:12:${H}_populate_sysroot.tar.zst`,
      ),
    ).toBe('machine');
    expect(scopeOf(`e3/b0/sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:12:${H}_populate_sysroot.tar.zst`)).toBe(
      'machine',
    );
    expect(
      scopeOf(`e3/b0/sstate:base-files:qemux86_64-poky-linux:3.0.14:r0:qemux86_64:12:${H}_package_write_ipk.tar.zst`),
    ).toBe('machine');
    expect(scopeOf(`e3/b0/sstate:zlib::1.3.1:r0::12:${H}_populate_lic.tar.zst`)).toBe('machine');
  });
});

describe('keys of a lineage', () => {
  const lineage = 'smidr-v2-sstate-machine-scarthgap-poky-qemux86-64@';
  it('names the base inside its deltas, and the state last', () => {
    const base = baseKey(lineage, '100-1', 'abcdef012345');
    expect(base).toBe(`${lineage}base-100-1-abcdef012345`);
    const id = baseIdOf(lineage, base)!;
    const delta = deltaKey(lineage, id, '105-2', '0123456789ab');
    expect(delta).toBe(`${lineage}delta-100-1-abcdef012345-105-2-0123456789ab`);
    expect(delta.startsWith(deltaPrefix(lineage, id))).toBe(true);
    expect(stateOf(delta)).toBe('0123456789ab');
    expect(baseIdOf(lineage, delta)).toBeUndefined();
  });
});

describe('planPartSave', () => {
  const base = new Map([
    ['a', 300],
    ['b', 300],
    ['c', 300],
  ]);
  const input = (o: Partial<PartSaveInput>): PartSaveInput => ({
    base: { key: 'L@base-1-s', objects: base },
    restored: new Set(base.keys()),
    current: [...base].map(([name, bytes]) => ({ name, bytes })),
    ...o,
  });

  it('saves nothing when nothing is new and the DB did not change', () => {
    expect(planPartSave(input({}))).toEqual({ skipped: 'nothing new since the restore' });
    expect(planPartSave(input({ extra: { bytes: 10, changed: false } }))).toHaveProperty('skipped');
  });

  it('saves a base when none was restored', () => {
    const plan = planPartSave(input({ base: undefined, restored: new Set() }));
    expect(plan).toMatchObject({ kind: 'base', bytes: 900, why: 'no base was restored' });
  });

  it('saves a delta of everything not in the base: the restored delta, the new objects and the DB', () => {
    const plan = planPartSave(
      input({
        restored: new Set(['a', 'b', 'c', 'd']),
        current: [
          { name: 'a', bytes: 300 },
          { name: 'b', bytes: 300 },
          { name: 'c', bytes: 300 },
          { name: 'd', bytes: 50 },
          { name: 'e', bytes: 50 },
        ],
        extra: { bytes: 20, changed: true },
      }),
    );
    expect(plan).toMatchObject({ kind: 'delta', base: 'L@base-1-s', bytes: 120, baseBytes: 900 });
    expect('objects' in plan && plan.objects.map((o) => o.name)).toEqual(['d', 'e']);
  });

  it('a DB change alone is a delta holding the DB', () => {
    const plan = planPartSave(input({ extra: { bytes: 20, changed: true } }));
    expect(plan).toMatchObject({ kind: 'delta', bytes: 20, objects: [] });
  });

  it('saves a new base once the delta passes a third of the base', () => {
    const current = [...base].map(([name, bytes]) => ({ name, bytes }));
    expect(planPartSave(input({ current: [...current, { name: 'd', bytes: 300 }] }))).toMatchObject({ kind: 'delta' });
    expect(planPartSave(input({ current: [...current, { name: 'd', bytes: 301 }] }))).toMatchObject({ kind: 'base' });
  });

  it("counts the base's objects this build dropped (pruned) against the base too", () => {
    // 200 new, 300 of the base pruned: 500 > 300.
    const plan = planPartSave(
      input({
        current: [
          { name: 'a', bytes: 300 },
          { name: 'b', bytes: 300 },
          { name: 'd', bytes: 200 },
        ],
      }),
    );
    expect(plan).toMatchObject({ kind: 'base', bytes: 800 });
  });
});

describe('supersededPartLineages', () => {
  it('a base keeps itself; a delta its base and itself; a lost race or a skip nothing', () => {
    expect(
      supersededPartLineages([
        { part: 'shared', lineage: 'S@', kind: 'base', key: 'S@base-2-x' },
        { part: 'machine', lineage: 'M@', kind: 'delta', key: 'M@delta-1-x-2-y', baseKey: 'M@base-1-x' },
        { part: 'downloads', lineage: 'D@', skipped: 'nothing new since the restore' },
        { part: 'shared', lineage: 'T@', kind: 'delta', key: 'T@delta-1-x-2-y', baseKey: 'T@base-1-x', lostRace: true },
      ]),
    ).toEqual([
      { prefix: 'S@', keep: ['S@base-2-x'] },
      { prefix: 'M@', keep: ['M@base-1-x', 'M@delta-1-x-2-y'] },
    ]);
  });
});

describe('lostRace', () => {
  it('is a key that exists (v2 409, v1 "already exists"), not a full cache or a denied write', () => {
    const v2 = 'Unable to reserve cache with key k, another job may be creating this cache.';
    expect(
      lostRace(
        `${v2}: Error: Failed to CreateCacheEntry: Received non-retryable error: Failed request: (409) Conflict: cache entry with the same key, version, and scope already exists`,
      ),
    ).toBe(true);
    expect(
      lostRace(
        'Unable to reserve cache with key k, another job may be creating this cache. More details: Cache already exists. Scope: x',
      ),
    ).toBe(true);
    expect(
      lostRace(
        `${v2}: Error: Failed to CreateCacheEntry: Received non-retryable error: Failed request: (429) Too Many Requests: insufficient usage`,
      ),
    ).toBe(false);
    expect(lostRace(undefined)).toBe(false);
  });
});
