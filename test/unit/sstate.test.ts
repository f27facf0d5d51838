import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSstate, parseSstateName, planPrune, removeUnarchivable, type SstateObject } from '../../src/sstate.js';
import { downloadNames, removeUnarchivableDownloads } from '../../src/downloads.js';

describe('parseSstateName', () => {
  it('reads machine, allarch and populate_lic names', () => {
    expect(parseSstateName('sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:12:0a1b2c_populate_sysroot.tar.zst')).toEqual({
      pn: 'zlib', arch: 'core2-64-poky-linux', pv: '1.3.1', pr: 'r0', pkgarch: 'core2-64', version: '12', unihash: '0a1b2c', task: 'populate_sysroot',
    });
    expect(parseSstateName('sstate:hello::1.0:r0::12:ff00_populate_lic.tar.zst')?.task).toBe('populate_lic');
    expect(parseSstateName('sstate:img:qemux86_64-poky-linux:1.0:r0:qemux86_64:10:beef_image_complete.tgz')?.task).toBe('image_complete');
  });
  it('is not fooled by companions and temporary files', () => {
    expect(parseSstateName('sstate:zlib:a:1:r0:b:12:0a_populate_sysroot.tar.zst.siginfo')).toBeUndefined();
    expect(parseSstateName('sstate:zlib:a:1:r0:b:12:0a_populate_sysroot.tar.zst.Xy12ab9Z')).toBeUndefined();
  });
});

function obj(pn: string, mtimeMs: number, p = `${pn}-${mtimeMs}`, bytes = 100): SstateObject {
  return { path: p, pn, arch: 'a', pv: '1', pr: 'r0', pkgarch: 'p', version: '12', unihash: p, task: 'populate_sysroot', bytes, companions: [], mtimeMs };
}

describe('planPrune', () => {
  const started = 1000;
  it('drops unused objects that a newer one of the same recipe, arch and task supersedes', () => {
    const old = obj('zlib', 10);
    const used = obj('zlib', 1500);
    const lonely = obj('busybox', 10);
    const plan = planPrune([old, used, lonely], { buildStartedMs: started, restored: new Set([old.path, used.path, lonely.path]) });
    expect(plan.drop.map((d) => [d.object.path, d.reason])).toEqual([[old.path, 'superseded']]);
    expect(plan.keep).toEqual([used, lonely]);
    expect(plan.keptBytes).toBe(200);
  });
  it('keeps what the build created even when it is older than a restored sibling', () => {
    const restored = obj('zlib', 20);
    const created = obj('zlib', 10);
    const plan = planPrune([restored, created], { buildStartedMs: started, restored: new Set([restored.path]) });
    expect(plan.drop.map((d) => d.object.path)).toEqual([]);
  });
  it('meets a size budget least recently used first, the working set last', () => {
    const a = obj('a', 10);
    const b = obj('b', 20);
    const w = obj('w', 2000);
    const plan = planPrune([a, b, w], { buildStartedMs: started, restored: new Set([a.path, b.path, w.path]), budgetBytes: 150 });
    expect(plan.drop.map((d) => [d.object.path, d.reason])).toEqual([[a.path, 'budget'], [b.path, 'budget']]);
    expect(plan.overBudgetWithWorkingSet).toBe(false);
    const tight = planPrune([a, w], { buildStartedMs: started, restored: new Set([a.path, w.path]), budgetBytes: 50 });
    expect(tight.overBudgetWithWorkingSet).toBe(true);
  });
});

describe('files that never enter an archive', () => {
  it('sstate: locks and temporary objects go, archives and companions stay; mtime is read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sstate-'));
    mkdirSync(path.join(dir, 'ab', 'cd'), { recursive: true });
    const name = 'sstate:zlib:a:1:r0:b:12:abcd_populate_sysroot.tar.zst';
    for (const f of [name, `${name}.siginfo`, `${name}.Xy12ab9Z`, `${name}.lock`]) writeFileSync(path.join(dir, 'ab', 'cd', f), 'x');
    utimesSync(path.join(dir, 'ab', 'cd', name), 5, 5);
    expect((await removeUnarchivable(dir)).sort()).toEqual([`ab/cd/${name}.Xy12ab9Z`, `ab/cd/${name}.lock`].sort());
    const [o] = await listSstate(dir);
    expect(o).toMatchObject({ path: `ab/cd/${name}`, companions: [`ab/cd/${name}.siginfo`], bytes: 2, mtimeMs: 5000 });
  });
  it('downloads: partial files (no .done) and locks go, complete ones and mirror dirs stay', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dl-'));
    mkdirSync(path.join(dir, 'git2', 'repo'), { recursive: true });
    for (const f of ['a.tar.gz', 'a.tar.gz.done', 'b.tar.gz', 'c.lock', 'git2/repo/HEAD', 'git2/repo.lock']) writeFileSync(path.join(dir, f), 'x');
    expect((await removeUnarchivableDownloads(dir)).sort()).toEqual(['b.tar.gz', 'c.lock', 'git2/repo.lock']);
    expect(readdirSync(dir).sort()).toEqual(['a.tar.gz', 'a.tar.gz.done', 'git2']);
    expect(await downloadNames(dir)).toEqual(['a.tar.gz.done']);
  });
});
