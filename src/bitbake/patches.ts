/**
 * kas repo patches (kas/repos.py, apply_patches_async): patch files or quilt directories (their
 * `series`), applied in order with `git apply` and committed one by one, as kas does. The patched
 * tree is its own immutable entry in the layer store, beside the unpatched checkout and keyed by
 * the commit and the patches' content, so a patched and an unpatched use of one commit never share
 * a directory, and the same patches on the same commit are applied once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { LayerConfig } from '../config/config.js';
import { ConfigError, GitError } from '../util/errors.js';
import { log } from '../util/log.js';
import { git } from './git.js';

export interface PatchFile {
  /** The kas patch entry it came from. */
  id: string;
  file: string;
  content: Buffer;
}

/** The files a layer's patch entries name, in the order they are applied. */
export async function patchFiles(layer: LayerConfig, dirs: ReadonlyMap<string, string>): Promise<PatchFile[]> {
  const out: PatchFile[] = [];
  for (const p of layer.patches ?? []) {
    const where = `layer '${layer.name}': patch ${p.id}`;
    const root = dirs.get(p.repo);
    if (root === undefined) throw new ConfigError(`${where}: repository '${p.repo}' is not a layer of this build`);
    const target = path.join(root, p.path);
    const stat = await fs.stat(target).catch(() => undefined);
    if (stat?.isFile()) out.push({ id: p.id, file: target, content: await fs.readFile(target) });
    else if (stat?.isDirectory() && existsSync(path.join(target, 'series'))) {
      for (const line of (await fs.readFile(path.join(target, 'series'), 'utf8')).split('\n')) {
        const name = line.split(' #')[0]!.trim();
        if (line.startsWith('#') || name === '') continue;
        const file = path.join(target, name);
        if (path.relative(target, file).startsWith('..'))
          throw new ConfigError(`${where}: series entry ${JSON.stringify(name)} leaves ${p.path}`);
        const content = await fs.readFile(file).catch(() => undefined);
        if (!content)
          throw new ConfigError(`${where}: ${p.path}/series names ${name}, which is not a file in '${p.repo}'`);
        out.push({ id: p.id, file, content });
      }
    } else {
      throw new ConfigError(
        `${where}: ${p.path} is neither a patch file nor a quilt directory (with a series file) in '${p.repo}'; expected a path relative to that repository`,
      );
    }
  }
  return out;
}

/** What names a patched tree: the patch entries and every patch's content, in order. */
export function patchDigest(patches: PatchFile[]): string {
  const h = createHash('sha256');
  for (const p of patches) h.update(`${p.id}\0${path.basename(p.file)}\0${p.content.length}\0`).update(p.content);
  return h.digest('hex').slice(0, 16);
}

/**
 * A patched copy of an unpatched checkout, at `<checkout>-patched-<digest>` beside it. `complete`
 * names the marker file an entry gets last; an entry without it is an interrupted one.
 */
export async function patchedCheckout(
  name: string,
  base: { dir: string; commit: string },
  patches: PatchFile[],
  complete: string,
): Promise<{ dir: string; digest: string }> {
  const digest = patchDigest(patches);
  const dir = `${base.dir}-patched-${digest}`;
  if (existsSync(path.join(dir, complete))) {
    log.info(`${name}: reusing patched checkout ${path.basename(dir)}`);
    return { dir, digest };
  }
  const tmp = path.join(path.dirname(base.dir), `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await git(['clone', '-q', '--local', '--no-checkout', '--', base.dir, tmp]);
    await git(['-c', 'core.hooksPath=/dev/null', 'checkout', '-q', '--detach', base.commit], tmp);
    // Deterministic commits: the same patches on the same commit give the same tree and history.
    const date = await git(['log', '-1', '--format=%cI', base.commit], tmp);
    for (const p of patches) {
      try {
        await git(['apply', '--whitespace=nowarn', p.file], tmp);
      } catch (e) {
        const why = e instanceof GitError ? e.stderr.split('\n').slice(0, 3).join(' / ') : String(e);
        throw new ConfigError(
          `layer '${name}': patch ${p.id} (${p.file}) does not apply to ${base.commit.slice(0, 12)}: ${why}; expected a patch made against that commit`,
        );
      }
      await git(['add', '-A'], tmp);
      const identity = ['-c', 'user.name=kas', '-c', 'user.email=kas@example.com', '-c', 'core.hooksPath=/dev/null'];
      const message = `kas: ${p.id}\n\npatch ${path.basename(p.file)} applied by smidr/build-action as kas applies it`;
      await git([...identity, 'commit', '-q', '--no-verify', '--allow-empty', '-m', message, `--date=${date}`], tmp, {
        GIT_COMMITTER_DATE: date,
      });
      log.info(`${name}: applied patch ${p.id} (${path.basename(p.file)})`);
    }
    await fs.writeFile(path.join(tmp, complete), `${base.commit}\npatched ${digest}\n`);
    try {
      await fs.rename(tmp, dir);
    } catch (e) {
      // Another build placed the same entry first: it is identical, keep it.
      if (!existsSync(path.join(dir, complete))) throw e;
    }
    return { dir, digest };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
