/** Choosing the disk of a hosted runner's build. */
import { describe, expect, it } from 'vitest';

import { chooseCandidate } from '../../src/host/placement.js';

const GB = 1e9;

describe('chooseCandidate', () => {
  it('takes the filesystem with the most free space', () => {
    const temp = { dir: '/home/runner/work/_temp/smidr', freeBytes: 14 * GB, stable: true };
    const mnt = { dir: '/mnt/smidr', freeBytes: 66 * GB, stable: false };
    expect(chooseCandidate([temp, mnt])).toBe(mnt);
    expect(chooseCandidate([{ ...temp, freeBytes: 90 * GB }, mnt]).dir).toBe(temp.dir);
  });

  it('keeps RUNNER_TEMP on a tie and when it is the only candidate', () => {
    const temp = { dir: '/t', freeBytes: GB, stable: true };
    expect(chooseCandidate([{ dir: '/mnt/smidr', freeBytes: GB, stable: false }, temp])).toBe(temp);
    expect(chooseCandidate([temp])).toBe(temp);
  });
});
