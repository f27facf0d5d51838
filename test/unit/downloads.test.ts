import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { downloadNames, removeUnarchivableDownloads } from '../../src/cache/downloads.js';

function dlDir(files: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-'));
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    if (f.endsWith('/')) mkdirSync(path.join(dir, f), { recursive: true });
    else writeFileSync(path.join(dir, f), 'x');
  }
  return dir;
}

/** A DL_DIR the way BitBake's fetchers leave it after a build. */
const complete = [
  'zlib-1.3.1.tar.xz',
  'zlib-1.3.1.tar.xz.done',
  // git: the bare clone's stamp sits beside the clone directory
  'git2/github.com.madler.zlib.git/HEAD',
  'git2/github.com.madler.zlib.git/objects/pack/pack-1.pack',
  'git2/github.com.madler.zlib.git/refs/tags/',
  'git2/github.com.madler.zlib.git.done',
  'git2_github.com.madler.zlib.git.tar.gz',
  'git2_github.com.madler.zlib.git.tar.gz.done',
  // uninative: a nested download with its stamp beside it
  'uninative/5ec5a9276046e7eceeac749a18b175667384e1f445cd4526300a41404d985a5b/x86_64-nativesdk-libc-4.4.tar.xz',
  'uninative/5ec5a9276046e7eceeac749a18b175667384e1f445cd4526300a41404d985a5b/x86_64-nativesdk-libc-4.4.tar.xz.done',
  // npm: the tarball is stamped, its .resolved side file is not, and is needed
  'npm2/array-flatten-1.1.1.tgz',
  'npm2/array-flatten-1.1.1.tgz.done',
  'npm2/array-flatten-1.1.1.tgz.resolved',
  // svn: a checkout (files without stamps) and its stamped tarball
  'svn/svn.example.org/trunk/module/main.c',
  'trunk_svn.example.org_module_1234_.tar.gz',
  'trunk_svn.example.org_module_1234_.tar.gz.done',
];

describe('downloads', () => {
  it('lists completed downloads by their .done stamps, nested ones too, sorted', async () => {
    const dir = dlDir([...complete, 'partial.tar.gz']);
    expect(await downloadNames(dir)).toEqual([
      'git2/github.com.madler.zlib.git.done',
      'git2_github.com.madler.zlib.git.tar.gz.done',
      'npm2/array-flatten-1.1.1.tgz.done',
      'trunk_svn.example.org_module_1234_.tar.gz.done',
      'uninative/5ec5a9276046e7eceeac749a18b175667384e1f445cd4526300a41404d985a5b/x86_64-nativesdk-libc-4.4.tar.xz.done',
      'zlib-1.3.1.tar.xz.done',
    ]);
    expect(await downloadNames(path.join(dir, 'missing'))).toEqual([]);
  });

  it('keeps a complete DL_DIR as it is', async () => {
    const dir = dlDir(complete);
    expect(await removeUnarchivableDownloads(dir)).toEqual([]);
    for (const f of complete) expect(existsSync(path.join(dir, f)), f).toBe(true);
  });

  it('removes locks anywhere, and partial downloads and temporary files where fetchers write them', async () => {
    const leftovers = [
      'zlib-1.3.1.tar.xz.lock',
      'busybox-1.36.1.tar.bz2', // no stamp: interrupted
      'busybox-1.36.1.tar.bz2.tmp', // wget's download in progress
      'openssl-3.2.tar.gz_bad-checksum_0123abcd', // renamed by the fetcher after a checksum mismatch
      'tmpq1w2_e3r', // the git fetcher's mirror tarball in progress
      'git2/github.com.madler.zlib.git.lock',
      'git2/github.com.madler.zlib.git/shallow.lock', // git's own, from a killed fetch
      'uninative/5ec5a9276046e7eceeac749a18b175667384e1f445cd4526300a41404d985a5b/x86_64-nativesdk-libc-4.5.tar.xz.tmp',
    ];
    const dir = dlDir([...complete, ...leftovers, 'tmpa1b2c3d4/git/HEAD']);
    const removed = await removeUnarchivableDownloads(dir);
    expect(removed.sort()).toEqual([...leftovers, 'tmpa1b2c3d4'].sort());
    for (const f of complete) expect(existsSync(path.join(dir, f)), f).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(
      complete
        .filter((f) => !f.includes('/'))
        .concat(['git2', 'npm2', 'svn', 'uninative'])
        .sort(),
    );
  });

  it('treats a file:// mirror symlink like a file: stamped it stays, unstamped it goes', async () => {
    const mirror = dlDir(['a.tar.gz', 'b.tar.gz']);
    const dir = dlDir(['a.tar.gz.done']);
    symlinkSync(path.join(mirror, 'a.tar.gz'), path.join(dir, 'a.tar.gz'));
    symlinkSync(path.join(mirror, 'b.tar.gz'), path.join(dir, 'b.tar.gz'));
    expect(await removeUnarchivableDownloads(dir)).toEqual(['b.tar.gz']);
    expect(await downloadNames(dir)).toEqual(['a.tar.gz.done']);
  });
});
