/** free-disk-space: when the hosted image's toolchains are removed, and the removal itself. */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { FREE_SPACE_THRESHOLD_BYTES, freeDiskDecision, freeDiskSpace, PREINSTALLED } from '../../src/host/free-disk.js';

const GB = 1000 ** 3;

describe('freeDiskDecision', () => {
  it('auto frees a hosted runner only when the build has less than the threshold', () => {
    expect(FREE_SPACE_THRESHOLD_BYTES).toBe(60 * GB);
    expect(freeDiskDecision('auto', true, 14 * GB)).toMatchObject({ free: true });
    expect(freeDiskDecision('auto', true, 14 * GB).why).toMatch(/only 13\.0 GiB free \(less than 55\.9 GiB\)/);
    expect(freeDiskDecision('auto', true, 70 * GB)).toMatchObject({ free: false });
  });

  it('never touches a self-hosted runner unless true', () => {
    expect(freeDiskDecision('auto', false, 1 * GB)).toEqual({
      free: false,
      why: 'a self-hosted runner is never cleaned unless free-disk-space is true',
    });
    expect(freeDiskDecision('true', false, 500 * GB)).toMatchObject({ free: true });
  });

  it('false never frees, however small the disk', () => {
    expect(freeDiskDecision('false', true, 1 * GB)).toMatchObject({ free: false });
  });
});

describe('freeDiskSpace', () => {
  it('removes every preinstalled tool present under the root and says what', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'smidr-runner-root-'));
    for (const p of PREINSTALLED.filter((x) => x.what !== 'GHCup')) {
      const full = path.join(root, p.dir);
      if (p.what === 'swap file') {
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, Buffer.alloc(1024));
      } else {
        mkdirSync(path.join(full, 'sdk'), { recursive: true });
        writeFileSync(path.join(full, 'sdk', 'big'), Buffer.alloc(1024));
      }
    }
    mkdirSync(path.join(root, 'usr', 'bin'), { recursive: true });
    const freed = await freeDiskSpace(root);
    expect(freed.removed.sort()).toEqual(['.NET', 'Android SDK', 'CodeQL bundle', 'GHC', 'swap file']);
    expect(freed.failed).toEqual([]);
    for (const p of PREINSTALLED) expect(existsSync(path.join(root, p.dir))).toBe(false);
    expect(existsSync(path.join(root, 'usr', 'bin'))).toBe(true);
    expect(freed.description).toMatch(/^removed .NET, Android SDK, GHC, CodeQL bundle, swap file: .* gained on /);
  });
});
