import { describe, expect, it } from 'vitest';

import { BitbakeOutputParser, taskLabel, tasksRun } from '../../src/bitbake/output.js';
import { progressLine } from '../../src/bitbake/run.js';
import { formatDuration } from '../../src/util/format.js';

function parse(text: string) {
  const p = new BitbakeOutputParser();
  for (const line of text.split('\n')) p.line(line);
  return p.summary;
}

describe('BitbakeOutputParser', () => {
  it('reads the Sstate summary knotty prints after "Initialising tasks..."', () => {
    const s = parse(
      'Initialising tasks...Sstate summary: Wanted 120 Local 100 Mirrors 5 Missed 15 Current 3 (87% match, 88% complete)',
    );
    expect(s.sstate).toEqual({
      wanted: 120,
      local: 100,
      mirrors: 5,
      missed: 15,
      current: 3,
      matchPercent: 87,
      completePercent: 88,
    });
  });
  it('reads a successful Tasks Summary', () => {
    const s = parse(
      "NOTE: Tasks Summary: Attempted 2500 tasks of which 2400 didn't need to be rerun and all succeeded.",
    );
    expect([s.tasksAttempted, s.tasksReused, s.tasksFailed, tasksRun(s)]).toEqual([2500, 2400, 0, 100]);
  });
  it('does not count noexec tasks as run', () => {
    const s = parse(
      [
        'NOTE: Running setscene task 1 of 1 (/x/a.bb:do_populate_sysroot_setscene)',
        'NOTE: Running noexec task 3 of 3 (/x/image.bb:do_build)',
        "NOTE: Tasks Summary: Attempted 3 tasks of which 2 didn't need to be rerun and all succeeded.",
      ].join('\n'),
    );
    expect(tasksRun(s)).toBe(0);
  });
  it('pairs a failed task with the log file printed before it', () => {
    const s = parse(
      [
        'ERROR: busybox-1.36.1-r0 do_compile: oe_runmake failed',
        'ERROR: Logfile of failure stored in: /smidr/build/tmp/work/core2-64-poky-linux/busybox/1.36.1/temp/log.do_compile.4242',
        "ERROR: Task (/smidr/layers/poky/meta/recipes-core/busybox/busybox_1.36.1.bb:do_compile) failed with exit code '1'",
        "NOTE: Tasks Summary: Attempted 10 tasks of which 4 didn't need to be rerun and 1 failed.",
      ].join('\n'),
    );
    expect(s.tasksFailed).toBe(1);
    expect(s.failures).toEqual([
      {
        recipeFile: '/smidr/layers/poky/meta/recipes-core/busybox/busybox_1.36.1.bb',
        task: 'do_compile',
        logFile: '/smidr/build/tmp/work/core2-64-poky-linux/busybox/1.36.1/temp/log.do_compile.4242',
        frames: [],
      },
    ]);
    expect(taskLabel(s.failures[0]!)).toBe('busybox_1.36.1:do_compile');
  });
  it('reads parse errors with file and line', () => {
    const s = parse(
      "Parsing recipes...ERROR: ParseError at /smidr/layers/meta-x/recipes/a/a.bb:12: unparsed line: 'FOO'",
    );
    expect(s.parseErrors).toEqual([
      { file: '/smidr/layers/meta-x/recipes/a/a.bb', line: 12, message: "unparsed line: 'FOO'" },
    ]);
    expect(s.errors).toEqual(["ParseError at /smidr/layers/meta-x/recipes/a/a.bb:12: unparsed line: 'FOO'"]);
  });
  it('reports progress for setscene and real tasks separately, counting finished tasks', () => {
    const p = new BitbakeOutputParser();
    expect(p.line('NOTE: Running setscene task 3 of 10 (/x/a.bb:do_populate_sysroot_setscene)')).toEqual({
      phase: 'setscene',
      current: 3,
      total: 10,
      what: '/x/a.bb:do_populate_sysroot_setscene',
    });
    p.line('NOTE: recipe a-1.0-r0: task do_populate_sysroot_setscene: Started');
    p.line('NOTE: recipe a-1.0-r0: task do_populate_sysroot_setscene: Succeeded');
    expect(progressLine(p.summary, 0, 5_000)).toBe(
      '[smidr] setscene tasks (reusing sstate): 1/10 done (10%), 0m05s elapsed, last started: /x/a.bb:do_populate_sysroot_setscene',
    );
    for (let i = 1; i <= 7; i++) {
      expect(p.line(`NOTE: Running task ${i} of 40 (/x/a.bb:do_t${i})`)?.phase).toBe('task');
      p.line(`NOTE: recipe a-1.0-r0: task do_t${i}: Started`);
      if (i < 7) p.line(`NOTE: recipe a-1.0-r0: task do_t${i}: ${i === 3 ? 'Failed' : 'Succeeded'}`);
    }
    expect(progressLine(p.summary, 0, 125_000)).toBe(
      '[smidr] tasks: 6/40 done (15%), 2m05s elapsed, last started: /x/a.bb:do_t7',
    );
    expect(p.summary.done).toEqual({ setscene: 1, task: 6 });
  });
  it('says BitBake is still preparing before the first task', () => {
    expect(progressLine(new BitbakeOutputParser().summary, 0, 61_000)).toBe(
      '[smidr] BitBake is parsing and preparing tasks (1m01s elapsed)',
    );
  });
  it('learns which recipe file a PF belongs to, native variants included', () => {
    const s = parse(
      [
        'NOTE: Running task 1 of 9 (virtual:native:/l/poky/meta/recipes-core/zlib/zlib_1.3.1.bb:do_fetch)',
        'NOTE: recipe zlib-native-1.3.1-r0: task do_fetch: Started',
        'NOTE: Running setscene task 1 of 9 (/l/x/a_1.0.bb:do_populate_lic_setscene)',
        'NOTE: recipe a-1.0-r0: task do_populate_lic_setscene: Started',
        'NOTE: Running task 2 of 9 (/l/x/a_1.0.bb:do_compile)',
        'NOTE: recipe a-1.0-r0: task do_compile: Started',
      ].join('\n'),
    );
    expect(s.recipeFiles).toEqual({
      'zlib-native-1.3.1-r0': '/l/poky/meta/recipes-core/zlib/zlib_1.3.1.bb',
      'a-1.0-r0': '/l/x/a_1.0.bb',
    });
  });
  it("reads a shell task's metadata-relative backtrace, as BitBake's ERROR message and log print it", () => {
    const s = parse(
      [
        "ERROR: a-1.0-r0 do_compile: Execution of '/smidr/build/tmp/work/x/a/1.0/temp/run.do_compile.12' failed with exit code 1",
        'Backtrace (metadata-relative locations):',
        '\t#1: helper, /smidr/layers/meta-x/classes/helper.bbclass, line 4',
        '\t#2: do_compile, /smidr/layers/meta-x/recipes/a/a_1.0.bb, line 12',
        'ERROR: Logfile of failure stored in: /smidr/build/tmp/work/x/a/1.0/temp/log.do_compile.12',
        'Log data follows:',
        '| DEBUG: Executing shell function do_compile',
        "| WARNING: /smidr/build/tmp/work/x/a/1.0/temp/run.do_compile.12:100 exit 1 from 'false'",
        "| ERROR: Execution of '/smidr/build/tmp/work/x/a/1.0/temp/run.do_compile.12' failed with exit code 1",
        '| Backtrace (metadata-relative locations):',
        '| \t#1: helper, /smidr/layers/meta-x/classes/helper.bbclass, line 4',
        'NOTE: recipe a-1.0-r0: task do_compile: Failed',
        "ERROR: Task (/smidr/layers/meta-x/recipes/a/a_1.0.bb:do_compile) failed with exit code '1'",
      ].join('\n'),
    );
    expect(s.failures[0]!.frames).toEqual([
      { file: '/smidr/layers/meta-x/classes/helper.bbclass', line: 4 },
      { file: '/smidr/layers/meta-x/recipes/a/a_1.0.bb', line: 12 },
    ]);
    expect(s.warnings).toEqual([]);
  });
  it("reads a python task's traceback, innermost frame first, leaving out generated code", () => {
    const s = parse(
      [
        'ERROR: a-1.0-r0 do_configure: Error executing a python function in exec_func_python() autogenerated:',
        '',
        'The stack trace of python calls that resulted in this exception/failure was:',
        "File: 'exec_func_python() autogenerated', lineno: 2, function: <module>",
        '     0001:',
        ' *** 0002:do_configure(d)',
        "File: '/smidr/layers/meta-x/recipes/a/a_1.0.bb', lineno: 7, function: do_configure",
        '     0007:    bb.utils.mkdirhier(d.getVar("B") + 1)',
        "File: '/smidr/layers/poky/bitbake/lib/bb/utils.py', lineno: 90, function: mkdirhier",
        'Exception: TypeError: can only concatenate str (not "int") to str',
        '',
        "ERROR: Task (/smidr/layers/meta-x/recipes/a/a_1.0.bb:do_configure) failed with exit code '1'",
      ].join('\n'),
    );
    expect(s.failures[0]!.frames).toEqual([
      { file: '/smidr/layers/poky/bitbake/lib/bb/utils.py', line: 90 },
      { file: '/smidr/layers/meta-x/recipes/a/a_1.0.bb', line: 7 },
    ]);
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
