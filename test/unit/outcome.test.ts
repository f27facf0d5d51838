/** The result of a BitBake run and the failure message a user reads, from knotty lines and facts passed in. */
import { describe, expect, it } from 'vitest';

import { BitbakeOutputParser } from '../../src/bitbake/output.js';
import type { BitbakeRunResult } from '../../src/bitbake/run.js';
import type { FsUsage } from '../../src/report/disk.js';
import { buildResult, failureMessage, fullDiskDirs } from '../../src/report/outcome.js';

function run(lines: string[], facts: Partial<Omit<BitbakeRunResult, 'summary'>> = {}): BitbakeRunResult {
  const parser = new BitbakeOutputParser();
  for (const l of lines) parser.line(l);
  return { exitCode: 1, oomKilled: false, durationMs: 1000, ...facts, summary: parser.summary };
}

const TASK_FAILED = [
  'ERROR: Logfile of failure stored in: /smidr/build/tmp/work/x/log.do_compile.1',
  "ERROR: Task (/smidr/layers/meta-x/recipes/app/app_1.0.bb:do_compile) failed with exit code '1'",
];
const dirs = fullDiskDirs('/w/build', { downloads: '/c/downloads', sstate: '/c/sstate', hashserv: '/c/hashserv' });
const GiB = 1024 ** 3;
const roomy: FsUsage[] = [
  { holds: Object.keys(dirs), totalBytes: 100 * GiB, usedBytes: 50 * GiB, freeBytes: 50 * GiB, percent: 50 },
];
const ctx = { containerMemory: '8g', budgetMinutes: 30, disk: roomy, diskDirs: dirs };

describe('buildResult', () => {
  it('tells success, failure, a cancelled job and the time budget apart; the first stop reason wins', () => {
    expect(buildResult({ exitCode: 0 })).toBe('success');
    expect(buildResult({ exitCode: 0, stoppedBy: 'budget' })).toBe('success');
    expect(buildResult({ exitCode: 1 })).toBe('failure');
    expect(buildResult({ exitCode: 130, stoppedBy: 'signal' })).toBe('cancelled');
    expect(buildResult({ exitCode: 1, stoppedBy: 'budget' })).toBe('stopped');
  });
});

describe('failureMessage', () => {
  it('names the failed tasks', () => {
    expect(failureMessage(run(TASK_FAILED), ctx)).toBe('BitBake failed: 1 task(s) failed: app_1.0:do_compile');
  });

  it('blames the out-of-memory killer before the tasks it broke, naming the memory limit and the fix', () => {
    expect(failureMessage(run(TASK_FAILED, { oomKilled: true }), ctx)).toBe(
      'app_1.0:do_compile failed: the out-of-memory killer stopped a process at the container memory limit (container.memory: 8g); raise container.memory or lower build.bb_number_threads / parallel_make',
    );
    expect(failureMessage(run([], { oomKilled: true }), { ...ctx, containerMemory: undefined })).toMatch(
      /^BitBake was stopped: the out-of-memory killer .*\(container\.memory: none\)/,
    );
  });

  it('says where the time budget stopped BitBake: before tasks, in setscene, or how many tasks remain', () => {
    const stopped = (lines: string[]) => failureMessage(run(lines, { stoppedBy: 'budget' }), ctx);
    expect(stopped([])).toMatch(
      /^BitBake was stopped at the time budget \(stop-after: 30 minutes\) before any task ran\. /,
    );
    expect(stopped(['NOTE: Running setscene task 7 of 40 (/l/a.bb:do_populate_sysroot_setscene)'])).toContain(
      ' while reusing sstate (7 of 40 setscene tasks), before any real task. ',
    );
    expect(stopped(['NOTE: Running task 12 of 50 (/l/a.bb:do_compile)'])).toContain(
      ' after 12 of 50 tasks; 38 remain. ',
    );
  });

  it('says a cancelled job was cancelled, not that tasks failed', () => {
    expect(failureMessage(run(TASK_FAILED, { stoppedBy: 'signal' }), ctx)).toBe(
      'BitBake was stopped because the job was cancelled',
    );
  });

  it('lists parse errors, else the exit code and the last error', () => {
    expect(failureMessage(run(['ERROR: ParseError at /l/a.bb:3: unparsed line']), ctx)).toBe(
      'BitBake could not parse: /l/a.bb:3: unparsed line',
    );
    expect(failureMessage(run(['ERROR: first', 'ERROR: Nothing PROVIDES x'], { exitCode: 2 }), ctx)).toBe(
      'BitBake exited with code 2: Nothing PROVIDES x',
    );
    expect(failureMessage(run([], { exitCode: 2 }), ctx)).toBe('BitBake exited with code 2');
  });

  it('puts a full disk first: when BitBake ran out of space, or the fullest filesystem has almost nothing left', () => {
    const full: FsUsage[] = [
      roomy[0]!,
      {
        holds: ['SSTATE_DIR'],
        totalBytes: 10 * GiB,
        usedBytes: 10 * GiB - 1024 ** 2,
        freeBytes: 1024 ** 2,
        percent: 100,
      },
    ];
    expect(failureMessage(run(TASK_FAILED), { ...ctx, disk: full })).toBe(
      'No space left on the file system holding SSTATE_DIR (/c/sstate): 1.0 MiB free of 10.0 GiB; free space on the runner, ' +
        'put workspace-dir (and the caches) on a bigger disk, or add INHERIT += "rm_work" to local-conf so finished recipes leave TMPDIR. ' +
        'BitBake failed: 1 task(s) failed: app_1.0:do_compile',
    );
    const enospc = run([...TASK_FAILED, 'ERROR: app-1.0-r0 do_compile: write error: No space left on device']);
    expect(failureMessage(enospc, ctx)).toMatch(
      /^No space left on the file system holding the build directory \(\/w\/build\), DL_DIR \(\/c\/downloads\), SSTATE_DIR \(\/c\/sstate\): 50\.0 GiB free of 100\.0 GiB; .*\. BitBake failed: /,
    );
    expect(failureMessage(enospc, { ...ctx, disk: [] })).toMatch(/^BitBake failed: /);
  });
});
