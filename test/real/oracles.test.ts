/**
 * Records the oracles the unit tier compares against (test/fixtures/oracles), from real BitBake and
 * OpenEmbedded-Core. Opt-in: `SMIDR_RECORD_ORACLES=<dir> npm run test:real`, with the checkouts of
 * series.ts; each series with checkouts writes `<dir>/<series>/`. Without the variable this file
 * skips.
 *
 * BitBake runs directly in the builder container (no action in between), on a copy of
 * test/fixtures/meta-smidr-real, so the files are BitBake's own: its knotty output (stdout and
 * stderr, merged as a container log shows them) and its SSTATE_DIR, DL_DIR and hash-equivalence DB
 * as it leaves them once its server and hash server have exited.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BUILDER_IMAGE, dockerAvailable, FIXTURES, scratch } from '../support/world.js';
import { createSourceRepo, fixedGit } from './layer.js';
import { type RealSeries, SERIES, seriesSkipReason } from './series.js';

const RECORD_DIR = process.env.SMIDR_RECORD_ORACLES;
const LONG = 1_800_000;
/** The container's view: everything under one mount. */
const MOUNT = '/smidr';
/** One target of each kind: target, native, allarch, cross (PN names the target architecture). */
const TARGETS = ['smidr-real-app', 'smidr-real-tool-native', 'smidr-real-data', 'smidr-real-cross-x86_64'];
const PROBE_RECIPE = 'recipes-real/smidr-real-probe/smidr-real-probe_1.0.bb';
const BASE_RECIPE = 'recipes-real/smidr-real-base/smidr-real-base_1.0.bb';

/**
 * Sources the environment, runs bitbake with the arguments (its pid in bitbake.pid, for SIGINT),
 * then waits until every BitBake process (server, hash server, workers) is gone.
 */
const SCRIPT = `exec 2>&1
. ${MOUNT}/layers/openembedded-core/oe-init-build-env ${MOUNT}/build ${MOUNT}/layers/bitbake > /dev/null || exit 1
sh -c 'echo $$ > ${MOUNT}/bitbake.pid; exec bitbake "$@"' bitbake "$@"
rc=$?
i=0
while [ $i -lt 240 ] && ps -eo comm= | grep -qvxE 'docker-init|bash|sh|ps|grep|sleep'; do sleep 0.5; i=$((i + 1)); done
exit $rc`;

function autoConf(s: RealSeries, extra: string[] = []): string {
  return `${[
    'MACHINE = "qemux86-64"',
    'DISTRO = "nodistro"',
    // One task at a time: the machine is shared, and the logs read in a fixed order.
    'BB_NUMBER_THREADS = "1"',
    'BB_NUMBER_PARSE_THREADS = "1"',
    `TMPDIR = "${MOUNT}/build/tmp"`,
    `DL_DIR = "${MOUNT}/downloads"`,
    `SSTATE_DIR = "${MOUNT}/sstate-cache"`,
    // The DB outside the build directory: BB_HASHSERVE_DB_DIR from 2.18, PERSISTENT_DIR before.
    `BB_HASHSERVE_DB_DIR = "${MOUNT}/hashserv"`,
    `PERSISTENT_DIR = "${MOUNT}/hashserv"`,
    'BB_SIGNATURE_HANDLER = "OEEquivHash"',
    'BB_HASHSERVE = "auto"',
    'BB_NO_NETWORK = "1"',
    'INHERIT:remove = "uninative"',
    'BBMASK = "/openembedded-core/meta/recipes-"',
    'BBFILE_PATTERN_IGNORE_EMPTY_core = "1"',
    ...s.localConf,
    ...extra,
  ].join('\n')}\n`;
}

/** Every file (and symlink) below dir, relative to it, sorted. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

function describeCheckout(dir: string, version: boolean): string {
  const commit = fixedGit(dir, 'rev-parse', 'HEAD').trim();
  const date = fixedGit(dir, 'log', '-1', '--format=%cs').trim();
  const v = version
    ? /__version__ = "([^"]+)"/.exec(readFileSync(path.join(dir, 'lib', 'bb', '__init__.py'), 'utf8'))?.[1]
    : undefined;
  return `${v ? `${v} ` : ''}(commit ${commit}, ${date})`;
}

for (const s of SERIES) {
  const skip = RECORD_DIR ? seriesSkipReason(s) : 'set SMIDR_RECORD_ORACLES=<dir> to record the oracles';
  if (skip && RECORD_DIR) console.log(`[oracles] ${s.id}: skipped: ${skip}`);

  describe.skipIf(skip !== undefined)(`oracles from real BitBake ${s.id}`, () => {
    let root: string;
    let out: string;
    let runs = 0;
    const recorded = new Map<string, string>();

    function record(name: string, what: string, content?: string): void {
      if (content !== undefined) writeFileSync(path.join(out, name), content);
      recorded.set(name, what);
    }

    function writeConf(extra: string[] = []): void {
      writeFileSync(path.join(root, 'build', 'conf', 'auto.conf'), autoConf(s, extra));
    }

    /** One bitbake command; with interruptOn, SIGINT to the client once a line matches. */
    async function bitbake(args: string[], interruptOn?: RegExp): Promise<{ code: number | null; log: string }> {
      const name = `smidr-oracles-${s.id}-${process.pid}-${++runs}`;
      const user = process.getuid?.() === 0 ? '1000:1000' : `${process.getuid?.()}:${process.getgid?.()}`;
      if (process.getuid?.() === 0) execFileSync('chown', ['-R', user, root]);
      // A second run in the same build directory, BitBake master and a read-only or foreign lib/
      // dir: pysh's table module written into the build directory by the first run breaks the import.
      rmSync(path.join(root, 'build', 'pyshtables.py'), { force: true });
      // The machine is shared: one core's worth.
      const docker = spawn('docker', [
        ...['run', '--rm', '--name', name, '--init', '--user', user, '--network', 'none', '--cpus', '1'],
        ...['--env', `HOME=${MOUNT}/home`, '--workdir', MOUNT, '--mount', `type=bind,source=${root},target=${MOUNT}`],
        ...[BUILDER_IMAGE, 'bash', '-c', SCRIPT, 'bash', ...args],
      ]);
      let log = '';
      let interrupted = false;
      docker.stdout.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (interruptOn && !interrupted && interruptOn.test(log)) {
          interrupted = true;
          execFileSync('docker', ['exec', name, 'sh', '-c', `kill -INT "$(cat ${MOUNT}/bitbake.pid)"`]);
        }
      });
      docker.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      const code = await new Promise<number | null>((resolve) => docker.on('close', resolve));
      console.log(`[oracles] ${s.id}: bitbake ${args.join(' ')}: exit ${code}`);
      return { code, log };
    }

    beforeAll(async () => {
      if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/setup.sh`);
      root = scratch(`oracles-${s.id}`);
      out = path.join(path.resolve(RECORD_DIR!), s.id);
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      const layers = path.join(root, 'layers');
      fixedGit(root, 'clone', '-q', '--shared', '-b', s.bitbakeBranch, process.env[s.bitbakeVar]!, 'layers/bitbake');
      fixedGit(
        root,
        'clone',
        '-q',
        '--shared',
        '-b',
        s.oecoreBranch,
        process.env[s.oecoreVar]!,
        'layers/openembedded-core',
      );
      const layer = path.join(layers, 'meta-smidr-real');
      cpSync(path.join(FIXTURES, 'meta-smidr-real'), layer, { recursive: true });
      createSourceRepo(layer);
      fixedGit(layer, 'init', '-q', '-b', 'main');
      fixedGit(layer, 'add', '-A');
      fixedGit(layer, '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'meta-smidr-real');
      for (const d of ['home', 'hashserv', 'build/conf']) mkdirSync(path.join(root, d), { recursive: true });
      // The checkouts belong to the host user; BitBake's git calls run as the build user.
      writeFileSync(path.join(root, 'home', '.gitconfig'), '[safe]\n\tdirectory = *\n');
      writeFileSync(
        path.join(root, 'build', 'conf', 'bblayers.conf'),
        `BBPATH = "\${TOPDIR}"\nBBFILES ?= ""\nBBLAYERS = "${MOUNT}/layers/openembedded-core/meta ${MOUNT}/layers/meta-smidr-real"\n`,
      );
      writeConf();
      const bb = `BitBake ${describeCheckout(path.join(layers, 'bitbake'), true)}, OE-core ${s.oecoreBranch} ${describeCheckout(path.join(layers, 'openembedded-core'), false)}`;

      const cold = await bitbake(TARGETS);
      expect(cold.code, cold.log).toBe(0);
      record('knotty-success.log', `a cold build of ${TARGETS.join(', ')}`, cold.log);

      // The same output under a new task hash: hash equivalence, setscene tasks in the log.
      const base = path.join(layer, BASE_RECIPE);
      writeFileSync(base, readFileSync(base, 'utf8').replace('install -m 0644', 'install -m 644'));
      const rebuild = await bitbake(TARGETS);
      expect(rebuild.code, rebuild.log).toBe(0);
      record(
        'knotty-rebuild.log',
        'the same targets after a change of smidr-real-base that keeps its output',
        rebuild.log,
      );

      record(
        'sstate-cache.txt',
        'SSTATE_DIR after both builds, relative paths',
        `${listing(path.join(root, 'sstate-cache')).join('\n')}\n`,
      );
      record(
        'downloads.txt',
        'DL_DIR after both builds, relative paths',
        `${listing(path.join(root, 'downloads')).join('\n')}\n`,
      );
      // Copied before anything of ours opens the DB (a reader would change -shm, a writer the WAL).
      for (const f of ['hashserv.db', 'hashserv.db-wal']) {
        const from = path.join(root, 'hashserv', f);
        if (!existsSync(from)) continue;
        cpSync(from, path.join(out, f));
        record(f, `as BitBake left it after both builds (${statSync(from).size} bytes)`);
      }

      // A fresh TMPDIR on the same SSTATE_DIR, as a CI job with a warm cache: setscene tasks only.
      rmSync(path.join(root, 'build', 'tmp'), { recursive: true, force: true });
      const warm = await bitbake(TARGETS);
      expect(warm.code, warm.log).toBe(0);
      record('knotty-warm.log', 'the same targets again in a fresh TMPDIR: everything from sstate', warm.log);

      writeConf(['SMIDR_REAL_PROBE_FAIL = "1"']);
      const failure = await bitbake(['smidr-real-probe']);
      expect(failure.code, failure.log).toBe(1);
      record('knotty-task-failure.log', 'smidr-real-probe:do_deploy failing (exit 1)', failure.log);

      const probe = path.join(layer, PROBE_RECIPE);
      const probeText = readFileSync(probe, 'utf8');
      const lines = probeText.split('\n');
      lines.splice(2, 0, 'this is not bitbake');
      writeFileSync(probe, lines.join('\n'));
      const parse = await bitbake(['smidr-real-probe']);
      expect(parse.code, parse.log).toBe(1);
      record('knotty-parse-error.log', `line 3 of ${path.basename(PROBE_RECIPE)} is not BitBake syntax`, parse.log);
      writeFileSync(probe, probeText);

      writeConf(['SMIDR_REAL_PROBE_SECONDS = "15"']);
      const sigint = await bitbake(['smidr-real-probe'], /smidr-real-probe-1\.0-r0: task do_deploy: Started/);
      expect(sigint.code, sigint.log).toBe(1);
      record('knotty-sigint.log', 'SIGINT to bitbake while smidr-real-probe:do_deploy (15 s) runs', sigint.log);

      const readme = [
        `# Oracles recorded from ${s.id}`,
        '',
        `Written by test/real/oracles.test.ts on ${new Date().toISOString().slice(0, 10)}; do not edit. Every file comes from`,
        `${bb}, on test/fixtures/meta-smidr-real (qemux86-64, nodistro, BB_NUMBER_THREADS 1, offline).`,
        '',
        '| file | what |',
        '|---|---|',
        ...[...recorded].map(([file, what]) => `| \`${file}\` | ${what} |`),
        '',
      ];
      writeFileSync(path.join(out, 'README.md'), readme.join('\n'));
    }, LONG);

    afterAll(() => {
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it('recorded native, cross and allarch sstate objects', () => {
      const objects = readFileSync(path.join(out, 'sstate-cache.txt'), 'utf8').split('\n');
      expect(objects.some((o) => /^[^/]+\/..\/..\/sstate:smidr-real-tool-native:x86_64-linux:/.test(o))).toBe(true);
      expect(objects.some((o) => /^[^/]+\/..\/..\/sstate:smidr-real-cross-x86_64:x86_64-/.test(o))).toBe(true);
      expect(objects.some((o) => /^..\/..\/sstate:smidr-real-data:all-[^:]+:1\.0:r0:allarch:/.test(o))).toBe(true);
    });

    it('recorded git2/ downloads with their .done stamps', () => {
      const names = readFileSync(path.join(out, 'downloads.txt'), 'utf8').split('\n');
      expect(names.some((n) => /^git2\/[^/]+smidr-real-src\.git\.done$/.test(n))).toBe(true);
    });

    it('recorded the DB with the WAL BitBake leaves', () => {
      expect(statSync(path.join(out, 'hashserv.db-wal')).size).toBeGreaterThan(0);
    });

    it('recorded each outcome in the logs', () => {
      const log = (f: string) => readFileSync(path.join(out, f), 'utf8');
      expect(log('knotty-success.log')).toMatch(/^NOTE: Tasks Summary: .* and all succeeded\.$/m);
      expect(log('knotty-rebuild.log')).toMatch(/^NOTE: Running setscene task /m);
      expect(log('knotty-warm.log')).toMatch(/^Initialising tasks\.\.\.Sstate summary: .*\(100% match, /m);
      expect(log('knotty-task-failure.log')).toMatch(/^ERROR: Task \(.*smidr-real-probe_1\.0\.bb:do_deploy\) failed/m);
      expect(log('knotty-parse-error.log')).toMatch(/ParseError at .*smidr-real-probe_1\.0\.bb:3: /);
      expect(log('knotty-sigint.log')).toContain('Keyboard Interrupt');
    });
  });
}
