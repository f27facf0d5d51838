/** Runs git with argument arrays (never a shell) and without ever prompting for credentials. */
import * as exec from '@actions/exec';

import { stringEnv } from '../util/env.js';
import { GitError } from '../util/errors.js';
import { log } from '../util/log.js';
import { withRetry } from '../util/retry.js';
import { shownUrl } from '../util/url.js';
import { GIT_RETRY_DELAYS_MS, transientGitFailure } from './git-transient.js';

/** Options that keep git non-interactive and refuse transports that run commands. */
const SAFE = ['-c', 'protocol.ext.allow=never', '-c', 'advice.detachedHead=false'];

export async function git(args: string[], cwd?: string, env: Record<string, string> = {}): Promise<string> {
  const shown = `git ${args.map(shownUrl).join(' ')}`;
  log.debug(cwd ? `${shown} (in ${cwd})` : shown);
  const out = await exec.getExecOutput('git', [...SAFE, ...args], {
    cwd,
    silent: true,
    ignoreReturnCode: true,
    env: { ...stringEnv(process.env), ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' },
  });
  if (out.exitCode !== 0) {
    const stderr = out.stderr.trim();
    throw new GitError(`${shown} failed: ${lastLines(stderr, 3)}`, stderr);
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

/**
 * git talking to a remote (ls-remote, fetch, clone): a passing network failure (a timeout, a
 * dropped connection, an HTTP 5xx) is retried with growing pauses, each retry logged; any other
 * failure is thrown at once, as git() throws it.
 */
export async function gitRemote(args: string[], cwd?: string, delaysMs = GIT_RETRY_DELAYS_MS): Promise<string> {
  return withRetry(() => git(args, cwd), {
    delaysMs,
    transient: (e) => (e instanceof GitError ? transientGitFailure(e.stderr) : undefined),
    onRetry: (attempt, reason, delayMs, e) =>
      log.warning(
        `git ${args[0]} failed (${reason}: ${lastLines((e as GitError).stderr, 1)}); ` +
          `attempt ${attempt} of ${delaysMs.length + 1}, trying again in ${Math.round(delayMs / 1000)} s`,
      ),
  });
}

/** gitRemote that answers whether it worked: transient failures are retried first. */
export async function gitRemoteOk(args: string[], cwd?: string): Promise<boolean> {
  try {
    await gitRemote(args, cwd);
    return true;
  } catch (e) {
    if (e instanceof GitError) return false;
    throw e;
  }
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' / ');
}
