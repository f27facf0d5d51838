import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { BitbakeOutputParser } from '../../src/bitbake/output.js';
import { buildAnnotations, MAX_ERRORS, MAX_WARNINGS } from '../../src/report/annotations.js';
import { diskWarning, type FsUsage } from '../../src/report/disk.js';
import { definitionLine, describeFailures, tail } from '../../src/report/failures.js';
import { code, table } from '../../src/report/markdown.js';
import { pathMapper } from '../../src/report/paths.js';
import { type BuildReport, renderSaveSummary, renderSummary } from '../../src/report/summary.js';

const GiB = 1024 ** 3;
const layers = [
  { name: 'poky', kind: 'git' as const, dir: '/runner/tool-cache/smidr-layers/poky-1234/abc' },
  { name: 'meta-x', kind: 'path' as const, dir: '/home/runner/work/repo/repo/meta-x' },
  { name: 'meta-x-extra', kind: 'path' as const, dir: '/home/runner/work/repo/repo/layers/extra' },
];
const caches = { downloads: '/tmp/c/downloads', sstate: '/tmp/c/sstate', hashserv: '/tmp/c/hashserv' };
const container = pathMapper({
  layers,
  buildDir: '/tmp/b/1',
  caches,
  inContainer: true,
  repository: '/home/runner/work/repo/repo',
});

function parse(text: string) {
  const p = new BitbakeOutputParser();
  for (const line of text.split('\n')) p.line(line);
  return p.summary;
}

describe('pathMapper', () => {
  it('maps container paths to the host, the longest mount first', () => {
    expect(container.toHost('/smidr/build/tmp/work/x/temp/log.do_compile.7')).toBe(
      '/tmp/b/1/tmp/work/x/temp/log.do_compile.7',
    );
    expect(container.toHost('/smidr/layers/meta-x-extra/conf/layer.conf')).toBe(
      '/home/runner/work/repo/repo/layers/extra/conf/layer.conf',
    );
    expect(container.toHost('/smidr/sstate/ab/cd/x.tar.zst')).toBe('/tmp/c/sstate/ab/cd/x.tar.zst');
    expect(container.toHost('/usr/bin/gcc')).toBe('/usr/bin/gcc');
  });
  it('gives repository paths only for path layers inside the repository', () => {
    expect(container.toRepo('/smidr/layers/meta-x/recipes/a/a_1.0.bb')).toBe('meta-x/recipes/a/a_1.0.bb');
    expect(container.toRepo('/smidr/layers/meta-x-extra/recipes/b.bb')).toBe('layers/extra/recipes/b.bb');
    expect(container.toRepo('/smidr/layers/poky/meta/recipes-core/busybox/busybox_1.36.1.bb')).toBeUndefined();
    expect(container.toRepo('/smidr/build/conf/local.conf')).toBeUndefined();
  });
  it('maps host paths as they are when BitBake runs on the runner', () => {
    const direct = pathMapper({
      layers,
      buildDir: '/tmp/b/1',
      caches,
      inContainer: false,
      repository: '/home/runner/work/repo/repo',
    });
    expect(direct.toHost('/tmp/b/1/tmp/log')).toBe('/tmp/b/1/tmp/log');
    expect(direct.toRepo('/home/runner/work/repo/repo/meta-x/recipes/a.bb')).toBe('meta-x/recipes/a.bb');
    expect(direct.toRepo('/smidr/layers/meta-x/recipes/a.bb')).toBeUndefined();
  });
  it('gives nothing for a path layer outside the repository', () => {
    const outside = pathMapper({
      layers: [{ name: 'l', kind: 'path', dir: '/srv/elsewhere/l' }],
      buildDir: '/b',
      caches,
      inContainer: true,
      repository: '/home/runner/work/repo/repo',
    });
    expect(outside.toRepo('/smidr/layers/l/recipes/a.bb')).toBeUndefined();
  });
});

describe('failures', () => {
  it('finds the line defining a task, shell or python', () => {
    const recipe =
      'SUMMARY = "x"\n\ndo_install:append() {\n}\ndo_compile () {\n  make\n}\npython do_configure() {\n}\nfakeroot do_install() {\n}\n';
    expect(definitionLine(recipe, 'do_compile')).toBe(5);
    expect(definitionLine(recipe, 'do_configure')).toBe(8);
    expect(definitionLine(recipe, 'do_install')).toBe(10);
    expect(definitionLine(recipe, 'do_fetch')).toBeUndefined();
  });
  it('reads the last lines of a log, also one larger than what it reads from the end', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'smidr-tail-'));
    const log = path.join(dir, 'log');
    writeFileSync(log, Array.from({ length: 5000 }, (_, i) => `line ${i + 1} ${'x'.repeat(40)}`).join('\n') + '\n');
    const lines = (await tail(log, 50))!;
    expect(lines).toHaveLength(50);
    expect(lines[0]).toMatch(/^line 4951 /);
    expect(lines[49]).toMatch(/^line 5000 /);
    expect(await tail(path.join(dir, 'missing'), 50)).toBeUndefined();
  });
  it('places a failure at its innermost frame in the repository, else at the task in the recipe', async () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'smidr-repo-'));
    const layer = path.join(repo, 'meta-x');
    const recipe = path.join(layer, 'b_1.0.bb');
    mkdirSync(layer);
    writeFileSync(recipe, 'LICENSE = "MIT"\n\ndo_install() {\n  false\n}\n');
    const paths = pathMapper({
      layers: [{ name: 'meta-x', kind: 'path', dir: layer }],
      buildDir: '/b',
      caches,
      inContainer: true,
      repository: repo,
    });
    const s = parse(
      [
        "ERROR: a-1.0-r0 do_compile: Execution of 'x' failed with exit code 1",
        'Backtrace (metadata-relative locations):',
        '\t#1: f, /smidr/layers/poky/meta/classes/c.bbclass, line 3',
        '\t#2: do_compile, /smidr/layers/meta-x/a_1.0.bb, line 12',
        "ERROR: Task (/smidr/layers/meta-x/a_1.0.bb:do_compile) failed with exit code '1'",
        "ERROR: Task (/smidr/layers/meta-x/b_1.0.bb:do_install) failed with exit code '1'",
        "ERROR: Task (/smidr/layers/poky/meta/c.bb:do_install) failed with exit code '1'",
      ].join('\n'),
    );
    const failed = await describeFailures(s, paths);
    expect(failed.map((f) => [f.label, f.location])).toEqual([
      ['a_1.0:do_compile', { file: 'meta-x/a_1.0.bb', line: 12 }],
      ['b_1.0:do_install', { file: 'meta-x/b_1.0.bb', line: 3 }],
      ['c:do_install', undefined],
    ]);
    expect(failed[0]!.logTail).toBeUndefined();
  });
});

describe('buildAnnotations', () => {
  it('annotates failed tasks and parse errors at repository files, others without a file', async () => {
    const s = parse(
      [
        "Parsing recipes...ERROR: ParseError at /smidr/layers/meta-x/recipes/a/a.bb:3: unparsed line: 'x'",
        "ERROR: ParseError at /smidr/layers/poky/meta/conf/bitbake.conf:9: unparsed line: 'y'",
      ].join('\n'),
    );
    expect(buildAnnotations(s, [], container)).toEqual([
      {
        level: 'error',
        title: 'BitBake parse error',
        message: "unparsed line: 'x'",
        file: 'meta-x/recipes/a/a.bb',
        line: 3,
      },
      {
        level: 'error',
        title: 'BitBake parse error',
        message: "/smidr/layers/poky/meta/conf/bitbake.conf:9: unparsed line: 'y'",
      },
    ]);
  });
  it('deduplicates warnings, places them at repository recipes, and counts those past the cap', () => {
    const lines = [
      'NOTE: Running task 1 of 9 (/smidr/layers/meta-x/recipes/a/a_1.0.bb:do_compile)',
      'NOTE: recipe a-1.0-r0: task do_compile: Started',
      'WARNING: a-1.0-r0 do_compile: old API',
      'WARNING: a-1.0-r0 do_compile: old API',
      'WARNING: /smidr/layers/meta-x/recipes/a/a_1.0.bb: Unable to get checksum for a SRC_URI entry b.patch: file could not be found',
      'WARNING: /smidr/layers/meta-x/conf/layer.conf:7: deprecated',
      'WARNING: /smidr/layers/poky/meta/recipes-core/z.bb: poky warning',
      ...Array.from({ length: 12 }, (_, i) => `WARNING: warning number ${i}`),
    ];
    const a = buildAnnotations(parse(lines.join('\n')), [], container);
    expect(a).toHaveLength(MAX_WARNINGS);
    expect(a.slice(0, 4)).toEqual([
      {
        level: 'warning',
        title: 'BitBake warning',
        message: 'a-1.0-r0 do_compile: old API',
        file: 'meta-x/recipes/a/a_1.0.bb',
      },
      {
        level: 'warning',
        title: 'BitBake warning',
        message:
          '/smidr/layers/meta-x/recipes/a/a_1.0.bb: Unable to get checksum for a SRC_URI entry b.patch: file could not be found',
        file: 'meta-x/recipes/a/a_1.0.bb',
        line: undefined,
      },
      {
        level: 'warning',
        title: 'BitBake warning',
        message: '/smidr/layers/meta-x/conf/layer.conf:7: deprecated',
        file: 'meta-x/conf/layer.conf',
        line: 7,
      },
      {
        level: 'warning',
        title: 'BitBake warning',
        message: '/smidr/layers/poky/meta/recipes-core/z.bb: poky warning',
      },
    ]);
    // 16 distinct warnings: 9 shown, the tenth counts the other 7.
    expect(a.at(-1)).toEqual({
      level: 'warning',
      title: '7 more BitBake warnings',
      message: '7 more BitBake warnings are not shown as annotations; see the build log and the job summary.',
    });
  });
  it('keeps room for the step failure among at most 10 errors', () => {
    const s = parse(
      Array.from(
        { length: 20 },
        (_, i) => `ERROR: Task (/smidr/layers/poky/meta/r${i}.bb:do_compile) failed with exit code '1'`,
      ).join('\n'),
    );
    const failed = s.failures.map((f) => ({ label: f.task, failure: f }));
    const a = buildAnnotations(s, failed, container);
    expect(a).toHaveLength(MAX_ERRORS);
    expect(a.at(-1)!.title).toBe('12 more BitBake errors');
  });
});

describe('diskWarning', () => {
  const usage: FsUsage = {
    holds: ['workspace', 'sstate'],
    totalBytes: 14 * GiB,
    usedBytes: 12 * GiB,
    freeBytes: 2 * GiB,
    percent: 86,
  };
  it('says nothing at or under the threshold', () => {
    expect(diskWarning({ ...usage, percent: 80 }, 'end', { tmpdir: 1, downloads: 1, sstate: 1 })).toBeUndefined();
  });
  it('names the sizes and offers rm_work when TMPDIR takes most of the space', () => {
    expect(diskWarning(usage, 'end', { tmpdir: 9 * GiB, downloads: GiB, sstate: 2 * GiB })).toBe(
      'The filesystem holding workspace, sstate is 86% full at the end of the build (12.0 GiB used, 2.0 GiB free of 14.0 GiB). ' +
        'TMPDIR 9.0 GiB, downloads 1.0 GiB, sstate 2.0 GiB. ' +
        'TMPDIR takes most of it: add INHERIT += "rm_work" to build.local_conf (or the local-conf input) to delete each recipe\'s work files once it is built.',
    );
  });
  it('points at the caches when they take the space', () => {
    expect(diskWarning(usage, 'start', { tmpdir: 0, downloads: 3 * GiB, sstate: 6 * GiB })).toMatch(
      / at the start .*Free space on the runner before the build/,
    );
  });
});

describe('summary markdown', () => {
  it('keeps table cells and code spans intact', () => {
    expect(table(['a', 'b'], [['x | y', 'two\nlines']])).toBe('| a | b |\n| --- | --- |\n| x \\| y | two lines |\n');
    expect(code('plain')).toBe('`plain`');
    expect(code('a `b` c')).toBe('`` a `b` c ``');
  });

  const report: BuildReport = {
    targets: ['core-image-minimal'],
    machine: 'qemux86-64',
    distro: 'poky',
    result: 'failure',
    durationMs: 3_725_000,
    failureMessage: 'BitBake failed: 1 task(s) failed: a_1.0:do_compile',
    layers: [
      {
        name: 'poky',
        kind: 'git',
        url: 'https://git.yoctoproject.org/poky',
        dir: '/x',
        commit: '0123456789abcdef0123',
        branch: 'scarthgap',
      },
      { name: 'meta-x', kind: 'path', url: 'https://github.com/o/r', dir: '/y', commit: 'fedcba9876543210fedc' },
    ],
    restored: {
      downloads: { kind: 'exact', key: 'k-downloads', seconds: 1.25, bytes: 2 * GiB, archiveBytes: 1.5 * GiB },
      sstate: { kind: 'miss', seconds: 0.5, bytes: 0 },
      hashserv: 'miss',
    },
    bitbake: {
      tasksAttempted: 100,
      tasksRun: 20,
      tasksReused: 79,
      tasksFailed: 1,
      sstate: { wanted: 50, local: 40, mirrors: 2, missed: 8, current: 0, matchPercent: 84, completePercent: 0 },
      warnings: 2,
    },
    images: [{ name: 'core-image-minimal-qemux86-64.rootfs.ext4', bytes: 5 * 1024 * 1024 }],
    failed: [
      {
        label: 'a_1.0:do_compile',
        failure: {
          recipeFile: '/smidr/layers/meta-x/a_1.0.bb',
          task: 'do_compile',
          logFile: '/smidr/build/tmp/log.do_compile.1',
          frames: [],
        },
        logFile: '/b/tmp/log.do_compile.1',
        logTail: ['make: *** [all] Error 1', 'a ``` fence in the log'],
        location: { file: 'meta-x/a_1.0.bb', line: 12 },
      },
    ],
    parseErrors: [{ where: 'meta-x/a_1.0.bb', line: 3, message: "unparsed line: 'x_y'" }],
    disk: {
      start: [
        {
          holds: ['workspace', 'downloads', 'sstate'],
          totalBytes: 72 * GiB,
          usedBytes: 50 * GiB,
          freeBytes: 22 * GiB,
          percent: 70,
        },
      ],
      end: [
        {
          holds: ['workspace', 'downloads', 'sstate'],
          totalBytes: 72 * GiB,
          usedBytes: 60 * GiB,
          freeBytes: 12 * GiB,
          percent: 84,
        },
      ],
    },
  };

  it('renders every section with its figures, what failed first', () => {
    const md = renderSummary(report);
    expect(md.indexOf('### Failed tasks')).toBeLessThan(md.indexOf('### Layers'));
    expect(md).toContain("### Parse errors\n\n- `meta-x/a_1.0.bb:3`: unparsed line: 'x\\_y'\n");
    expect(md).toContain('| core-image-minimal | qemux86-64 | poky | failure | 1h02m |');
    expect(md).toContain(
      '| poky | [https://git.yoctoproject.org/poky](https://git.yoctoproject.org/poky) | `0123456789ab` (scarthgap) |',
    );
    expect(md).toContain(
      '| meta-x | this repository ([https://github.com/o/r](https://github.com/o/r)) | `fedcba987654` |',
    );
    expect(md).toContain('| downloads | exact | `k-downloads` | 1.5 GiB | 2.0 GiB | 1.3 s |');
    expect(md).toContain('| sstate | miss | – | – | 0 B | 0.5 s |');
    expect(md).toContain('| 20 | 79 | 1 | 50 | 40 | 2 | 8 | 0 | 84% |');
    expect(md).toContain('2 BitBake warnings');
    expect(md).toContain('| `core-image-minimal-qemux86-64.rootfs.ext4` | 5.0 MiB |');
    expect(md).toContain('| workspace, downloads, sstate | 72.0 GiB | 50.0 GiB (70%) | 60.0 GiB (84%) | 12.0 GiB |');
    expect(md).toContain('<details><summary><b>a_1.0:do_compile</b> at <code>meta-x/a_1.0.bb:12</code></summary>');
    // The fence is longer than any backtick run in the log, so the log cannot end it.
    expect(md).toContain('````text\nmake: *** [all] Error 1\na ``` fence in the log\n````\n\n</details>');
  });

  it('heads a build stopped at the time budget, and one that never ran a task', () => {
    const md = renderSummary({
      ...report,
      result: 'stopped',
      failed: [],
      bitbake: { tasksFailed: 0, warnings: 0 },
      restored: undefined,
      images: [],
    });
    expect(md).toMatch(/^## ⏹️ `core-image-minimal` for `qemux86-64`: stopped\n/);
    expect(md).toContain('### BitBake\n\nBitBake did not get as far as running tasks.\n');
    expect(md).not.toContain('### Caches restored');
    expect(md).not.toContain('### Images');
    expect(md).not.toContain('BitBake warning');
  });

  it('shows the logs of the first 20 failed tasks and names the rest', () => {
    const many = Array.from({ length: 23 }, (_, i) => ({
      ...report.failed[0]!,
      label: `r${i}:do_compile`,
      logTail: ['x'.repeat(600)],
    }));
    const md = renderSummary({ ...report, failed: many });
    expect(md.match(/<details>/g)).toHaveLength(20);
    expect(md).toContain('And 3 more: `r20:do_compile`, `r21:do_compile`, `r22:do_compile`.');
    expect(md).toContain(`${'x'.repeat(500)} […]\n`);
  });

  it('renders each part restored: its base and the delta on it', () => {
    const md = renderSummary({
      ...report,
      restored: {
        ...report.restored!,
        parts: [
          {
            part: 'shared',
            lineage: 'S@',
            kind: 'partial',
            base: { key: 'S@base-1-1-aa', objects: 40, bytes: 2 * GiB, archiveBytes: 1.5 * GiB },
            seconds: 20,
          },
          {
            part: 'machine',
            lineage: 'M@',
            kind: 'exact',
            base: { key: 'M@base-1-1-aa', objects: 90, bytes: 3 * GiB },
            delta: { key: 'M@delta-1-1-aa-2-1-bb', objects: 4, bytes: 100 * 1024 ** 2 },
            seconds: 30.04,
          },
          { part: 'downloads', lineage: 'D@', kind: 'miss', seconds: 0.5 },
        ],
      },
    });
    expect(md).toContain('| Part | Match | Base | Delta on it | Restore time |');
    expect(md).toContain(
      '| sstate shared by every machine | partial | `S@base-1-1-aa`: 40 objects, 2.0 GiB (archive 1.5 GiB) | – | 20.0 s |',
    );
    expect(md).toContain(
      '| machine sstate + hash-equivalence DB | exact | `M@base-1-1-aa`: 90 objects, 3.0 GiB | `M@delta-1-1-aa-2-1-bb`: 4 objects, 100.0 MiB | 30.0 s |',
    );
    expect(md).toContain('| downloads | miss | – | – | 0.5 s |');
  });

  it('renders what each part saved: a new base and why, a delta on its base, nothing, a lost race', () => {
    const md = renderSaveSummary({
      downloads: {},
      sstate: {},
      parts: [
        {
          part: 'shared',
          lineage: 'S@',
          kind: 'delta',
          key: 'S@delta-x',
          baseKey: 'S@base-x',
          lostRace: true,
          seconds: 1,
        },
        {
          part: 'machine',
          lineage: 'M@',
          kind: 'delta',
          key: 'M@delta-1-1-aa-2-1-bb',
          baseKey: 'M@base-1-1-aa',
          objects: 4,
          bytes: 100 * 1024 ** 2,
          archiveBytes: 90 * 1024 ** 2,
          seconds: 3,
        },
        {
          part: 'downloads',
          lineage: 'D@',
          kind: 'base',
          key: 'D@base-2-1-bb',
          why: 'no base was restored',
          objects: 3,
          bytes: 1024,
          archiveBytes: 900,
          seconds: 1,
        },
      ],
    });
    expect(md).toContain(
      '| sstate shared by every machine | delta: saved by another job of this run first | – | – | – | – | 1.0 s |',
    );
    expect(md).toContain(
      '| machine sstate + hash-equivalence DB | delta on `M@base-1-1-aa` | `M@delta-1-1-aa-2-1-bb` | 4 | 100.0 MiB | 90.0 MiB | 3.0 s |',
    );
    expect(md).toContain(
      '| downloads | new base (no base was restored) | `D@base-2-1-bb` | 3 | 1.0 KiB | 900 B | 1.0 s |',
    );
  });

  it('renders what was saved, or why nothing was', () => {
    expect(renderSaveSummary(undefined, 'a pull_request build restores only')).toBe(
      '### Caches saved\n\nNothing saved: a pull\\_request build restores only.\n',
    );
    const md = renderSaveSummary({
      downloads: { skipped: 'no new downloads' },
      sstate: {
        key: 'k-sstate',
        bytes: 3 * GiB,
        archiveBytes: 2.5 * GiB,
        seconds: 40.04,
        pruned: {
          objects: 12,
          bytes: 1024,
          superseded: 10,
          overLimit: ['zlib:do_populate_sysroot', 'busybox:do_package'],
        },
      },
    });
    expect(md).toContain('| downloads | no new downloads | – | – | – |');
    expect(md).toContain(
      '| sstate + hash-equivalence DB | `k-sstate` | 2.5 GiB | 3.0 GiB | 40.0 s | 12 objects, 1.0 KiB: 10 superseded, 2 over cache-size-limit (least recently used first: `zlib:do_populate_sysroot`, `busybox:do_package`) |',
    );
  });
});
