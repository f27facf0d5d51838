/**
 * The knotty parser against real BitBake's non-interactive output
 * (test/fixtures/oracles/<series>/knotty-*.log): a cold build, a rebuild with setscene tasks and
 * hash equivalence, a task failure, a parse error and a SIGINT stop. Counts are checked against the
 * lines themselves, so the expectations hold for any recording of the same builds.
 */
import { describe, expect, it } from 'vitest';

import { BitbakeOutputParser, taskLabel, tasksRun } from '../../../src/bitbake/output.js';
import { oracleLines, SERIES } from './oracles.js';

function parse(series: string, log: string) {
  const p = new BitbakeOutputParser();
  const progress = oracleLines(series, log).map((l) => p.line(l));
  return { s: p.summary, progress: progress.filter((x) => x !== undefined) };
}

const count = (series: string, log: string, re: RegExp) => oracleLines(series, log).filter((l) => re.test(l)).length;

describe.each(SERIES)('knotty output of real BitBake (%s)', (series) => {
  it('a cold build: sstate summary, every task run, nothing failed', () => {
    const { s, progress } = parse(series, 'knotty-success.log');
    const run = count(series, 'knotty-success.log', /^NOTE: Running task \d+ of \d+ /);
    const noexec = count(series, 'knotty-success.log', /^NOTE: Running noexec task /);
    expect(s.sstate).toMatchObject({ local: 0, mirrors: 0, current: 0, matchPercent: 0, completePercent: 0 });
    expect(s.sstate!.missed).toBe(s.sstate!.wanted);
    expect(s.tasksAttempted).toBe(run + noexec);
    expect([s.tasksReused, s.tasksFailed, s.noexecTasks, tasksRun(s)]).toEqual([0, 0, noexec, run]);
    expect(s.done).toEqual({ setscene: 0, task: run + noexec });
    expect(progress).toHaveLength(run);
    expect(progress.at(-1)).toMatchObject({ phase: 'task', current: run, total: run + noexec });
    expect([s.failures, s.parseErrors, s.errors]).toEqual([[], [], []]);
    // Native variants are announced as virtual:native:<file>; their PF maps to the plain file.
    expect(s.recipeFiles['smidr-real-tool-native-1.0-r0']).toMatch(/^\/.*\/smidr-real-tool_1\.0\.bb$/);
    expect(s.recipeFiles['smidr-real-cross-x86_64-1.0-r0']).toMatch(/\/smidr-real-cross_1\.0\.bb$/);
    expect(s.recipeFiles['smidr-real-data-1.0-r0']).toMatch(/\/smidr-real-data_1\.0\.bb$/);
  });

  it('a rebuild after a change that keeps the output: the changed task reruns, its dependent comes from sstate', () => {
    const { s, progress } = parse(series, 'knotty-rebuild.log');
    const run = count(series, 'knotty-rebuild.log', /^NOTE: Running task /);
    const noexec = count(series, 'knotty-rebuild.log', /^NOTE: Running noexec task /);
    // The same build directory: the unchanged recipes are Current (their stamps are there).
    expect(s.sstate!.current).toBeGreaterThan(0);
    expect(s.sstate!.local + s.sstate!.missed).toBe(s.sstate!.wanted);
    expect(tasksRun(s)).toBe(run);
    expect(s.tasksReused! + run + noexec).toBe(s.tasksAttempted);
    // Hash equivalence: smidr-real-app's do_deploy "became valid" and comes from sstate.
    expect(progress.filter((p) => p.phase === 'task').map((p) => p.what)).toEqual([
      expect.stringMatching(/\/smidr-real-base_1\.0\.bb:do_deploy$/),
    ]);
    expect(progress.filter((p) => p.phase === 'setscene').map((p) => p.what)).toEqual([
      expect.stringMatching(/\/smidr-real-app_1\.0\.bb:do_deploy_setscene$/),
    ]);
    expect(s.done).toEqual({ setscene: 1, task: run + noexec });
    expect([s.failures, s.errors]).toEqual([[], []]);
  });

  it('a warm build in a fresh TMPDIR: every sstate task from SSTATE_DIR, only tasks without sstate run', () => {
    const { s, progress } = parse(series, 'knotty-warm.log');
    const setscene = count(series, 'knotty-warm.log', /^NOTE: Running setscene task /);
    const run = count(series, 'knotty-warm.log', /^NOTE: Running task /);
    const noexec = count(series, 'knotty-warm.log', /^NOTE: Running noexec task /);
    expect(s.sstate).toMatchObject({ missed: 0, current: 0, matchPercent: 100 });
    expect(s.sstate!.local).toBe(s.sstate!.wanted);
    expect(setscene).toBe(s.sstate!.wanted);
    expect(s.done.setscene).toBe(setscene);
    expect(progress.filter((p) => p.phase === 'setscene').at(-1)).toMatchObject({ current: setscene, total: setscene });
    expect(tasksRun(s)).toBe(run);
    expect(s.tasksReused! + run + noexec).toBe(s.tasksAttempted);
    expect(progress.filter((p) => p.phase === 'task').some((p) => p.what.endsWith(':do_deploy'))).toBe(false);
    expect([s.failures, s.errors]).toEqual([[], []]);
  });

  it('a failing task: the task and its log file', () => {
    const { s } = parse(series, 'knotty-task-failure.log');
    expect(s.tasksFailed).toBe(1);
    expect(s.failures).toHaveLength(1);
    const [f] = s.failures;
    expect(f!.recipeFile).toMatch(/^\/.*\/smidr-real-probe_1\.0\.bb$/);
    expect(f!.task).toBe('do_deploy');
    expect(taskLabel(f!)).toBe('smidr-real-probe_1.0:do_deploy');
    expect(f!.logFile).toMatch(/\/smidr-real-probe\/1\.0\/temp\/log\.do_deploy\.\d+$/);
    // BitBake prints a metadata backtrace for some shell failures only; any frame names the recipe.
    for (const frame of f!.frames) expect(frame.file).toBe(f!.recipeFile);
    expect(s.errors.some((e) => e.startsWith('Task (') && e.includes('smidr-real-probe_1.0.bb:do_deploy'))).toBe(true);
  });

  it('a parse error: file, line and message, and no build', () => {
    const { s } = parse(series, 'knotty-parse-error.log');
    expect(s.parseErrors).toHaveLength(1);
    expect(s.parseErrors[0]).toMatchObject({ file: expect.stringMatching(/\/smidr-real-probe_1\.0\.bb$/), line: 3 });
    expect(s.parseErrors[0]!.message).toContain('this is not bitbake');
    expect([s.sstate, s.tasksAttempted, s.lastProgress]).toEqual([undefined, undefined, undefined]);
  });

  it('SIGINT: the running task finishes, nothing failed, the summary still comes', () => {
    const { s } = parse(series, 'knotty-sigint.log');
    expect(s.lastProgress?.what).toMatch(/smidr-real-probe_1\.0\.bb:do_deploy$/);
    expect([s.failures, s.parseErrors]).toEqual([[], []]);
    expect(s.tasksFailed).toBe(0);
  });
});
