import { describe, expect, it } from 'vitest';

import { cacheKeys, cacheLayout, type KeyInputs, matchKind } from '../../src/cache/keys.js';

const base: KeyInputs = {
  userPrefix: '',
  series: 'scarthgap',
  distro: 'poky',
  machine: 'qemux86-64',
  targets: ['core-image-minimal'],
  layers: [
    { name: 'poky', commit: 'a'.repeat(40) },
    { name: 'meta-x', commit: 'b'.repeat(40) },
  ],
  localConf: [{ variable: 'INHERIT', operator: '+=', value: 'rm_work' }],
  run: '1234-1',
  layout: 'single',
};

describe('cacheKeys', () => {
  const k = cacheKeys(base);

  it('rolls per run, with restore keys from most to least specific', () => {
    expect(k.sstate.key.endsWith('-1234-1')).toBe(true);
    expect(k.sstate.restoreKeys).toHaveLength(4);
    for (let i = 1; i < k.sstate.restoreKeys.length; i++) {
      expect(k.sstate.restoreKeys[i - 1]!.startsWith(k.sstate.restoreKeys[i]!)).toBe(true);
    }
    expect(k.sstate.key.startsWith(k.sstate.restoreKeys[0]!)).toBe(true);
    expect(k.sstate.restoreKeys.at(-1)).toBe('smidr-v1-sstate-scarthgap-poky-');
  });

  it('shares downloads between machines, but never a save key', () => {
    const arm = cacheKeys({ ...base, machine: 'qemuarm64' });
    expect(arm.downloads.restoreKeys).toEqual(k.downloads.restoreKeys);
    expect(arm.downloads.key).not.toBe(k.downloads.key);
    expect(arm.sstate.restoreKeys[2]).not.toBe(k.sstate.restoreKeys[2]);
  });

  it('changes the layers part with any layer revision, in any order', () => {
    const moved = cacheKeys({ ...base, layers: [base.layers[0]!, { name: 'meta-x', commit: 'c'.repeat(40) }] });
    expect(moved.sstate.restoreKeys[1]).not.toBe(k.sstate.restoreKeys[1]);
    expect(moved.sstate.restoreKeys[2]).toBe(k.sstate.restoreKeys[2]);
    const reordered = cacheKeys({ ...base, layers: [...base.layers].reverse() });
    expect(reordered.sstate.key).toBe(k.sstate.key);
  });

  it('ignores tuning variables but not signature-relevant conf', () => {
    const tuned = cacheKeys({
      ...base,
      localConf: [...base.localConf, { variable: 'BB_NUMBER_THREADS', operator: '=', value: '32' }],
    });
    expect(tuned.sstate.key).toBe(k.sstate.key);
    const changed = cacheKeys({
      ...base,
      localConf: [...base.localConf, { variable: 'DISTRO_FEATURES:append', operator: '=', value: ' x11' }],
    });
    expect(changed.sstate.restoreKeys[0]).not.toBe(k.sstate.restoreKeys[0]);
    expect(changed.sstate.restoreKeys[1]).toBe(k.sstate.restoreKeys[1]);
  });

  it("changes the conf part with a kas project's conf text, and keeps keys without it as they were", () => {
    expect(cacheKeys({ ...base, confText: '' }).sstate.key).toBe(k.sstate.key);
    const snippets = cacheKeys({ ...base, confText: '# a\nDISTRO_FEATURES:append = " x11"\n' });
    expect(snippets.sstate.restoreKeys[0]).not.toBe(k.sstate.restoreKeys[0]);
    expect(snippets.sstate.restoreKeys[1]).toBe(k.sstate.restoreKeys[1]);
  });

  it('keeps keys within the service limits: no commas, at most 512 characters', () => {
    const odd = cacheKeys({ ...base, userPrefix: 'team,a b', machine: 'x'.repeat(300) });
    for (const key of [odd.sstate.key, ...odd.sstate.restoreKeys, odd.downloads.key]) {
      expect(key).not.toContain(',');
      expect(key.length).toBeLessThanOrEqual(512);
    }
    expect(odd.sstate.key.startsWith('smidr-v1-team_a_b-sstate-')).toBe(true);
  });

  it('prints every part', () => {
    expect(Object.keys(k.parts)).toEqual([
      'prefix',
      'series',
      'distro',
      'machine',
      'layers hash',
      'config hash',
      'run',
    ]);
    expect(k.parts['layers hash']).toContain('poky@aaaaaaaaaaaa');
  });
});

describe('cacheKeys, parts layout', () => {
  const parts: KeyInputs = { ...base, layout: 'parts', buildHost: 'smidr/builder:bookworm' };
  const k = cacheKeys(parts);

  it('gives each part a lineage: shared by series, distro and build host; machine by MACHINE; downloads by series', () => {
    expect(k.lineages).toEqual({
      shared: 'smidr-v2-sstate-shared-scarthgap-poky-smidr_builder_bookworm@',
      machine: 'smidr-v2-sstate-machine-scarthgap-poky-qemux86-64@',
      downloads: 'smidr-v2-downloads-scarthgap@',
    });
    const arm = cacheKeys({ ...parts, machine: 'qemuarm64' });
    expect(arm.lineages!.shared).toBe(k.lineages!.shared);
    expect(arm.lineages!.downloads).toBe(k.lineages!.downloads);
    expect(arm.lineages!.machine).not.toBe(k.lineages!.machine);
    // No machine's lineage is a prefix of another's: a deletion by prefix stays in its lineage.
    const short = cacheKeys({ ...parts, machine: 'qemux86' });
    expect(k.lineages!.machine.startsWith(short.lineages!.machine)).toBe(false);
  });

  it('keeps the lineage across layer revisions; the state at the end of the keys follows them', () => {
    const moved = cacheKeys({ ...parts, layers: [base.layers[0]!, { name: 'meta-x', commit: 'c'.repeat(40) }] });
    expect(moved.lineages).toEqual(k.lineages);
    expect(moved.state).not.toBe(k.state);
    expect(k.state).toMatch(/^[0-9a-f]{12}$/);
    expect(k.run).toBe('1234-1');
  });

  it('SMIDR_CACHE_LAYOUT=single selects the single-entry layout, anything else the parts', () => {
    expect(cacheLayout({ SMIDR_CACHE_LAYOUT: 'single' })).toBe('single');
    expect(cacheLayout({})).toBe('parts');
    expect(cacheKeys(base).lineages).toBeUndefined();
  });
});

describe('matchKind', () => {
  const k = cacheKeys(base);
  it('tells exact from partial from miss', () => {
    expect(matchKind(k.sstate, undefined)).toBe('miss');
    expect(matchKind(k.sstate, `${k.sstate.restoreKeys[0]}999-1`)).toBe('exact');
    expect(matchKind(k.sstate, `${k.sstate.restoreKeys[2]}zzz-999-1`)).toBe('partial');
  });
});
