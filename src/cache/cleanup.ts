/**
 * The post step's clean-up around a save: the repository's cache usage before it, then, once the
 * save succeeded, the entries it superseded on this ref deleted, and the usage after. Nothing here
 * changes the build's result: a token without `actions: write` is one notice naming the workflow
 * line to add, any other failure a warning, and the rest of the clean-up is skipped.
 */
import { errorMessage } from '../util/errors.js';
import { formatBytes, formatDuration } from '../util/format.js';
import { log } from '../util/log.js';
import {
  type CacheEntriesApi,
  type CacheEntryInfo,
  CachePermissionDenied,
  type CacheUsage,
  githubCacheEntries,
} from './github-entries.js';
import { type DeletionScope, type Lineage, pickSuperseded } from './superseded.js';

/** What the clean-up needs from the runner; the token never leaves the post step's memory. */
export interface CleanupSettings {
  token: string;
  /** GITHUB_REPOSITORY, `owner/name`. */
  repository: string;
  /** GITHUB_REF. */
  ref: string;
  /** Set when the clean-up must not run, and why. */
  skip?: string;
}

/** What happened, for the log and the job summary. */
export interface CleanupReport {
  /** Why nothing was deleted, when nothing was tried. */
  skipped?: string;
  usageBefore?: CacheUsage;
  usageAfter?: CacheUsage;
  deleted: CacheEntryInfo[];
  /** The notice or warning that ended the clean-up early. */
  problem?: string;
}

export const PERMISSION_NOTICE =
  "Superseded cache entries were not deleted: the github-token may not delete this repository's caches " +
  '(GitHub answered 403). To have each save delete the entries it replaces, add to the workflow, ' +
  'or to this job: permissions: { actions: write, contents: read }';

/** A runner clock this far off GitHub's is said in the log (GitHub's Date header counts whole seconds). */
const CLOCK_NOTED_MS = 60_000;

export interface Cleanup {
  /** The usage before the save. */
  before(): Promise<void>;
  /** After a save: delete what `lineages` supersede, read the usage again, report. */
  after(lineages: Lineage[], restoreStartedMs: number): Promise<CleanupReport>;
}

export function startCleanup(
  s: CleanupSettings,
  api: CacheEntriesApi = s.skip ? unusedApi : githubCacheEntries(s.token, s.repository),
): Cleanup {
  const report: CleanupReport = { deleted: [], skipped: s.skip };
  if (s.skip) log.info(`Superseded cache entries are not deleted: ${s.skip}.`);
  /** Runs `body` unless the clean-up has already ended; a failure ends it. */
  const step = async (body: () => Promise<void>) => {
    if (report.skipped || report.problem) return;
    try {
      await body();
    } catch (e) {
      if (e instanceof CachePermissionDenied) {
        report.problem = PERMISSION_NOTICE;
        log.debug(e.message);
        log.notice(PERMISSION_NOTICE);
      } else {
        report.problem = `cache clean-up: ${errorMessage(e)}; superseded entries stay until GitHub evicts them`;
        log.warning(report.problem);
      }
    }
  };
  return {
    before: () =>
      step(async () => {
        report.usageBefore = await api.usage();
        log.info(`Repository cache usage before saving: ${usageText(report.usageBefore)}`);
      }),
    async after(lineages, restoreStartedMs) {
      if (lineages.length === 0) {
        report.skipped ??= 'nothing was saved';
        return report;
      }
      // The runner's time of the restore, on GitHub's clock: a runner whose clock runs ahead would
      // otherwise take entries a concurrent job saved after our restore for older ones.
      const ahead = report.usageBefore?.githubAheadMs ?? 0;
      if (Math.abs(ahead) > CLOCK_NOTED_MS)
        log.info(
          `The runner's clock is ${formatDuration(Math.abs(ahead))} ${ahead < 0 ? 'ahead of' : 'behind'} GitHub's: entries are dated by GitHub's`,
        );
      const scope = { ref: s.ref, restoreStartedMs: restoreStartedMs + ahead };
      await step(() => deleteSuperseded(api, lineages, scope, report.deleted));
      await step(async () => {
        report.usageAfter = await api.usage();
        log.info(
          `Repository cache usage after: ${usageText(report.usageAfter)} (GitHub refreshes it about every 5 minutes)`,
        );
      });
      return report;
    },
  };
}

async function deleteSuperseded(
  api: CacheEntriesApi,
  lineages: Lineage[],
  scope: DeletionScope,
  deleted: CacheEntryInfo[],
): Promise<void> {
  for (const lineage of lineages) {
    const doomed = pickSuperseded(await api.list(lineage.prefix, scope.ref), lineage, scope);
    if (doomed.length === 0) log.info(`No superseded cache entries under ${lineage.prefix} on ${scope.ref}`);
    for (const entry of doomed) {
      if (await api.remove(entry.id)) {
        deleted.push(entry);
        log.info(`Deleted superseded cache entry ${entry.key} (${formatBytes(entry.sizeBytes)}) on ${entry.ref}`);
      } else log.info(`Cache entry ${entry.key} was already gone`);
    }
  }
}

function usageText(u: CacheUsage): string {
  return `${formatBytes(u.bytes)} in ${u.entries} ${u.entries === 1 ? 'entry' : 'entries'}`;
}

/** Never called: a skipped clean-up makes no request. */
const unusedApi: CacheEntriesApi = {
  usage: () => Promise.reject(new Error('clean-up skipped')),
  list: () => Promise.reject(new Error('clean-up skipped')),
  remove: () => Promise.reject(new Error('clean-up skipped')),
};
