/**
 * DL_DIR as real BitBake's fetchers left it (test/fixtures/oracles/<series>/downloads.txt): a git
 * source, so a bare clone under git2/ with its .done stamp beside it.
 */
import { describe, expect, it } from 'vitest';

import { downloadNames, removeUnarchivableDownloads } from '../../../src/cache/downloads.js';
import { materialize, oracleListing, SERIES } from './oracles.js';

describe.each(SERIES)('DL_DIR from real BitBake (%s)', (series) => {
  const listing = oracleListing(series, 'downloads.txt');

  it('counts each stamped download once: the git clone, not the files inside it', async () => {
    const stamps = listing.filter((p) => p.endsWith('.done'));
    expect(stamps.some((p) => /^git2\/[^/]+\.git\.done$/.test(p))).toBe(true);
    const clone = stamps.find((p) => p.startsWith('git2/'))!.slice(0, -'.done'.length);
    expect(listing.filter((p) => p.startsWith(`${clone}/`)).length).toBeGreaterThan(3);
    expect(await downloadNames(materialize(listing))).toEqual(stamps.sort());
  });

  it('finds nothing to leave out of a completed DL_DIR, and removes the locks a killed fetch leaves', async () => {
    expect(await removeUnarchivableDownloads(materialize(listing))).toEqual([]);
    const clone = listing.find((p) => p.endsWith('.git.done'))!.slice(0, -'.done'.length);
    const killed = [...listing, `${clone}.lock`, `${clone}/shallow.lock`];
    expect((await removeUnarchivableDownloads(materialize(killed))).sort()).toEqual(
      [`${clone}.lock`, `${clone}/shallow.lock`].sort(),
    );
  });
});
