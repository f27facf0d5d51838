import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  applyPrune,
  listSstate,
  parseSstateName,
  planPrune,
  removeUnarchivable,
  sstateNames,
  type SstateObject,
} from '../../src/cache/sstate.js';

const H = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'sstate-'));
}

function put(dir: string, rel: string, content = 'x', mtimeSec?: number): void {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), content);
  if (mtimeSec !== undefined) utimesSync(path.join(dir, rel), mtimeSec, mtimeSec);
}

describe('parseSstateName', () => {
  it('reads a machine object', () => {
    expect(
      parseSstateName(`sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:${H}_populate_sysroot.tar.zst`),
    ).toEqual({
      pn: 'zlib',
      arch: 'core2-64-poky-linux',
      pv: '1.3.1',
      pr: 'r0',
      pkgarch: 'core2-64',
      version: '14',
      unihash: H,
      task: 'populate_sysroot',
    });
  });
  it('reads allarch, native and image objects, and PVs with + and git revisions', () => {
    expect(
      parseSstateName(`sstate:base-files:all-poky-linux:3.0.14:r0:allarch:14:${H}_package_write_ipk.tar.zst`),
    ).toMatchObject({
      pn: 'base-files',
      arch: 'all-poky-linux',
      pkgarch: 'allarch',
      task: 'package_write_ipk',
    });
    expect(
      parseSstateName(`sstate:zlib-native:x86_64-linux:1.3.1:r0:x86_64:14:${H}_populate_sysroot.tar.zst`),
    ).toMatchObject({
      pn: 'zlib-native',
      arch: 'x86_64-linux',
      pkgarch: 'x86_64',
    });
    expect(
      parseSstateName(
        `sstate:core-image-minimal:qemux86_64-poky-linux:1.0:r0:qemux86_64:14:${H}_image_complete.tar.zst`,
      ),
    ).toMatchObject({
      task: 'image_complete',
      pkgarch: 'qemux86_64',
    });
    expect(
      parseSstateName(
        `sstate:opkg-utils:core2-64-poky-linux:0.1.8+gitAUTOINC+c33b217016:r0:core2-64:14:${H}_package.tar.zst`,
      )?.pv,
    ).toBe('0.1.8+gitAUTOINC+c33b217016');
  });
  it('reads do_populate_lic with its empty arch fields', () => {
    expect(parseSstateName(`sstate:gcc::13.2.0:r0::14:${H}_populate_lic.tar.zst`)).toEqual({
      pn: 'gcc',
      arch: '',
      pv: '13.2.0',
      pr: 'r0',
      pkgarch: '',
      version: '14',
      unihash: H,
      task: 'populate_lic',
    });
  });
  it('reads the older .tgz objects', () => {
    expect(parseSstateName(`sstate:busybox:i586-poky-linux:1.31.1:r0:i586:3:${H}_package_qa.tgz`)).toMatchObject({
      pn: 'busybox',
      version: '3',
      task: 'package_qa',
    });
  });
  it('reads from both ends, so a colon in PV cannot shift the other fields', () => {
    expect(
      parseSstateName(`sstate:odd:core2-64-poky-linux:1:2.0:r1:core2-64:14:${H}_populate_sysroot.tar.zst`),
    ).toMatchObject({
      pn: 'odd',
      arch: 'core2-64-poky-linux',
      pv: '1:2.0',
      pr: 'r1',
      pkgarch: 'core2-64',
      version: '14',
    });
  });
  it('refuses companions, temporary files and other names', () => {
    const archive = `sstate:zlib:a:1:r0:b:14:${H}_populate_sysroot.tar.zst`;
    for (const name of [
      `${archive}.siginfo`,
      `${archive}.sig`,
      `${archive}.done`,
      `${archive}.Ab3dE9xZ`, // kirkstone: mktemp ${SSTATE_PKG}.XXXXXXXX
      `${archive}k2_9xq0a`, // scarthgap+: NamedTemporaryFile(prefix=<archive name>)
      `${archive}.tmp`, // the fetcher's download in progress
      `sstate:zlib:a:1:r0:b:14:${H}.tar.zst`, // no task
      `sstate:zlib:a:1:r0:b:14:INVALID_populate_sysroot.tar.zst`, // OE's placeholder when there is no hash
      `sstate:zlib:a:1:r0:${H}_populate_sysroot.tar.zst`, // a field short
      `zlib:a:1:r0:b:14:${H}_populate_sysroot.tar.zst`,
      'sigtask.abcdefgh',
    ])
      expect(parseSstateName(name), name).toBeUndefined();
  });
});

function obj(pn: string, mtimeMs: number, more: Partial<SstateObject> = {}): SstateObject {
  const p = more.path ?? `ab/cd/sstate:${pn}:a:1:r0:p:14:${mtimeMs}_populate_sysroot.tar.zst`;
  return {
    path: p,
    pn,
    arch: 'a',
    pv: '1',
    pr: 'r0',
    pkgarch: 'p',
    version: '14',
    unihash: p,
    task: 'populate_sysroot',
    bytes: 100,
    companions: [],
    mtimeMs,
    ...more,
  };
}

describe('planPrune', () => {
  const started = 1000;
  const restoredAll = (...xs: SstateObject[]) => new Set(xs.map((x) => x.path));
  const dropped = (plan: ReturnType<typeof planPrune>) => plan.drop.map((d) => [d.object.path, d.reason]);

  it('drops an unused object that a newer one of the same recipe, arch and task supersedes', () => {
    const old = obj('zlib', 10);
    const used = obj('zlib', 1500);
    const plan = planPrune([old, used], { buildStartedMs: started, restored: restoredAll(old, used) });
    expect(dropped(plan)).toEqual([[old.path, 'superseded']]);
    expect(plan.keep).toEqual([used]);
    expect(plan).toMatchObject({
      keptBytes: 100,
      droppedBytes: 100,
      workingSetBytes: 100,
      overBudgetWithWorkingSet: false,
    });
  });
  it('keeps the newest of several unused objects: it may be the valid one for an unchanged dependency', () => {
    const a = obj('zlib', 10);
    const b = obj('zlib', 20);
    const c = obj('zlib', 30);
    const lonely = obj('busybox', 5);
    const plan = planPrune([a, b, c, lonely], { buildStartedMs: started, restored: restoredAll(a, b, c, lonely) });
    expect(dropped(plan)).toEqual([
      [a.path, 'superseded'],
      [b.path, 'superseded'],
    ]);
    expect(plan.keep).toEqual([c, lonely]);
  });
  it('keeps every object this build used, older ones included', () => {
    const a = obj('zlib', 1200);
    const b = obj('zlib', 1300);
    expect(planPrune([a, b], { buildStartedMs: started, restored: restoredAll(a, b) }).drop).toEqual([]);
  });
  it('keeps what the build created even when it is older than a restored sibling', () => {
    const restored = obj('zlib', 20);
    const created = obj('zlib', 10);
    const plan = planPrune([restored, created], { buildStartedMs: started, restored: new Set([restored.path]) });
    expect(plan.drop).toEqual([]);
    expect(plan.workingSetBytes).toBe(100);
  });
  it('counts an object touched exactly when the build started as used', () => {
    const edge = obj('zlib', started);
    const later = obj('zlib', started + 500);
    expect(planPrune([edge, later], { buildStartedMs: started, restored: restoredAll(edge, later) }).drop).toEqual([]);
  });
  it('compares only within the same recipe, arch, package arch, task and native prefix', () => {
    const old = obj('zlib', 10);
    const others = [
      obj('zlib', 50, { path: 'x/1', task: 'package' }),
      obj('zlib', 50, { path: 'x/2', pkgarch: 'q' }),
      obj('zlib', 50, { path: 'x/3', arch: 'b' }),
      obj('zlib-native', 50, { path: 'x/4' }),
      obj('zlib', 50, { path: 'ubuntu-24.04/ab/cd/x' }),
    ];
    expect(
      planPrune([old, ...others], { buildStartedMs: started, restored: restoredAll(old, ...others) }).drop,
    ).toEqual([]);
    const nativeOld = obj('zlib-native', 10, { path: 'universal/ab/cd/n1' });
    const nativeNew = obj('zlib-native', 20, { path: 'universal/ef/01/n2' });
    const otherHost = obj('zlib-native', 5, { path: 'ubuntu-22.04/ab/cd/n3' });
    const plan = planPrune([nativeOld, nativeNew, otherHost], {
      buildStartedMs: started,
      restored: restoredAll(nativeOld, nativeNew, otherHost),
    });
    expect(dropped(plan)).toEqual([[nativeOld.path, 'superseded']]);
  });
  it('never calls a do_populate_lic object superseded: one license PN serves several recipes', () => {
    const lic = { arch: '', pkgarch: '', task: 'populate_lic' };
    const gccCross = obj('gcc', 10, { ...lic, path: 'a/b/lic1' });
    const libgcc = obj('gcc', 20, { ...lic, path: 'a/b/lic2' });
    expect(
      planPrune([gccCross, libgcc], { buildStartedMs: started, restored: restoredAll(gccCross, libgcc) }).drop,
    ).toEqual([]);
  });
  it('drops nothing for objects with the same mtime', () => {
    const a = obj('zlib', 10, { path: 'a' });
    const b = obj('zlib', 10, { path: 'b' });
    expect(planPrune([a, b], { buildStartedMs: started, restored: restoredAll(a, b) }).drop).toEqual([]);
  });
  it('meets a size budget least recently used first, after dropping superseded objects', () => {
    const superseded = obj('zlib', 5);
    const a = obj('a', 10);
    const b = obj('b', 20);
    const c = obj('c', 30);
    const w = obj('w', 2000);
    const plan = planPrune([superseded, obj('zlib', 6), a, b, c, w], {
      buildStartedMs: started,
      restored: restoredAll(superseded, a, b, c, w),
      budgetBytes: 300,
    });
    expect(dropped(plan)).toEqual([
      [superseded.path, 'superseded'],
      [a.path, 'budget'],
      [b.path, 'budget'],
    ]);
    expect(plan.keep.map((x) => x.pn)).toEqual(['zlib', 'c', 'w']);
    expect(plan).toMatchObject({ keptBytes: 300, droppedBytes: 300, overBudgetWithWorkingSet: false });
  });
  it('drops no budget objects when within budget or without one', () => {
    const a = obj('a', 10);
    const b = obj('b', 20);
    expect(planPrune([a, b], { buildStartedMs: started, restored: restoredAll(a, b), budgetBytes: 200 }).drop).toEqual(
      [],
    );
    expect(planPrune([a, b], { buildStartedMs: started, restored: restoredAll(a, b) }).drop).toEqual([]);
  });
  it('drops from the working set only when it alone exceeds the budget, oldest first, and says so', () => {
    const unused = obj('unused', 10);
    const usedOld = obj('used-old', 1100);
    const usedNew = obj('used-new', 1900);
    const created = obj('created', 1500);
    const plan = planPrune([unused, usedOld, usedNew, created], {
      buildStartedMs: started,
      restored: restoredAll(unused, usedOld, usedNew),
      budgetBytes: 150,
    });
    expect(dropped(plan)).toEqual([
      [unused.path, 'budget'],
      [usedOld.path, 'budget'],
      [created.path, 'budget'],
    ]);
    expect(plan.keep).toEqual([usedNew]);
    expect(plan).toMatchObject({ keptBytes: 100, workingSetBytes: 300, overBudgetWithWorkingSet: true });
  });
});

describe('the sstate directory on disk', () => {
  const archive = `sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:${H}_populate_sysroot.tar.zst`;
  const inHashDir = (name: string) => `e3/b0/${name}`;

  it('lists objects with their companions, sizes and mtimes; companions and other files are not objects', async () => {
    const dir = tmp();
    put(dir, inHashDir(archive), 'archive', 5);
    put(dir, inHashDir(`${archive}.siginfo`), 'sig');
    put(dir, inHashDir(`${archive}.sig`), 's');
    const native = `universal/e3/b0/sstate:zlib-native:x86_64-linux:1.3.1:r0:x86_64:14:${H}_populate_sysroot.tar.zst`;
    put(dir, native, 'n', 7);
    const compile = inHashDir(
      `sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:${H.replace('e3', 'e4')}_compile.tar.zst.siginfo`,
    );
    put(dir, compile, 'c');
    put(dir, 'hashserv.db', 'db');

    const objects = (await listSstate(dir)).sort((a, b) => a.path.localeCompare(b.path));
    expect(objects).toHaveLength(2);
    expect(objects[0]).toMatchObject({
      path: inHashDir(archive),
      pn: 'zlib',
      task: 'populate_sysroot',
      companions: [inHashDir(`${archive}.siginfo`), inHashDir(`${archive}.sig`)],
      bytes: 11,
      mtimeMs: 5000,
    });
    expect(objects[1]).toMatchObject({ path: native, pn: 'zlib-native', companions: [], bytes: 1, mtimeMs: 7000 });
    expect(await sstateNames(dir)).toEqual([inHashDir(archive), native]);
    expect(await listSstate(path.join(dir, 'missing'))).toEqual([]);
  });

  it("drops signature files of earlier builds' tasks that have no archive, keeping this build's and every archive's", async () => {
    const dir = tmp();
    const compile = (hash: string) =>
      `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:${hash}_compile.tar.zst.siginfo`;
    const old = H.replace('e3', 'a1');
    const current = H.replace('e3', 'a2');
    put(dir, inHashDir(archive), 'archive', 1);
    put(dir, inHashDir(`${archive}.siginfo`), 'sig', 1);
    put(dir, compile(old), 'old sig', 1);
    put(dir, compile(current), 'new sig', 9);
    const left = await removeUnarchivable(dir, { signaturesBefore: 5000 });
    expect(left).toEqual({ removed: ['a1/b0/', 'a1/'], staleSignatures: [compile(old)], staleSignatureBytes: 7 });
    expect(existsSync(path.join(dir, 'a1'))).toBe(false);
    expect(existsSync(path.join(dir, compile(current)))).toBe(true);
    expect(existsSync(path.join(dir, inHashDir(`${archive}.siginfo`)))).toBe(true);
  });

  it('removes locks, temporary objects of every OE series and the stand-in, and empty directories', async () => {
    const dir = tmp();
    const keep = [
      inHashDir(archive),
      inHashDir(`${archive}.siginfo`),
      inHashDir(`${archive}.sig`),
      inHashDir(`${archive}.done`),
      // A siginfo without archive: OE writes one for every task that runs.
      inHashDir(`sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:${H}_compile.tar.zst.siginfo`),
      'hashserv.db',
      'README',
    ];
    const leftovers = [
      inHashDir(`${archive}.lock`),
      inHashDir(`${archive}.Ab3dE9xZ`), // kirkstone and older: mktemp ${SSTATE_PKG}.XXXXXXXX
      inHashDir(`${archive}k2_9xq0a`), // scarthgap and later: NamedTemporaryFile(prefix=<archive name>)
      inHashDir(`${archive}.siginfo.ab_x91zq`), // the stand-in's siginfo temporary
      inHashDir(`${archive}.tmp`), // an http SSTATE_MIRROR download in progress
      inHashDir('sigtask.Qw3rTy7Uio9Pas2Dfg4Hjk1ab_x91zq'), // BitBake's siggen.dump_sigtask
    ];
    for (const f of [...keep, ...leftovers]) put(dir, f);
    // scarthgap+ signs in a TemporaryDirectory beside the object.
    put(dir, `e3/b0/tmpa1b2_c3d/${archive}`);
    put(dir, `e3/b0/tmpa1b2_c3d/${archive}.sig`);
    mkdirSync(path.join(dir, 'ff/00'), { recursive: true });
    symlinkSync(
      '/nonexistent/mirror/object.tar.zst',
      path.join(dir, inHashDir(`${archive.replace('zlib', 'dangling')}`)),
    );
    const mirror = tmp();
    put(mirror, 'object.tar.zst', 'mirror');
    const linked = inHashDir(archive.replace('zlib', 'linked'));
    symlinkSync(path.join(mirror, 'object.tar.zst'), path.join(dir, linked));

    const { removed, staleSignatures } = await removeUnarchivable(dir);
    expect(staleSignatures).toEqual([]);
    expect(removed.sort()).toEqual(
      [...leftovers, inHashDir(archive.replace('zlib', 'dangling')), 'e3/b0/tmpa1b2_c3d/', 'ff/', 'ff/00/'].sort(),
    );
    for (const f of keep) expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect(lstatSync(path.join(dir, linked)).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['README', 'e3', 'hashserv.db']);
    // A linked object counts as the link, which is what an archive of the directory holds.
    const objects = await listSstate(dir);
    expect(objects.find((o) => o.path === linked)?.bytes).toBe(lstatSync(path.join(dir, linked)).size);
  });

  it('applies a plan: objects go with their companions and the hash directories they leave empty', async () => {
    const dir = tmp();
    const old = `ab/cd/sstate:zlib:a:1.2:r0:p:14:abcd${H.slice(4)}_populate_sysroot.tar.zst`;
    const cur = `e3/b0/sstate:zlib:a:1.3:r0:p:14:${H}_populate_sysroot.tar.zst`;
    const shared = `ab/ce/sstate:busybox:a:1:r0:p:14:abce${H.slice(4)}_populate_sysroot.tar.zst`;
    put(dir, old, 'old', 10);
    put(dir, `${old}.siginfo`, 's', 10);
    put(dir, cur, 'new', 1500);
    put(dir, `${cur}.siginfo`, 's', 1500);
    put(dir, shared, 'b', 10);
    const restored = new Set(await sstateNames(dir));
    const plan = planPrune(await listSstate(dir), { buildStartedMs: 1_000_000, restored });
    expect(plan.drop.map((d) => d.object.path)).toEqual([old]);
    await applyPrune(dir, plan);
    expect(existsSync(path.join(dir, 'ab/cd'))).toBe(false);
    expect(readdirSync(path.join(dir, 'ab'))).toEqual(['ce']);
    expect(await sstateNames(dir)).toEqual([shared, cur].sort());
    expect(readdirSync(path.join(dir, 'e3/b0')).sort()).toEqual([
      path.posix.basename(cur),
      `${path.posix.basename(cur)}.siginfo`,
    ]);
  });
});

describe('memory while listing a large cache', () => {
  it('clean-up and listing of 10,000 objects fit in a 20 MB old generation', () => {
    // The post step lists the cache just before @actions/cache uploads it, and whatever heap the
    // listing made V8 grow stays through the upload. Listing every file first, then stat-ing them
    // all, needed more than 24 MB here (peak RSS 250-310 MB in the round-trip benchmark); one
    // directory at a time needs under 16 MB.
    const dir = tmp();
    for (let i = 0; i < 10_000; i++) {
      const h = createHash('sha256').update(String(i)).digest('hex');
      const archive = `${h.slice(0, 2)}/${h.slice(2, 4)}/sstate:pkg${i % 500}:core2-64-poky-linux:1.0:r0:core2-64:14:${h}_populate_sysroot.tar.zst`;
      put(dir, archive, '');
      put(dir, `${archive}.siginfo`, '');
    }
    const module = pathToFileURL(path.resolve(import.meta.dirname, '../../src/cache/sstate.ts')).href;
    // Our sources import each other as .js (NodeNext); the hook finds the .ts beside it.
    const script = `import { registerHooks } from 'node:module';
      registerHooks({ resolve: (s, c, next) => { try { return next(s, c); } catch { return next(s.replace(/\\.js$/, '.ts'), c); } } });
      const m = await import(${JSON.stringify(module)});
      await m.removeUnarchivable(process.argv[1], { signaturesBefore: Date.now() });
      console.log((await m.listSstate(process.argv[1])).length);`;
    // Node 24 strips the types itself; a heap that does not fit aborts the process.
    try {
      const out = execFileSync(
        process.execPath,
        [
          '--max-old-space-size=20',
          '--experimental-transform-types',
          '--disable-warning=ExperimentalWarning',
          '--input-type=module',
          '-e',
          script,
          dir,
        ],
        { encoding: 'utf8' },
      );
      expect(out.trim()).toBe('10000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
