/**
 * Runs the bundled action the way the GitHub runner does: `node dist/main.js` with INPUT_* and the
 * runner's files (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY), then `node dist/post.js` with
 * the saved state replayed as STATE_* variables.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StepResult {
  exitCode: number;
  stdout: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  /** `::error ...::message` and `::warning ...::message` lines. */
  annotations: string[];
}

export interface RunnerEnv {
  /** The checked-out repository (GITHUB_WORKSPACE). */
  workspace: string;
  /** A directory for this job: RUNNER_TEMP, the runner files and the tool cache go below it. */
  jobDir: string;
  inputs: Record<string, string>;
  env?: Record<string, string>;
  runId?: string;
  job?: string;
  eventName?: string;
  /**
   * RUNNER_TEMP. GitHub-hosted runners use the same path on every machine, and the cache
   * version hashes the cached paths, so jobs that share caches must share this path. Default:
   * one under jobDir.
   */
  runnerTemp?: string;
  /**
   * Run the steps as this user rather than as the test process's (a hosted runner's `runner`,
   * uid 1001, when the tests run as root). Its files (RUNNER_TEMP, the runner files) become its own.
   */
  user?: RunnerUser;
}

export interface RunnerUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Parses the `name<<delimiter` file format the runner uses for outputs and state. */
export function parseRunnerFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]!);
      out[m[1]!] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const [k, ...v] = lines[i]!.split('=');
      out[k!] = v.join('=');
    }
  }
  return out;
}

function runnerEnv(r: RunnerEnv, step: 'main' | 'post', state: Record<string, string>): Record<string, string> {
  const files = path.join(r.jobDir, 'runner-files');
  mkdirSync(files, { recursive: true });
  const file = (name: string) => {
    const f = path.join(files, `${step}-${name}`);
    writeFileSync(f, '');
    return f;
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    // A host TMPDIR the build must never see.
    TMPDIR: path.join(r.jobDir, 'host-tmpdir'),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: r.workspace,
    GITHUB_RUN_ID: r.runId ?? '1000',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: r.job ?? 'build',
    GITHUB_EVENT_NAME: r.eventName ?? 'push',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REPOSITORY: 'smidr/example',
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: r.runnerTemp ?? path.join(r.jobDir, 'runner-temp'),
    RUNNER_TOOL_CACHE: path.join(r.jobDir, 'tool-cache'),
    GITHUB_OUTPUT: file('output'),
    GITHUB_STATE: file('state'),
    GITHUB_STEP_SUMMARY: file('summary'),
    GITHUB_ENV: file('env'),
    GITHUB_PATH: file('path'),
    ...r.env,
  };
  mkdirSync(env.RUNNER_TEMP!, { recursive: true });
  mkdirSync(env.TMPDIR!, { recursive: true });
  if (r.user) {
    Object.assign(env, { HOME: r.user.home, USER: r.user.name, LOGNAME: r.user.name, ...r.env });
    execFileSync('chown', ['-R', `${r.user.uid}:${r.user.gid}`, files, env.RUNNER_TEMP!, env.TMPDIR!]);
  }
  for (const [k, v] of Object.entries(r.inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(state)) env[`STATE_${k}`] = v;
  return env;
}

export interface StartedStep {
  child: ChildProcess;
  done: Promise<StepResult>;
}

export function startStep(r: RunnerEnv, step: 'main' | 'post', state: Record<string, string> = {}): StartedStep {
  const env = runnerEnv(r, step, state);
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', `${step}.js`)], {
    env,
    cwd: r.workspace,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(r.user && { uid: r.user.uid, gid: r.user.gid }),
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<StepResult>((resolve) => {
    child.on('close', (code) => {
      resolve({
        exitCode: code ?? 1,
        stdout,
        outputs: parseRunnerFile(readFileSync(env.GITHUB_OUTPUT!, 'utf8')),
        state: parseRunnerFile(readFileSync(env.GITHUB_STATE!, 'utf8')),
        summary: readFileSync(env.GITHUB_STEP_SUMMARY!, 'utf8'),
        annotations: stdout.split('\n').filter((l) => /^::(error|warning|notice)[ :]/.test(l)),
      });
    });
  });
  return { child, done };
}

/** Starts main and resolves once its output contains `text` (say, `NOTE: Running task 3 of`). */
export async function startMainUntil(r: RunnerEnv, text: string): Promise<StartedStep> {
  const started = startStep(r, 'main');
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    started.child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) resolve();
    });
    started.child.on('close', () => reject(new Error(`main ended before printing ${JSON.stringify(text)}:\n${seen}`)));
  });
  return started;
}

/** main, then post with main's state, as one job on a fresh machine (RUNNER_TEMP starts empty). */
export async function runJob(r: RunnerEnv): Promise<{ main: StepResult; post: StepResult }> {
  if (r.runnerTemp) rmSync(r.runnerTemp, { recursive: true, force: true });
  const main = await startStep(r, 'main').done;
  const post = await startStep(r, 'post', main.state).done;
  return { main, post };
}
