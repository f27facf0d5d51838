import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { CacheDirs } from '../../src/bitbake/workspace.js';
import { stage, stagingEntry, unstage } from '../../src/cache/entries.js';
import { walk } from '../../src/util/fs.js';

let root: string;
let dirs: CacheDirs;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'smidr-entries-'));
  dirs = { sstate: `${root}/sstate-cache`, downloads: `${root}/downloads`, hashserv: `${root}/hashserv` };
  for (const d of Object.values(dirs)) mkdirSync(d);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Writes files (path relative to the root → content) into a part's staging directory, as a restore unpacks them. */
function unpacked(kind: 'base' | 'delta', files: Record<string, string>): void {
  const entry = stagingEntry(dirs, 'machine', kind);
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(entry.root, entry.paths[0]!, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

function files(): Record<string, string> {
  const out: Record<string, string> = {};
  walk(root, ({ rel, dirent }) => {
    if (!dirent.isDirectory()) out[rel] = readFileSync(path.join(root, rel), 'utf8');
  });
  return out;
}

describe('unstage', () => {
  it('moves a base into emptied cache directories whole: its directories are the ones it unpacked', () => {
    unpacked('base', { 'sstate-cache/ab/cd/sstate:a.tar.zst': 'a', 'hashserv/hashserv.db': 'db 1' });
    const staged = statSync(path.join(root, 'entries/machine-base/sstate-cache/ab')).ino;
    unstage(stagingEntry(dirs, 'machine', 'base'));
    expect(statSync(path.join(dirs.sstate, 'ab')).ino).toBe(staged);
    expect(files()).toEqual({ 'sstate-cache/ab/cd/sstate:a.tar.zst': 'a', 'hashserv/hashserv.db': 'db 1' });
  });

  it('merges a delta into the base where both have a directory; its copy of a file wins', () => {
    unpacked('base', {
      'sstate-cache/ab/cd/sstate:a.tar.zst': 'a',
      'sstate-cache/universal/ef/01/sstate:n.tar.zst': 'n',
      'hashserv/hashserv.db': 'db 1',
    });
    unstage(stagingEntry(dirs, 'machine', 'base'));
    unpacked('delta', {
      'sstate-cache/ab/cd/sstate:b.tar.zst': 'b',
      'sstate-cache/ab/99/sstate:c.tar.zst': 'c',
      'hashserv/hashserv.db': 'db 2',
    });
    unstage(stagingEntry(dirs, 'machine', 'delta'));
    expect(files()).toEqual({
      'sstate-cache/ab/99/sstate:c.tar.zst': 'c',
      'sstate-cache/ab/cd/sstate:a.tar.zst': 'a',
      'sstate-cache/ab/cd/sstate:b.tar.zst': 'b',
      'sstate-cache/universal/ef/01/sstate:n.tar.zst': 'n',
      'hashserv/hashserv.db': 'db 2',
    });
  });

  it('round trip: what stage links in is what unstage puts back, and the staging directory is gone', () => {
    mkdirSync(path.join(dirs.sstate, 'ab/cd'), { recursive: true });
    writeFileSync(path.join(dirs.sstate, 'ab/cd/sstate:a.tar.zst'), 'a');
    writeFileSync(path.join(dirs.sstate, 'ab/cd/sstate:a.tar.zst.siginfo'), 's');
    const entry = stagingEntry(dirs, 'machine', 'base');
    stage(entry, [
      {
        name: 'ab/cd/sstate:a.tar.zst',
        bytes: 2,
        files: ['sstate-cache/ab/cd/sstate:a.tar.zst', 'sstate-cache/ab/cd/sstate:a.tar.zst.siginfo'],
      },
    ]);
    // Linked, not copied.
    expect(statSync(path.join(dirs.sstate, 'ab/cd/sstate:a.tar.zst')).nlink).toBe(2);
    rmSync(dirs.sstate, { recursive: true });
    mkdirSync(dirs.sstate);
    unstage(entry);
    expect(files()).toEqual({
      'sstate-cache/ab/cd/sstate:a.tar.zst': 'a',
      'sstate-cache/ab/cd/sstate:a.tar.zst.siginfo': 's',
    });
  });
});
