import { describe, expect, it } from 'vitest';
import { BitbakeOutputParser, taskLabel, tasksRun } from '../../src/bitbake-output.js';
import { formatDuration, progressLine } from '../../src/bitbake.js';

function parse(text: string) {
  const p = new BitbakeOutputParser();
  for (const line of text.split('\n')) p.line(line);
  return p.summary;
}

describe('BitbakeOutputParser', () => {
  it('reads the Sstate summary knotty prints after "Initialising tasks..."', () => {
    const s = parse('Initialising tasks...Sstate summary: Wanted 120 Local 100 Mirrors 5 Missed 15 Current 3 (87% match, 88% complete)');
    expect(s.sstate).toEqual({ wanted: 120, local: 100, mirrors: 5, missed: 15, current: 3, matchPercent: 87, completePercent: 88 });
  });
  it('reads a successful Tasks Summary', () => {
    const s = parse("NOTE: Tasks Summary: Attempted 2500 tasks of which 2400 didn't need to be rerun and all succeeded.");
    expect([s.tasksAttempted, s.tasksReused, s.tasksFailed, tasksRun(s)]).toEqual([2500, 2400, 0, 100]);
  });
  it('does not count noexec tasks as run', () => {
    const s = parse([
      'NOTE: Running setscene task 1 of 1 (/x/a.bb:do_populate_sysroot_setscene)',
      'NOTE: Running noexec task 3 of 3 (/x/image.bb:do_build)',
      "NOTE: Tasks Summary: Attempted 3 tasks of which 2 didn't need to be rerun and all succeeded.",
    ].join('\n'));
    expect(tasksRun(s)).toBe(0);
  });
  it('pairs a failed task with the log file printed before it', () => {
    const s = parse([
      'ERROR: busybox-1.36.1-r0 do_compile: oe_runmake failed',
      'ERROR: Logfile of failure stored in: /smidr/build/tmp/work/core2-64-poky-linux/busybox/1.36.1/temp/log.do_compile.4242',
      "ERROR: Task (/smidr/layers/poky/meta/recipes-core/busybox/busybox_1.36.1.bb:do_compile) failed with exit code '1'",
      "NOTE: Tasks Summary: Attempted 10 tasks of which 4 didn't need to be rerun and 1 failed.",
    ].join('\n'));
    expect(s.tasksFailed).toBe(1);
    expect(s.failures).toEqual([{
      recipeFile: '/smidr/layers/poky/meta/recipes-core/busybox/busybox_1.36.1.bb',
      task: 'do_compile',
      logFile: '/smidr/build/tmp/work/core2-64-poky-linux/busybox/1.36.1/temp/log.do_compile.4242',
    }]);
    expect(taskLabel(s.failures[0]!)).toBe('busybox_1.36.1:do_compile');
  });
  it('reads parse errors with file and line', () => {
    const s = parse("Parsing recipes...ERROR: ParseError at /smidr/layers/meta-x/recipes/a/a.bb:12: unparsed line: 'FOO'");
    expect(s.parseErrors).toEqual([{ file: '/smidr/layers/meta-x/recipes/a/a.bb', line: 12, message: "unparsed line: 'FOO'" }]);
    expect(s.errors).toEqual(["ParseError at /smidr/layers/meta-x/recipes/a/a.bb:12: unparsed line: 'FOO'"]);
  });
  it('reports progress for setscene and real tasks separately', () => {
    const p = new BitbakeOutputParser();
    expect(p.line('NOTE: Running setscene task 3 of 10 (/x/a.bb:do_populate_sysroot_setscene)')).toEqual(
      { phase: 'setscene', current: 3, total: 10, what: '/x/a.bb:do_populate_sysroot_setscene' });
    expect(p.line('NOTE: Running task 7 of 40 (/x/a.bb:do_compile)')?.phase).toBe('task');
    expect(progressLine(p.summary, 0, 125_000)).toBe('[smidr] tasks 7/40 (17%), 2m05s elapsed, now: /x/a.bb:do_compile');
  });
  it('collects warnings', () => {
    expect(parse('WARNING: a-1.0-r0 do_compile: deprecated').warnings).toEqual(['a-1.0-r0 do_compile: deprecated']);
  });
});

describe('formatDuration', () => {
  it('shows hours for long builds', () => {
    expect(formatDuration(3_725_000)).toBe('1h02m');
    expect(formatDuration(59_400)).toBe('0m59s');
  });
});
