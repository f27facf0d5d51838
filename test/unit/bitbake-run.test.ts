/**
 * runBitbake on the runner (a direct host) with a script that prints knotty's lines and sleeps
 * like BitBake does: progress while BitBake is quiet, and the stop-after budget stopping it with
 * SIGINT. A real child process; the progress interval and the deadline are options.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { type BitbakeHost, commandLine, runBitbake } from '../../src/bitbake/run.js';
import { buildResult, failureMessage } from '../../src/report/outcome.js';
import { actionLogger, setLogger } from '../../src/util/log.js';
import { recordingLogger } from '../support/recording-logger.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bitbake-run-'));
let scripts = 0;

function host(script: string): BitbakeHost {
  const file = path.join(dir, `bitbake-${++scripts}.sh`);
  writeFileSync(file, script);
  return { kind: 'direct', script: file, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: dir };
}

/** The lines a user sees, BitBake's and the action's, in order. */
function shown(log: ReturnType<typeof recordingLogger>): string[] {
  return log.entries.filter((e) => e.kind === 'output' || e.kind === 'info').map((e) => e.message);
}

function between(lines: string[], start: string, end: string): string[] {
  expect(lines).toContain(start);
  expect(lines).toContain(end);
  return lines.slice(lines.indexOf(start) + 1, lines.indexOf(end));
}

afterEach(() => setLogger(actionLogger));

describe('runBitbake', () => {
  it('prints progress while BitBake is quiet, telling setscene and real tasks apart', async () => {
    const log = recordingLogger();
    setLogger(log);
    const run = await runBitbake(
      host(`
echo "NOTE: Running setscene task 1 of 2 (/l/a.bb:do_populate_sysroot_setscene)"
echo "NOTE: recipe a-1.0-r0: task do_populate_sysroot_setscene: Started"
sleep 1
echo "NOTE: recipe a-1.0-r0: task do_populate_sysroot_setscene: Succeeded"
echo "NOTE: Running task 1 of 3 (/l/b.bb:do_compile)"
echo "NOTE: recipe b-1.0-r0: task do_compile: Started"
sleep 1
echo "NOTE: recipe b-1.0-r0: task do_compile: Succeeded"
echo "NOTE: Tasks Summary: Attempted 3 tasks of which 1 didn't need to be rerun and all succeeded."
`),
      [],
      { progressInterval: 0.1, graceSeconds: 5 },
    );
    expect(run.exitCode).toBe(0);
    expect(run.stoppedBy).toBeUndefined();
    expect(buildResult(run)).toBe('success');

    const lines = shown(log);
    const setscene = between(
      lines,
      'NOTE: recipe a-1.0-r0: task do_populate_sysroot_setscene: Started',
      'NOTE: recipe a-1.0-r0: task do_populate_sysroot_setscene: Succeeded',
    );
    expect(setscene.length).toBeGreaterThan(0);
    for (const l of setscene) {
      expect(l).toMatch(
        /^\[smidr\] setscene tasks \(reusing sstate\): 0\/2 done \(0%\), 0m0\ds elapsed, last started: \/l\/a\.bb:do_populate_sysroot_setscene$/,
      );
    }
    const compiling = between(
      lines,
      'NOTE: recipe b-1.0-r0: task do_compile: Started',
      'NOTE: recipe b-1.0-r0: task do_compile: Succeeded',
    );
    expect(compiling.length).toBeGreaterThan(0);
    for (const l of compiling) {
      expect(l).toMatch(/^\[smidr\] tasks: 0\/3 done \(0%\), 0m0\ds elapsed, last started: \/l\/b\.bb:do_compile$/);
    }
  });

  it('stops BitBake with SIGINT when the stop-after budget runs out, and says how far it got', async () => {
    const log = recordingLogger();
    setLogger(log);
    const run = await runBitbake(
      host(`
trap 'kill $pid; echo "NOTE: Sending SIGINT to running tasks"; exit 1' INT
echo "NOTE: Running task 1 of 4 (/l/b.bb:do_compile)"
sleep 30 & pid=$!
wait $pid
`),
      [],
      { progressInterval: 60, graceSeconds: 30, deadlineMs: Date.now() + 500 },
    );
    expect(run.stoppedBy).toBe('budget');
    expect(run.exitCode).toBe(1);
    expect(run.durationMs).toBeLessThan(20_000);
    expect(shown(log)).toContain('NOTE: Sending SIGINT to running tasks');
    expect(log.lines('warning')).toEqual([
      'Stopping BitBake because the time budget (stop-after) is used up: running tasks may finish (SIGINT).',
    ]);
    expect(buildResult(run)).toBe('stopped');
    expect(failureMessage(run, { budgetMinutes: 90, disk: [], diskDirs: {} })).toBe(
      'BitBake was stopped at the time budget (stop-after: 90 minutes) after 1 of 4 tasks; 3 remain. ' +
        'Everything that finished is in sstate and is saved with the caches: run the job again with the same config to continue from here',
    );
  });

  it('reports the exit code of a BitBake that fails on its own', async () => {
    setLogger(recordingLogger());
    const run = await runBitbake(host('echo "ERROR: Nothing PROVIDES \'foo\'"\nexit 1\n'), [], {
      progressInterval: 60,
      graceSeconds: 5,
    });
    expect(run).toMatchObject({ exitCode: 1, stoppedBy: undefined, oomKilled: false });
    expect(buildResult(run)).toBe('failure');
    expect(failureMessage(run, { disk: [], diskDirs: {} })).toBe("BitBake exited with code 1: Nothing PROVIDES 'foo'");
  });
});

describe("OE's host tool check", () => {
  const HOSTTOOLS_ERROR =
    'echo "ERROR: The following required tools (as specified by HOSTTOOLS) appear to be unavailable in PATH, please install them in order to proceed:"\n';
  // BitBake prints the check's error once per server start attempt: twice here.
  const script = `${HOSTTOOLS_ERROR}echo "  chrpath diffstat"\n${HOSTTOOLS_ERROR}echo "  chrpath diffstat"\nexit 1\n`;

  it('names the missing tools and the buildtools input when BitBake ran on the runner without buildtools', async () => {
    setLogger(recordingLogger());
    const run = await runBitbake(host(script), [], { progressInterval: 60, graceSeconds: 5 });
    expect(run.summary.missingHostTools).toEqual(['chrpath', 'diffstat']);
    expect(failureMessage(run, { disk: [], diskDirs: {}, hostTools: {} })).toBe(
      "BitBake's host tools are missing on the runner: chrpath, diffstat (OE's HOSTTOOLS). Install them on the runner, " +
        "or let the action install Yocto's buildtools, which bring them: set the buildtools input (a release such as 5.0.8) " +
        'with buildtools-sha256, or a buildtools section in the config',
    );
    expect(failureMessage(run, { disk: [], diskDirs: {}, hostTools: { buildtools: '5.0.8' } })).toBe(
      "BitBake's host tools are missing on the runner and in buildtools 5.0.8: chrpath, diffstat (OE's HOSTTOOLS); install them on the runner",
    );
    expect(failureMessage(run, { disk: [], diskDirs: {}, hostTools: { image: 'crops/poky:ubuntu-22.04' } })).toBe(
      "BitBake's host tools are missing in the builder image crops/poky:ubuntu-22.04: chrpath, diffstat (OE's HOSTTOOLS); use an image that has them (container-image)",
    );
  });
});

describe('debug logging', () => {
  it("logs the command line and the names of BitBake's environment, never its values", async () => {
    const log = recordingLogger();
    setLogger(log);
    const h = host('exit 0\n');
    if (h.kind === 'direct') h.env.GITHUB_TOKEN_LIKE = 'hunter2';
    await runBitbake(h, ['-k', 'my image'], { progressInterval: 60, graceSeconds: 5 });
    const debug = log.lines('debug');
    expect(debug[0]).toBe(`Starting BitBake: bash ${h.kind === 'direct' && h.script} -k 'my image'`);
    expect(debug[1]).toBe("BitBake's environment (names only): PATH GITHUB_TOKEN_LIKE");
    expect(debug.join('\n')).not.toContain('hunter2');
  });

  it('shows the container command line with the environment values left out', () => {
    const line = commandLine(
      {
        kind: 'container',
        spec: {
          engine: 'docker',
          image: 'smidr-builder:bookworm',
          name: 'smidr-b1',
          user: { uid: 1000, gid: 1000 },
          mounts: [{ source: '/w/b 1', target: '/smidr/build', readonly: false }],
          env: { HOME: '/smidr/build/.smidr/home', SECRET: 'a=b' },
          workdir: '/smidr/build',
          securityOptions: [],
          labels: {},
          command: ['/bin/bash', '/smidr/build/.smidr/run-bitbake.sh', 'core-image-minimal'],
        },
      },
      ['core-image-minimal'],
    );
    expect(line).toBe(
      "docker run --name smidr-b1 --init --user 1000:1000 --workdir /smidr/build --entrypoint /bin/bash --mount 'type=bind,source=/w/b 1,target=/smidr/build' " +
        '--env HOME=… --env SECRET=… smidr-builder:bookworm /smidr/build/.smidr/run-bitbake.sh core-image-minimal',
    );
  });
});
