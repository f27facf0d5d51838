/**
 * test/fixtures/meta-smidr-real as the real tier uses it: a copy of the layer with the git
 * repository smidr-real-app fetches added inside it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Fixed names and dates: the source repository's commit is always the SRCREV the recipe names. */
export const FIXED_GIT_ENV = {
  GIT_AUTHOR_NAME: 'Smidr Test',
  GIT_AUTHOR_EMAIL: 'test@smidr.invalid',
  GIT_COMMITTER_NAME: 'Smidr Test',
  GIT_COMMITTER_EMAIL: 'test@smidr.invalid',
  GIT_AUTHOR_DATE: '2025-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2025-01-01T00:00:00Z',
};

export function fixedGit(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...FIXED_GIT_ENV }, encoding: 'utf8' });
}

/**
 * Creates `<layerDir>/sources/smidr-real-src.git`, the bare repository smidr-real-app fetches
 * (`protocol=file`). Pushed rather than cloned: the branch becomes a file under refs/, which git
 * commits (it does not commit empty directories, and a repository without refs/ is no repository).
 */
export function createSourceRepo(layerDir: string): void {
  const work = path.join(layerDir, '..', 'smidr-real-src.work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(work, 'src.txt'), 'smidr-real-src 1.0\n');
  fixedGit(work, 'init', '-q', '-b', 'main');
  fixedGit(work, 'add', '-A');
  fixedGit(work, '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'smidr-real-src 1.0');
  const bare = path.join(layerDir, 'sources', 'smidr-real-src.git');
  fixedGit(layerDir, 'init', '-q', '--bare', bare);
  fixedGit(work, 'push', '-q', bare, 'main');
  rmSync(work, { recursive: true, force: true });
}
