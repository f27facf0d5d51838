/** The job summary's part about the repository's cache: usage before and after a save, what it deleted. */
import type { CleanupReport } from '../cache/cleanup.js';
import type { CacheUsage } from '../cache/github-entries.js';
import { formatBytes } from '../util/format.js';
import { code, escapeText, table } from './markdown.js';

/** At most this many deleted entries are listed by key; a summary must stay readable. */
const MAX_LISTED = 30;

export function renderCleanupSummary(r: CleanupReport, savedArchiveBytes: number): string {
  const out = ['### Repository cache', ''];
  if (r.skipped) out.push(`Superseded entries not deleted: ${escapeText(r.skipped)}.`, '');
  if (r.usageBefore || r.usageAfter) {
    const deletedBytes = r.deleted.reduce((n, e) => n + e.sizeBytes, 0);
    out.push(
      table(
        ['', 'Entries', 'Size'],
        [
          ['usage before saving', ...usage(r.usageBefore)],
          ['saved by this job', '', formatBytes(savedArchiveBytes)],
          ['deleted as superseded', String(r.deleted.length), formatBytes(deletedBytes)],
          ['usage after (GitHub refreshes it about every 5 minutes)', ...usage(r.usageAfter)],
        ],
      ),
    );
  }
  if (r.deleted.length > 0) {
    out.push(
      table(
        ['Deleted entry', 'Ref', 'Size', 'Saved'],
        r.deleted
          .slice(0, MAX_LISTED)
          .map((e) => [
            code(e.key),
            code(e.ref),
            formatBytes(e.sizeBytes),
            Number.isNaN(e.createdAtMs) ? '–' : new Date(e.createdAtMs).toISOString(),
          ]),
      ),
    );
    if (r.deleted.length > MAX_LISTED) out.push(`And ${r.deleted.length - MAX_LISTED} more.`, '');
  }
  if (r.problem) out.push(escapeText(r.problem), '');
  return out.join('\n');
}

function usage(u: CacheUsage | undefined): [string, string] {
  return u ? [String(u.entries), formatBytes(u.bytes)] : ['–', '–'];
}
