/** Runs git with argument arrays (never a shell) and without ever prompting for credentials. */
import * as exec from '@actions/exec';

import { stringEnv } from '../util/env.js';
import { GitError } from '../util/errors.js';

/** Options that keep git non-interactive and refuse transports that run commands. */
const SAFE = ['-c', 'protocol.ext.allow=never', '-c', 'advice.detachedHead=false'];

export async function git(args: string[], cwd?: string, env: Record<string, string> = {}): Promise<string> {
  const out = await exec.getExecOutput('git', [...SAFE, ...args], {
    cwd,
    silent: true,
    ignoreReturnCode: true,
    env: { ...stringEnv(process.env), ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' },
  });
  if (out.exitCode !== 0) {
    const stderr = out.stderr.trim();
    throw new GitError(`git ${args.join(' ')} failed: ${lastLines(stderr, 3)}`, stderr);
  }
  return out.stdout.trim();
}

export async function gitOk(args: string[], cwd?: string): Promise<boolean> {
  try {
    await git(args, cwd);
    return true;
  } catch (e) {
    if (e instanceof GitError) return false;
    throw e;
  }
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' / ');
}
