/** Real git repositories made from fixture trees, served as layer remotes by file:// URL. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Smidr Test',
  GIT_AUTHOR_EMAIL: 'test@smidr.invalid',
  GIT_COMMITTER_NAME: 'Smidr Test',
  GIT_COMMITTER_EMAIL: 'test@smidr.invalid',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export class GitRemote {
  /** The bare repository the action clones from. */
  readonly bare: string;
  /** A working clone the test edits and pushes from. */
  readonly work: string;

  constructor(
    root: string,
    readonly name: string,
    readonly branch = 'main',
  ) {
    this.bare = path.join(root, `${name}.git`);
    this.work = path.join(root, `${name}.work`);
  }

  get url(): string {
    return `file://${this.bare}`;
  }

  /** Creates the remote with the fixture tree as its first commit. */
  static create(root: string, name: string, fixture: string, branch = 'main'): GitRemote {
    const r = new GitRemote(root, name, branch);
    rmSync(r.work, { recursive: true, force: true });
    rmSync(r.bare, { recursive: true, force: true });
    mkdirSync(r.work, { recursive: true });
    cpSync(fixture, r.work, { recursive: true });
    git(r.work, 'init', '-q', '-b', branch);
    git(r.work, 'add', '-A');
    git(r.work, 'commit', '-q', '-m', `${name}: initial`);
    git(root, 'clone', '-q', '--bare', r.work, r.bare);
    git(r.work, 'remote', 'add', 'origin', r.bare);
    return r;
  }

  /**
   * Serves one branch of an existing checkout (BitBake, OE-core) as a remote, with its real
   * history: a bare clone sharing the checkout's objects, so it costs no copy. It has no
   * working clone, so `commit` is not for it.
   */
  static mirror(root: string, name: string, checkout: string, branch: string): GitRemote {
    const r = new GitRemote(root, name, branch);
    rmSync(r.bare, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    git(root, 'clone', '-q', '--bare', '--shared', '--single-branch', '--branch', branch, checkout, r.bare);
    return r;
  }

  /** Writes (or, with null, deletes) files, commits, pushes; returns the new commit. */
  commit(files: Record<string, string | null>, message = 'change'): string {
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(this.work, file);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    git(this.work, 'add', '-A');
    git(this.work, 'commit', '-q', '-m', message);
    git(this.work, 'push', '-q', 'origin', `HEAD:${this.branch}`);
    return this.head();
  }

  tag(name: string): void {
    git(this.work, 'tag', name);
    git(this.work, 'push', '-q', 'origin', name);
  }

  head(): string {
    return git(this.work, 'rev-parse', 'HEAD');
  }
}

/** A repository that is its own working tree: the GITHUB_WORKSPACE of a job. */
export function makeWorkspaceRepo(
  dir: string,
  files: Record<string, string>,
  fixtures: Record<string, string> = {},
): string {
  mkdirSync(dir, { recursive: true });
  for (const [target, source] of Object.entries(fixtures)) cpSync(source, path.join(dir, target), { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'workspace');
  return git(dir, 'rev-parse', 'HEAD');
}
