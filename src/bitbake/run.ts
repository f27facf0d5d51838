/**
 * Runs BitBake (in the builder container, or directly) and follows it: every output line goes to
 * the log and to the parser, progress is reported even when BitBake is quiet, and a cancelled job
 * stops BitBake the way a terminal would (SIGINT, then harder) and leaves no container behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { formatDuration } from '../util/format.js';
import { log } from '../util/log.js';
import { type ContainerSpec, removeContainer, runArgs, signalContainer, wasOomKilled } from './container.js';
import { bitbakeRunning } from './in-use.js';
import { BitbakeOutputParser, type BitbakeSummary } from './output.js';

/**
 * The only shell code that runs BitBake. It is a constant: paths arrive as environment
 * variables and BitBake's arguments as argv, so no configured value is ever parsed by a shell.
 */
export const RUN_BITBAKE_SH = `#!/bin/bash
# Written by smidr/build-action. Sets up the BitBake environment and runs BitBake.
set -eu
cd "$SMIDR_BUILD_DIR"
set +u
# Yocto's buildtools (container-engine none): their tools first on PATH, in the shell that runs BitBake.
if [ -n "\${SMIDR_BUILDTOOLS_ENV:-}" ]; then
  . "$SMIDR_BUILDTOOLS_ENV" > /dev/null || { echo "ERROR: sourcing the buildtools environment $SMIDR_BUILDTOOLS_ENV failed" >&2; exit 1; }
fi
unset BBSERVER
if [ -n "\${SMIDR_BITBAKE_DIR:-}" ]; then
  . "$SMIDR_INIT_ENV" "$SMIDR_BUILD_DIR" "$SMIDR_BITBAKE_DIR" > /dev/null
else
  . "$SMIDR_INIT_ENV" "$SMIDR_BUILD_DIR" > /dev/null
fi
set -u
exec bitbake "$@"
`;

export type BitbakeHost =
  | { kind: 'container'; spec: ContainerSpec }
  | { kind: 'direct'; script: string; env: Record<string, string>; cwd: string };

export interface BitbakeRunResult {
  exitCode: number;
  summary: BitbakeSummary;
  oomKilled: boolean;
  /** Why BitBake was stopped rather than finishing on its own: the job was cancelled, or the time budget ran out. */
  stoppedBy?: StopReason;
  durationMs: number;
}

export type StopReason = 'signal' | 'budget';

export interface RunOptions {
  /** Seconds between progress lines while BitBake runs. */
  progressInterval: number;
  /** Seconds BitBake gets to stop after SIGINT before it is stopped harder. */
  graceSeconds: number;
  /** Epoch ms at which BitBake is stopped gracefully (the stop-after budget). */
  deadlineMs?: number;
}

export async function runBitbake(host: BitbakeHost, argv: string[], opts: RunOptions): Promise<BitbakeRunResult> {
  log.debug(`Starting BitBake: ${commandLine(host, argv)}`);
  log.debug(
    `BitBake's environment (names only): ${Object.keys(host.kind === 'container' ? host.spec.env : host.env).join(' ')}`,
  );
  const parser = new BitbakeOutputParser();
  const started = Date.now();
  const child =
    host.kind === 'container'
      ? spawn(host.spec.engine, runArgs(host.spec), { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', [host.script, ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: host.env,
          cwd: host.cwd,
          detached: true,
        });

  const stopper = new Stopper(host, child, opts.graceSeconds);
  const onSignal = (signal: NodeJS.Signals) => stopper.request(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const budget =
    opts.deadlineMs === undefined
      ? undefined
      : setTimeout(() => stopper.request('budget'), Math.max(0, opts.deadlineMs - Date.now()));

  // BitBake output is not ours to interpret as workflow commands (`::set-output` in a log line).
  const output = log.passthrough();
  const timer = setInterval(() => log.info(progressLine(parser.summary, started)), opts.progressInterval * 1000);
  try {
    const follow = (stream: NodeJS.ReadableStream) =>
      new Promise<void>((resolve) => {
        const lines = createInterface({ input: stream, crlfDelay: Infinity });
        lines.on('line', (line) => {
          output.line(line);
          parser.line(line);
        });
        lines.on('close', resolve);
      });
    const exited = new Promise<number>((resolve) => {
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
      child.on('error', (e) => {
        log.error(`could not start ${host.kind === 'container' ? host.spec.engine : 'bash'}: ${e.message}`);
        resolve(127);
      });
    });
    const [exitCode] = await Promise.all([exited, follow(child.stdout!), follow(child.stderr!)]);
    // BitBake's task workers are what the OOM killer takes: BitBake itself then exits 1, not 137.
    const oomKilled =
      host.kind === 'container' && exitCode !== 0 && (await wasOomKilled(host.spec.engine, host.spec.name));
    return {
      exitCode,
      summary: parser.summary,
      oomKilled,
      stoppedBy: stopper.reason,
      durationMs: Date.now() - started,
    };
  } finally {
    clearInterval(timer);
    clearTimeout(budget);
    output.end();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stopper.dispose();
    if (host.kind === 'container') removeContainer(host.spec.engine, host.spec.name);
  }
}

/**
 * Stops BitBake like a terminal user would: SIGINT lets running tasks finish, a second SIGINT
 * (after the grace period, or a second signal to the action) stops it harder, and finally the
 * container is removed. SIGTERM to the action means the runner is about to kill it: go hard now.
 * The time budget stops it the gentle way, so every task that finishes leaves its sstate object.
 */
class Stopper {
  /** The first reason given: a cancellation after the budget ran out is still a budget stop. */
  reason?: StopReason;
  private steps = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly host: BitbakeHost,
    private readonly child: ChildProcess,
    private readonly graceSeconds: number,
  ) {}

  request(why: NodeJS.Signals | 'budget'): void {
    this.reason ??= why === 'budget' ? 'budget' : 'signal';
    if (why === 'SIGTERM') this.steps = Math.max(this.steps, 2);
    this.escalate(why === 'budget' ? 'the time budget (stop-after) is used up' : `the job was cancelled (${why})`);
  }

  private escalate(why = 'it did not stop in time'): void {
    this.steps += 1;
    clearTimeout(this.timer);
    if (this.steps <= 2) {
      log.warning(
        this.steps === 1
          ? `Stopping BitBake because ${why}: running tasks may finish (SIGINT).`
          : `Stopping BitBake harder (second SIGINT) because ${why}.`,
      );
      this.interrupt();
      this.timer = setTimeout(() => this.escalate(), this.graceSeconds * 1000);
    } else {
      log.warning(`Removing BitBake and its container because ${why}.`);
      this.kill();
    }
  }

  private interrupt(): void {
    if (this.host.kind === 'container') signalContainer(this.host.spec.engine, this.host.spec.name, 'SIGINT');
    else if (this.child.pid) process.kill(-this.child.pid, 'SIGINT');
  }

  private kill(): void {
    if (this.host.kind === 'container') removeContainer(this.host.spec.engine, this.host.spec.name);
    else if (this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** The command that starts BitBake, for the debug log: environment values are left out (they may be secrets). */
export function commandLine(host: BitbakeHost, argv: string[]): string {
  const words =
    host.kind === 'container'
      ? [
          host.spec.engine,
          ...runArgs(host.spec).map((a, i, all) => (all[i - 1] === '--env' ? a.replace(/=[^]*$/, '=…') : a)),
        ]
      : ['bash', host.script, ...argv];
  return words.map((w) => (/^[\w@%+=:,./…-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(' ');
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal];
}

/**
 * One progress line: tasks finished of the total in the current phase (setscene tasks unpack
 * sstate, real tasks build), percent and elapsed time, and the task started last.
 */
export function progressLine(s: BitbakeSummary, started: number, now = Date.now()): string {
  const elapsed = formatDuration(now - started);
  const p = s.lastProgress;
  if (!p) return `[smidr] BitBake is parsing and preparing tasks (${elapsed} elapsed)`;
  const done = Math.min(s.done[p.phase], p.total);
  const percent = Math.floor((done * 100) / Math.max(p.total, 1));
  const phase = p.phase === 'setscene' ? 'setscene tasks (reusing sstate)' : 'tasks';
  return `[smidr] ${phase}: ${done}/${p.total} done (${percent}%), ${elapsed} elapsed, last started: ${p.what}`;
}

/**
 * BitBake's server outlives the command for a moment and holds the hash-equivalence DB open
 * until it exits. In a container it dies with the container; on the runner, wait until nothing
 * holds bitbake.lock before touching the DB.
 */
export async function waitForServerExit(buildDir: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await bitbakeRunning(buildDir))) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
