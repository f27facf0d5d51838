/**
 * The sstate grammar and listing against SSTATE_DIR as real BitBake + OE-core left it
 * (test/fixtures/oracles/<series>/sstate-cache.txt): target, native, cross and allarch objects.
 */
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { listSstate, parseSstateName, removeUnarchivable, sstateNames } from '../../../src/cache/sstate.js';
import { materialize, oracleListing, oracleText, SERIES } from './oracles.js';

describe.each(SERIES)('SSTATE_DIR from real BitBake (%s)', (series) => {
  const listing = oracleListing(series, 'sstate-cache.txt');
  const archives = listing.filter((p) => p.endsWith('.tar.zst'));
  const parsed = archives.map((p) => ({ path: p, ...parseSstateName(path.posix.basename(p))! }));
  const byPn = (pn: string) => parsed.filter((o) => o.pn === pn);
  // The build's own report of where native objects go (knotty's Build Configuration).
  const nativeDir = /^NATIVELSBSTRING += "([^"]+)"$/m.exec(oracleText(series, 'knotty-success.log'))![1]!;

  it('parses every archive name, and no signature or other file as one', () => {
    expect(archives.length).toBeGreaterThan(10);
    for (const o of parsed) expect(o.unihash, o.path).toMatch(/^[0-9a-f]{64}$/);
    for (const p of listing.filter((x) => !x.endsWith('.tar.zst')))
      expect(parseSstateName(path.posix.basename(p)), p).toBeUndefined();
    expect(new Set(parsed.map((o) => o.version)).size).toBe(1);
  });

  it('finds each object in the <h0h1>/<h2h3> directory of its unihash, native and cross ones below NATIVELSBSTRING', () => {
    for (const o of parsed) {
      const native = o.pn.endsWith('-native') || o.pn.startsWith('smidr-real-cross-');
      const dir = `${native && o.arch ? `${nativeDir}/` : ''}${o.unihash.slice(0, 2)}/${o.unihash.slice(2, 4)}`;
      expect(path.posix.dirname(o.path), o.path).toBe(dir);
    }
  });

  it('reads the architectures of target, native, cross and allarch objects', () => {
    const deploy = (pn: string) => byPn(pn).find((o) => o.task === 'deploy');
    expect(deploy('smidr-real-app')).toMatchObject({ pv: '1.0', pr: 'r0', arch: expect.stringMatching(/-linux$/) });
    expect(deploy('smidr-real-tool-native')).toMatchObject({ arch: 'x86_64-linux', pkgarch: 'x86_64' });
    expect(deploy('smidr-real-cross-x86_64')).toMatchObject({
      arch: expect.stringMatching(/^x86_64-/),
      pkgarch: 'x86_64',
    });
    expect(deploy('smidr-real-data')).toMatchObject({ arch: expect.stringMatching(/^all-/), pkgarch: 'allarch' });
    // do_populate_lic objects carry no architecture at all.
    for (const o of parsed.filter((x) => x.task === 'populate_lic')) expect(o).toMatchObject({ arch: '', pkgarch: '' });
  });

  it('lists the objects with their signatures, and finds nothing to leave out', async () => {
    const dir = materialize(listing);
    const objects = await listSstate(dir);
    expect(objects.map((o) => o.path).sort()).toEqual([...archives].sort());
    for (const o of objects) expect(o.companions, o.path).toEqual([`${o.path}.siginfo`]);
    expect(await sstateNames(dir)).toEqual([...archives].sort());
    expect((await removeUnarchivable(dir)).removed).toEqual([]);
  });

  it('tells the signatures of tasks without an archive (do_fetch, do_unpack, ...) from those of objects', async () => {
    const orphans = listing.filter((p) => p.endsWith('.siginfo') && !listing.includes(p.slice(0, -'.siginfo'.length)));
    expect(orphans.length).toBeGreaterThan(0);
    const dir = materialize(listing);
    const left = await removeUnarchivable(dir, { signaturesBefore: Date.now() + 60_000 });
    expect([...left.staleSignatures].sort()).toEqual(orphans);
    // What goes besides them: only the directories they leave empty.
    for (const r of left.removed) expect(r, r).toMatch(/\/$/);
    expect(await sstateNames(dir)).toEqual([...archives].sort());
  });
});
