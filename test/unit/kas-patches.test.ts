/**
 * kas repo patches in the layer store, with real git: a patched checkout is its own entry, keyed
 * by the commit and the patches' content, and the unpatched checkout of the commit stays as it was.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { checkoutLayers } from '../../src/bitbake/layers.js';
import type { LayerConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/util/errors.js';
import { git, GitRemote } from '../support/git-remotes.js';

let root: string;
let layer: GitRemote;
let patchesRepo: string;
let commit: string;

const DIFF = (from: string, to: string) =>
  [
    'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001',
    'From: Dev <dev@example.com>',
    'Date: Tue, 1 Dec 2026 10:00:00 +0000',
    `Subject: [PATCH] ${to}`,
    '',
    '---',
    'diff --git a/recipes/hello.bb b/recipes/hello.bb',
    '--- a/recipes/hello.bb',
    '+++ b/recipes/hello.bb',
    '@@ -1 +1 @@',
    `-${from}`,
    `+${to}`,
    '',
  ].join('\n');

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'kas-patches-'));
  const fixture = path.join(root, 'fixture');
  mkdirSync(path.join(fixture, 'conf'), { recursive: true });
  mkdirSync(path.join(fixture, 'recipes'), { recursive: true });
  writeFileSync(path.join(fixture, 'conf', 'layer.conf'), 'BBFILE_COLLECTIONS += "x"\n');
  writeFileSync(path.join(fixture, 'recipes', 'hello.bb'), 'SUMMARY = "one"\n');
  layer = GitRemote.create(path.join(root, 'remotes'), 'meta-x', fixture);
  commit = layer.head();
  patchesRepo = path.join(root, 'project');
  mkdirSync(path.join(patchesRepo, 'patches', 'quilt'), { recursive: true });
  writeFileSync(
    path.join(patchesRepo, 'patches', 'quilt', 'series'),
    '# comment\n0001-two.patch\n0002-three.patch # why\n',
  );
  writeFileSync(
    path.join(patchesRepo, 'patches', 'quilt', '0001-two.patch'),
    DIFF('SUMMARY = "one"', 'SUMMARY = "two"'),
  );
  writeFileSync(
    path.join(patchesRepo, 'patches', 'quilt', '0002-three.patch'),
    DIFF('SUMMARY = "two"', 'SUMMARY = "three"'),
  );
  writeFileSync(path.join(patchesRepo, 'patches', 'four.patch'), DIFF('SUMMARY = "three"', 'SUMMARY = "four"'));
  writeFileSync(path.join(patchesRepo, 'patches', 'bad.patch'), DIFF('SUMMARY = "nope"', 'SUMMARY = "x"'));
  git(patchesRepo, 'init', '-q', '-b', 'main');
  git(patchesRepo, 'add', '-A');
  git(patchesRepo, 'commit', '-q', '-m', 'project');
});

function layers(patches: LayerConfig['patches']): LayerConfig[] {
  return [
    { name: 'project', source: { kind: 'path', path: '.' }, sublayers: [] },
    { name: 'meta-x', source: { kind: 'git', url: layer.url, commit }, sublayers: ['.'], ...(patches && { patches }) },
  ];
}

describe('kas patches', () => {
  it('applies a quilt series and a patch file in order, into a store entry of its own', async () => {
    const store = path.join(root, 'store1');
    const plain = await checkoutLayers(layers(undefined), store, patchesRepo);
    const patched = await checkoutLayers(
      layers([
        { id: '01', repo: 'project', path: 'patches/quilt' },
        { id: '02', repo: 'project', path: 'patches/four.patch' },
      ]),
      store,
      patchesRepo,
    );
    const p = patched[1]!;
    expect(p.commit).toBe(commit);
    expect(p.dir).not.toBe(plain[1]!.dir);
    expect(p.dir.startsWith(`${plain[1]!.dir}-patched-`)).toBe(true);
    expect(readFileSync(path.join(p.dir, 'recipes', 'hello.bb'), 'utf8')).toBe('SUMMARY = "four"\n');
    expect(readFileSync(path.join(plain[1]!.dir, 'recipes', 'hello.bb'), 'utf8')).toBe('SUMMARY = "one"\n');
    expect(p.patches?.ids).toEqual(['01', '02']);
    // Committed one by one, as kas does, so the tree is clean and its history says what was applied.
    expect(git(p.dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(git(p.dir, 'log', '--format=%s', `${commit}..HEAD`).split('\n')).toEqual(['kas: 02', 'kas: 01', 'kas: 01']);

    // The same patches again: the same entry, reused.
    const again = await checkoutLayers(
      layers([
        { id: '01', repo: 'project', path: 'patches/quilt' },
        { id: '02', repo: 'project', path: 'patches/four.patch' },
      ]),
      store,
      patchesRepo,
    );
    expect(again[1]!.dir).toBe(p.dir);
    // Other patches on the same commit: another entry.
    const fewer = await checkoutLayers(
      layers([{ id: '01', repo: 'project', path: 'patches/quilt' }]),
      store,
      patchesRepo,
    );
    expect(fewer[1]!.dir).not.toBe(p.dir);
    expect(readFileSync(path.join(fewer[1]!.dir, 'recipes', 'hello.bb'), 'utf8')).toBe('SUMMARY = "three"\n');
  });

  it('says which patch does not apply, and leaves no entry behind', async () => {
    const store = path.join(root, 'store2');
    const run = checkoutLayers(layers([{ id: 'x', repo: 'project', path: 'patches/bad.patch' }]), store, patchesRepo);
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    await expect(run).rejects.toThrow(/layer 'meta-x': patch x \(.*bad\.patch\) does not apply to [0-9a-f]{12}/);
    const home = path.dirname((await checkoutLayers(layers(undefined), store, patchesRepo))[1]!.dir);
    expect(existsSync(home)).toBe(true);
    expect(
      (await import('node:fs')).readdirSync(home).filter((e) => e.includes('patched') || e.startsWith('.tmp')),
    ).toEqual([]);
  });

  it('names a patch path that is neither a file nor a quilt directory', async () => {
    const run = checkoutLayers(
      layers([{ id: 'y', repo: 'project', path: 'patches/missing' }]),
      path.join(root, 'store3'),
      patchesRepo,
    );
    await expect(run).rejects.toThrow(/patch y: patches\/missing is neither a patch file nor a quilt directory/);
  });
});
