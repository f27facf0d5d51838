/**
 * A job as the runner runs it (dist/main.js, then dist/post.js with main's state), with a clock
 * on every line the steps print: where the time goes between restore, BitBake and save.
 */
import { rmSync } from 'node:fs';

import { type RunnerEnv, startStep, type StepResult } from '../../test/support/run-action.js';

export interface Timeline {
  /** Seconds, each from the start of its own step. */
  main: number;
  post: number;
  /** Layer checkout, build directory and conf files (prepareBuild). */
  workspace?: number;
  restore?: number;
  /** The BitBake log group: the container's start and BitBake inside it. */
  bitbake?: number;
  /** From the BitBake group's start to BitBake's first line (`Loading cache`): the container's start and oe-init-build-env. */
  containerStart?: number;
  save?: number;
}

export interface TimedJob {
  main: StepResult;
  post: StepResult;
  time: Timeline;
}

interface Stamped {
  at: number;
  line: string;
}

async function timedStep(
  r: RunnerEnv,
  step: 'main' | 'post',
  state?: Record<string, string>,
): Promise<{ result: StepResult; lines: Stamped[]; seconds: number }> {
  const started = performance.now();
  const s = startStep(r, step, state);
  const lines: Stamped[] = [];
  let partial = '';
  s.child.stdout!.on('data', (d: Buffer) => {
    const at = (performance.now() - started) / 1000;
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) lines.push({ at, line });
  });
  const result = await s.done;
  return { result, lines, seconds: (performance.now() - started) / 1000 };
}

/** Seconds from the first line matching `from` to the next line matching `to` after it. */
function span(lines: Stamped[], from: RegExp, to: RegExp): { start: number; seconds: number } | undefined {
  const i = lines.findIndex((l) => from.test(l.line));
  if (i < 0) return undefined;
  const j = lines.findIndex((l, k) => k > i && to.test(l.line));
  return j < 0 ? undefined : { start: lines[i]!.at, seconds: lines[j]!.at - lines[i]!.at };
}

/** main then post, on a fresh machine (RUNNER_TEMP emptied first); hooks run around them. */
export async function timedJob(
  r: RunnerEnv,
  hooks: { beforeMain?: () => Promise<void>; afterPost?: () => Promise<void> } = {},
): Promise<TimedJob> {
  if (r.runnerTemp) rmSync(r.runnerTemp, { recursive: true, force: true });
  await hooks.beforeMain?.();
  const main = await timedStep(r, 'main');
  const post = await timedStep(r, 'post', main.result.state);
  await hooks.afterPost?.();
  const bitbake = span(main.lines, /^::group::bitbake /, /^::endgroup::/);
  // BitBake's first line (knotty's, real or stand-in), after the container started and oe-init-build-env ran.
  const bitbakeFirst = bitbake
    ? main.lines.find((l) => l.at >= bitbake.start && /^Loading cache/.test(l.line))
    : undefined;
  return {
    main: main.result,
    post: post.result,
    time: {
      main: main.seconds,
      post: post.seconds,
      workspace: span(main.lines, /^::group::Layers/, /^Build directory: /)?.seconds,
      restore: span(main.lines, /^::group::Cache configuration/, /^Restored \d+ sstate objects/)?.seconds,
      bitbake: bitbake?.seconds,
      containerStart: bitbake && bitbakeFirst ? bitbakeFirst.at - bitbake.start : undefined,
      save: span(post.lines, /^::group::Save caches/, /^::endgroup::/)?.seconds,
    },
  };
}
