import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { bitbakeRunning, lockedInodes } from '../../src/bitbake/in-use.js';
import { dbDirProblem, fsTypeProblem } from '../../src/local/db-dir.js';
import { housekeep } from '../../src/local/housekeeping.js';
import { privateCacheDirs, repositoryDirs } from '../../src/local/private-dirs.js';

const DAY = 86400_000;
const NOW = Date.now();
let tmp: string;

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'smidr-housekeeping-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function write(p: string, content = 'x'): Promise<string> {
  await fs.mkdir(path.dirname(p), { recursive: true });
  await fs.writeFile(p, content);
  return p;
}

/** Sets a path's mtime to `days` before NOW; symlinks themselves, not their targets. */
async function age(p: string, days: number): Promise<void> {
  const t = new Date(NOW - days * DAY);
  await fs.lutimes(p, t, t);
}

async function mode(p: string): Promise<number> {
  return (await fs.stat(p)).mode & 0o7777;
}

describe('fsTypeProblem', () => {
  it('refuses NFS with the fix', () => {
    const p = fsTypeProblem(0x6969, '/cache/hashserv');
    expect(p).toContain('/cache/hashserv is on NFS');
    expect(p).toContain('BitBake refuses');
    expect(p).toContain('local disk');
  });

  it('refuses the SMB family, also as the signed values of a 32-bit f_type', () => {
    expect(fsTypeProblem(0xff534d42, '/d')).toContain('CIFS');
    expect(fsTypeProblem(0xff534d42 | 0, '/d')).toContain('CIFS');
    expect(fsTypeProblem(0xfe534d42, '/d')).toContain('SMB2');
    expect(fsTypeProblem(0x517b, '/d')).toContain('SMB');
  });

  it('accepts local file systems and FUSE', () => {
    for (const t of [
      0xef53 /* ext4 */, 0x01021994 /* tmpfs */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, 0x794c7630 /* overlay */,
      0x65735546 /* fuse */,
    ]) {
      expect(fsTypeProblem(t, '/d')).toBeUndefined();
    }
  });
});

describe('dbDirProblem', () => {
  it('accepts a local directory, and one still to be created', async () => {
    expect(await dbDirProblem(tmp)).toBeUndefined();
    expect(await dbDirProblem(path.join(tmp, 'not', 'yet'))).toBeUndefined();
  });
});

describe('privateCacheDirs', () => {
  it('creates the per-repository layout, private to the runner user', async () => {
    const d = await privateCacheDirs(path.join(tmp, 'root'), 'Octo-Org/My.Repo');
    const repo = path.join(tmp, 'root', 'octo-org', 'my.repo');
    expect(d).toEqual({
      downloads: path.join(repo, 'downloads'),
      sstate: path.join(repo, 'sstate-cache'),
      hashserv: path.join(repo, 'hashserv'),
      buildsDir: path.join(repo, 'builds'),
      tightened: [],
    });
    for (const p of [d.downloads, d.sstate, d.hashserv, d.buildsDir])
      expect((await fs.stat(p)).isDirectory()).toBe(true);
    expect(await mode(repo)).toBe(0o700);
    expect(await mode(path.dirname(repo))).toBe(0o700);
  });

  it('tightens broader existing directories once, and says so', async () => {
    const repo = path.join(tmp, 'octo', 'repo');
    await fs.mkdir(repo, { recursive: true });
    await fs.chmod(path.dirname(repo), 0o755);
    await fs.chmod(repo, 0o2775);
    const first = await privateCacheDirs(tmp, 'octo/repo');
    expect(first.tightened).toEqual([path.dirname(repo), repo]);
    expect(await mode(repo)).toBe(0o700);
    expect((await privateCacheDirs(tmp, 'octo/repo')).tightened).toEqual([]);
  });

  it('accepts repository names GitHub allows', () => {
    expect(repositoryDirs('octo/.github')).toEqual({ owner: 'octo', name: '.github' });
    expect(repositoryDirs('jdoe_acme/a-b_c.d')).toEqual({ owner: 'jdoe_acme', name: 'a-b_c.d' });
  });

  it('refuses repository names that could leave the root, before creating anything', async () => {
    const root = path.join(tmp, 'root');
    for (const bad of [
      '..',
      '../x',
      'x/..',
      'x/.',
      'a/../b',
      'a/b/c',
      '/abs',
      'a/',
      '/a',
      '',
      'owner',
      '.hidden/x',
      'o/na me',
      'o/x\0',
      'o\\..\\x/y',
      'o/' + 'x'.repeat(101),
    ]) {
      await expect(privateCacheDirs(root, bad), bad).rejects.toThrow(/not of the form owner\/name/);
    }
    expect(existsSync(root)).toBe(false);
  });

  it('refuses a symlink in place of the repository directory', async () => {
    const elsewhere = path.join(tmp, 'elsewhere');
    await fs.mkdir(elsewhere);
    await fs.mkdir(path.join(tmp, 'root', 'octo'), { recursive: true, mode: 0o700 });
    await fs.symlink(elsewhere, path.join(tmp, 'root', 'octo', 'repo'));
    await expect(privateCacheDirs(path.join(tmp, 'root'), 'octo/repo')).rejects.toThrow(/not a directory/);
    expect(await fs.readdir(elsewhere)).toEqual([]);
  });
});

describe('housekeep: sstate', () => {
  const obj = 'sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:11:0123abcd_populate_sysroot.tar.zst';
  const run = (sstate: string, sstateMaxAgeDays = 30) =>
    housekeep(
      { buildsDir: path.join(tmp, 'builds'), caches: { sstate } },
      { sstateMaxAgeDays, workspaceMaxAgeDays: 7 },
      NOW,
    );

  it('removes objects unused for the maximum age with their companions, keeps the rest', async () => {
    const s = path.join(tmp, 'sstate');
    const old = path.join(s, '01', '23', obj);
    for (const p of [old, `${old}.siginfo`, `${old}.sig`]) {
      await write(p, '12345');
      await age(p, 40);
    }
    // Used yesterday: OE-core touched the archive when a setscene task unpacked it.
    const used = path.join(s, '45', '67', obj.replace('0123abcd', '4567abcd'));
    await write(used);
    await write(`${used}.siginfo`);
    await age(`${used}.siginfo`, 40);
    await age(used, 1);
    // One fresh companion keeps the whole object.
    const fresh = path.join(s, '45', '67', obj.replace('0123abcd', '45670000'));
    await write(fresh);
    await age(fresh, 40);
    await write(`${fresh}.siginfo`);
    const other = await write(path.join(s, '45', '67', 'not-sstate'));
    await age(other, 400);
    const top = await write(path.join(s, 'hashserv.db'));
    await age(top, 400);

    const r = await run(s);
    expect(r.sstateRemoved).toBe(1);
    expect(r.sstateBytes).toBe(15);
    for (const p of [old, `${old}.siginfo`, `${old}.sig`]) expect(existsSync(p)).toBe(false);
    for (const p of [used, `${used}.siginfo`, fresh, `${fresh}.siginfo`, other, top]) expect(existsSync(p)).toBe(true);
  });

  it('finds objects under a NATIVELSBSTRING directory, and .tgz and mirror companions', async () => {
    const s = path.join(tmp, 'sstate');
    const a = path.join(s, 'universal', 'ab', 'cd', obj);
    const b = path.join(s, 'ubuntu-24.04', 'ef', '01', obj.replace('.tar.zst', '.tgz'));
    for (const p of [a, `${a}.done`, `${a}.siginfo.done`, b]) {
      await write(p);
      await age(p, 40);
    }
    const r = await run(s);
    expect(r.sstateRemoved).toBe(2);
    expect(await fs.readdir(s)).toEqual(expect.arrayContaining(['universal', 'ubuntu-24.04']));
    expect(await fs.readdir(path.join(s, 'universal'))).toEqual([]);
  });

  it('never touches what a running build is writing, whatever the maximum age', async () => {
    const s = path.join(tmp, 'sstate');
    const dir = path.join(s, '89', 'ab');
    // mktemp ${SSTATE_PKG}.XXXXXXXX (older OE-core) and NamedTemporaryFile(prefix=...) (newer).
    const mktemp = await write(path.join(dir, `${obj}.Xa9QzT2k`));
    await age(mktemp, 0.1);
    const named = await write(path.join(dir, `${obj}k2j_8a0b`));
    await age(named, 0.1);
    const young = await write(path.join(dir, obj.replace('0123abcd', '89ab0000')));
    await age(young, 0.1);
    const r = await run(s, 0);
    expect(r.sstateRemoved).toBe(0);
    for (const p of [mktemp, named, young]) expect(existsSync(p)).toBe(true);
  });

  it('removes a temporary file a killed build left long ago', async () => {
    const s = path.join(tmp, 'sstate');
    const left = await write(path.join(s, '89', 'ab', `${obj}.Xa9QzT2k`));
    await age(left, 40);
    expect((await run(s)).sstateRemoved).toBe(1);
    expect(existsSync(left)).toBe(false);
  });

  it('removes directories it emptied, not ones another build just created or still uses', async () => {
    const s = path.join(tmp, 'sstate');
    for (const p of [path.join(s, '01', '23', obj), path.join(s, '01', '45', obj), path.join(s, '67', '89', obj)]) {
      await write(p);
      await age(p, 40);
    }
    const kept = await write(path.join(s, '67', 'ab', obj)); // in use
    await fs.mkdir(path.join(s, 'cd', 'ef'), { recursive: true }); // just created by a build
    await run(s);
    expect(existsSync(path.join(s, '01'))).toBe(false);
    expect(existsSync(path.join(s, '67', '89'))).toBe(false);
    expect(existsSync(kept)).toBe(true);
    expect(existsSync(path.join(s, 'cd', 'ef'))).toBe(true);
  });

  it('removes an old symlinked object itself, and never follows a symlink out of sstate', async () => {
    const s = path.join(tmp, 'sstate');
    const outside = path.join(tmp, 'outside');
    const target = await write(path.join(outside, '01', '23', obj));
    await age(target, 40);
    await fs.mkdir(s);
    await fs.symlink(path.join(outside, '01'), path.join(s, '01'));
    await fs.mkdir(path.join(s, '45', '67'), { recursive: true });
    const link = path.join(s, '45', '67', obj);
    await fs.symlink(target, link);
    await age(link, 40);
    const r = await run(s);
    expect(r.sstateRemoved).toBe(1);
    expect(existsSync(target)).toBe(true);
    expect((await fs.lstat(path.join(s, '01'))).isSymbolicLink()).toBe(true);
  });

  it('copes with a missing sstate directory', async () => {
    expect(await run(path.join(tmp, 'none'))).toMatchObject({ sstateRemoved: 0, problems: [] });
  });
});

describe('housekeep: build directories', () => {
  let builds: string;
  const run = () =>
    housekeep(
      { buildsDir: builds, caches: { sstate: path.join(tmp, 'sstate') } },
      { sstateMaxAgeDays: 30, workspaceMaxAgeDays: 7 },
      NOW,
    );

  beforeEach(() => {
    builds = path.join(tmp, 'builds');
  });

  /** A build directory as the action leaves it, everything last modified `days` ago. */
  async function workspace(name: string, days: number, lockContent?: string): Promise<string> {
    const dir = path.join(builds, name);
    const files = [
      path.join(dir, 'conf', 'local.conf'),
      path.join(dir, 'tmp', 'log', 'cooker', 'console.log'),
      path.join(dir, '.smidr', 'run-bitbake.sh'),
    ];
    for (const f of files) await write(f);
    if (lockContent !== undefined) await write(path.join(dir, 'bitbake.lock'), lockContent);
    await ageTree(dir, days);
    return dir;
  }

  async function ageTree(p: string, days: number): Promise<void> {
    const st = await fs.lstat(p);
    if (st.isDirectory()) for (const e of await fs.readdir(p)) await ageTree(path.join(p, e), days);
    await age(p, days);
  }

  function deadPid(): number {
    const r = spawnSync(process.execPath, ['-e', '0']);
    return r.pid!;
  }

  it('removes old build directories and keeps recent ones', async () => {
    const old = await workspace('1234-1-build-qemux86-64-0123abcd', 10);
    const recent = await workspace('1234-2-build-qemux86-64-4567abcd', 2);
    const r = await run();
    expect(r.workspacesRemoved).toEqual([old]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(await fs.readdir(builds)).toEqual([path.basename(recent)]);
  });

  it("removes a removed build's TMPDIR directory under directories.tmp, and only that", async () => {
    const tmpDirs = path.join(tmp, 'fast-tmp');
    const old = await workspace('1234-1-build-qemux86-64-0123abcd', 10);
    const recent = await workspace('1234-2-build-qemux86-64-4567abcd', 2);
    for (const w of [old, recent]) await write(path.join(tmpDirs, path.basename(w), 'tmp', 'deploy', 'x.ext4'));
    await write(path.join(tmpDirs, 'not-a-build', 'keep'));
    const r = await housekeep(
      { buildsDir: builds, caches: { sstate: path.join(tmp, 'sstate') }, tmpDirs },
      { sstateMaxAgeDays: 30, workspaceMaxAgeDays: 7 },
      NOW,
    );
    expect(r.workspacesRemoved).toEqual([old, path.join(tmpDirs, path.basename(old))]);
    expect((await fs.readdir(tmpDirs)).sort()).toEqual([path.basename(recent), 'not-a-build']);
  });

  it('judges age by the directory, its tmp/ and conf/ and their entries', async () => {
    const dir = await workspace('1234-1-build-qemux86-64-0123abcd', 10);
    await age(path.join(dir, 'tmp', 'log'), 1);
    expect((await run()).workspacesRemoved).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('leaves alone what is not a build directory of this action, and symlinks', async () => {
    const notOurs = await workspace('my-notes', 30);
    const noConf = path.join(builds, 'something-0123abcd');
    await write(path.join(noConf, 'file'));
    await ageTree(noConf, 30);
    const outside = path.join(tmp, 'outside', 'x-89abcdef');
    await write(path.join(outside, 'conf', 'local.conf'));
    await ageTree(outside, 30);
    await fs.symlink(outside, path.join(builds, 'x-89abcdef'));
    const r = await run();
    expect(r.workspacesRemoved).toEqual([]);
    for (const p of [notOurs, noConf, path.join(outside, 'conf', 'local.conf'), path.join(builds, 'x-89abcdef')])
      expect(existsSync(p)).toBe(true);
  });

  it('removes a build directory whose BitBake died, leaving its lock behind', async () => {
    const dir = await workspace('1234-1-build-qemux86-64-0123abcd', 10, `${deadPid()}\n`);
    expect((await run()).workspacesRemoved).toEqual([dir]);
  });

  it.runIf(existsSync('/proc/locks') && spawnSync('flock', ['--version']).status === 0)(
    'keeps a build directory whose bitbake.lock is held',
    async () => {
      const dir = await workspace('1234-1-build-qemux86-64-0123abcd', 10, '57 localhost:0\n');
      const lock = path.join(dir, 'bitbake.lock');
      // Its own process group, so that sleep goes too.
      const holder = spawn('flock', [lock, 'sleep', '60'], { stdio: 'ignore', detached: true });
      try {
        const ino = (await fs.stat(lock)).ino;
        for (let i = 0; i < 100 && !lockedInodes(await fs.readFile('/proc/locks', 'utf8')).has(ino); i++)
          await new Promise((r) => setTimeout(r, 20));
        await age(dir, 10);
        const r = await run();
        expect(r.skippedInUse).toEqual([dir]);
        expect(existsSync(dir)).toBe(true);
      } finally {
        process.kill(-holder.pid!, 'SIGTERM');
      }
    },
  );

  it('keeps a build directory whose build container still runs', async () => {
    const bin = path.join(tmp, 'bin');
    // A docker that knows one running build container.
    await write(
      path.join(bin, 'docker'),
      '#!/bin/sh\n[ "$3" = "label=org.smidr.build=1234-1-build-qemux86-64-0123abcd" ] && echo 0f1e2d3c4b5a\nexit 0\n',
    );
    await fs.chmod(path.join(bin, 'docker'), 0o755);
    const running = await workspace('1234-1-build-qemux86-64-0123abcd', 10);
    const gone = await workspace('1234-2-build-qemux86-64-4567abcd', 10);
    const saved = process.env.PATH;
    process.env.PATH = `${bin}${path.delimiter}${saved}`;
    try {
      const r = await run();
      expect(r.skippedInUse).toEqual([running]);
      expect(r.workspacesRemoved).toEqual([gone]);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('finishes a removal that was cut short', async () => {
    const trash = path.join(builds, '.smidr-trash-1234-1-build-qemux86-64-0123abcd');
    await write(path.join(trash, 'tmp', 'work', 'x'));
    const r = await run();
    expect(r.workspacesRemoved).toEqual([path.join(builds, '1234-1-build-qemux86-64-0123abcd')]);
    expect(await fs.readdir(builds)).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('removes read-only directories inside a build directory', async () => {
    const dir = await workspace('1234-1-build-qemux86-64-0123abcd', 10);
    const mod = path.join(dir, 'tmp', 'work', 'go', 'pkg', 'mod', 'x@v1');
    await write(path.join(mod, 'go.mod'));
    await fs.chmod(mod, 0o555);
    await fs.chmod(path.dirname(mod), 0o555);
    await ageTree(dir, 10);
    const r = await run();
    expect(r.problems).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it('copes with a missing builds directory', async () => {
    expect(await run()).toMatchObject({ workspacesRemoved: [], skippedInUse: [], problems: [] });
  });
});

describe('bitbakeRunning', () => {
  const noProcLocks = async () => undefined;

  it('without /proc/locks, trusts the pid BitBake wrote', async () => {
    await write(path.join(tmp, 'bitbake.lock'), `${process.pid} localhost:0\n`);
    expect(await bitbakeRunning(tmp, noProcLocks)).toBe(true);
    await write(path.join(tmp, 'bitbake.lock'), `${spawnSync(process.execPath, ['-e', '0']).pid}\n`);
    expect(await bitbakeRunning(tmp, noProcLocks)).toBe(false);
    // Locked, the pid not written yet.
    await write(path.join(tmp, 'bitbake.lock'), '');
    expect(await bitbakeRunning(tmp, noProcLocks)).toBe(true);
  });

  it('with /proc/locks, goes by the lock: a pid from a container namespace means nothing here', async () => {
    const ino = (await fs.stat(await write(path.join(tmp, 'bitbake.lock'), `${process.pid}\n`))).ino;
    expect(await bitbakeRunning(tmp, async () => `1: FLOCK  ADVISORY  WRITE 4102 fe:00:${ino} 0 EOF\n`)).toBe(true);
    expect(await bitbakeRunning(tmp, async () => `1: FLOCK  ADVISORY  WRITE 4102 fe:00:${ino + 1} 0 EOF\n`)).toBe(
      false,
    );
  });

  it('is false without a lock', async () => {
    expect(await bitbakeRunning(tmp, noProcLocks)).toBe(false);
  });
});

describe('lockedInodes', () => {
  it('reads the inode of every lock and waiter', () => {
    const table =
      '1: FLOCK  ADVISORY  WRITE 4102 fe:00:1507790 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 4200 fe:00:1507790 0 EOF\n2: POSIX  ADVISORY  READ 99 103:02:42 128 128\n';
    expect([...lockedInodes(table)]).toEqual([1507790, 42]);
  });
});
