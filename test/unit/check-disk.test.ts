/** The disk-nearly-full warning at the start and end of a build, with usage and sizes passed in. */
import { afterEach, describe, expect, it } from 'vitest';

import type { BuildDirSizes, FsUsage } from '../../src/report/disk.js';
import { checkDisk } from '../../src/report/report.js';
import { actionLogger, setLogger } from '../../src/util/log.js';
import { recordingLogger } from '../support/recording-logger.js';

const GiB = 1024 ** 3;
const workspace = { buildDir: '/w/b1', caches: { downloads: '/c/dl', sstate: '/c/sstate', hashserv: '/c/hs' } };
const usage = (percent: number): FsUsage[] => [
  {
    holds: ['workspace', 'downloads', 'sstate'],
    totalBytes: 100 * GiB,
    usedBytes: percent * GiB,
    freeBytes: (100 - percent) * GiB,
    percent,
  },
];
const sizes: BuildDirSizes = { tmpdir: 30 * GiB, downloads: 5 * GiB, sstate: 10 * GiB };

afterEach(() => setLogger(actionLogger));

describe('checkDisk', () => {
  it('warns over the threshold (80% by default), naming the sizes; reads sizes only then', async () => {
    const log = recordingLogger();
    setLogger(log);
    const asked: string[] = [];
    const readSizes = async (d: { tmpdir: string }) => (asked.push(d.tmpdir), sizes);
    expect(await checkDisk(workspace, 'start', { readUsage: async () => usage(80), readSizes })).toEqual(usage(80));
    expect(log.entries).toEqual([]);
    expect(asked).toEqual([]);

    await checkDisk(workspace, 'end', { readUsage: async () => usage(91), readSizes, tmpdir: '/w/b1/tmp-glibc' });
    expect(asked).toEqual(['/w/b1/tmp-glibc']);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.kind).toBe('warning');
    expect(log.entries[0]!.place).toEqual({ title: 'Disk nearly full' });
    expect(log.entries[0]!.message).toMatch(
      /^The filesystem holding workspace, downloads, sstate is 91% full at the end of the build \(91\.0 GiB used, 9\.0 GiB free of 100\.0 GiB\)\. TMPDIR 30\.0 GiB, downloads 5\.0 GiB, sstate 10\.0 GiB\. TMPDIR takes most of it/,
    );
  });

  it('takes a lower threshold as an option, and reads TMPDIR under the build directory by default', async () => {
    const log = recordingLogger();
    setLogger(log);
    const asked: string[] = [];
    await checkDisk(workspace, 'start', {
      threshold: 1,
      readUsage: async () => usage(2),
      readSizes: async (d) => (asked.push(d.tmpdir), sizes),
    });
    expect(asked).toEqual(['/w/b1/tmp']);
    expect(log.lines('warning')[0]).toContain(' is 2% full at the start of the build ');
  });

  it('is only a warning when usage cannot be read', async () => {
    const log = recordingLogger();
    setLogger(log);
    const readUsage = () => Promise.reject(new Error('statfs failed'));
    expect(await checkDisk(workspace, 'start', { readUsage })).toEqual([]);
    expect(log.lines('warning')).toEqual(['could not read disk usage: statfs failed']);
  });

  it('reads the real filesystems by default', async () => {
    setLogger(recordingLogger());
    const here = {
      buildDir: process.cwd(),
      caches: { downloads: process.cwd(), sstate: process.cwd(), hashserv: process.cwd() },
    };
    const [fs] = await checkDisk(here, 'start', { threshold: 100 });
    expect(fs!.holds).toEqual(['workspace', 'downloads', 'sstate']);
    expect(fs!.totalBytes).toBeGreaterThan(0);
  });
});
