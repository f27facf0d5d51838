/** Runs git with argument arrays (never a shell) and without ever prompting for credentials. */
import * as exec from '@actions/exec';

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Options that keep git non-interactive and refuse transports that run commands. */
const SAFE = ['-c', 'protocol.ext.allow=never', '-c', 'advice.detachedHead=false'];

export async function git(args: string[], cwd?: string): Promise<string> {
  const out = await exec.getExecOutput('git', [...SAFE, ...args], {
    cwd,
    silent: true,
    ignoreReturnCode: true,
    env: { ...stringEnv(process.env), GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' },
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

export function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function lastLines(text: string, n: number): string {
  return text.split('\n').slice(-n).join(' / ');
}
