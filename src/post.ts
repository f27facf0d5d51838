/** The post step: runs after the job's other steps, also when the job failed or was cancelled. */

import { readCleanupSettings } from './action/inputs.js';
import { loadStepState, type StepState } from './action/state.js';
import { removeContainer } from './bitbake/container.js';
import { waitForServerExit } from './bitbake/run.js';
import { type RestoredCaches, saveCaches, saveDecision } from './cache/caches.js';
import { startCleanup } from './cache/cleanup.js';
import { saveRemote } from './cache/remote/session.js';
import { supersededLineages } from './cache/superseded.js';
import { housekeep } from './local/housekeeping.js';
import { renderCleanupSummary } from './report/cleanup-summary.js';
import { renderRemoteSave } from './report/remote-summary.js';
import { appendSummary, renderSaveSummary } from './report/summary.js';
import { errorMessage, errorStack } from './util/errors.js';
import { log } from './util/log.js';

async function run(): Promise<void> {
  const state = loadStepState();
  if (!state) {
    log.info('The main step did not start a build; nothing to do.');
    return;
  }
  // The main step removes its container; a main step killed outright could not.
  if (state.container) removeContainer(state.container.engine, state.container.name);
  else if (!(await waitForServerExit(state.buildDir)))
    log.warning('BitBake server still running after 60 s; the hash-equivalence DB may be incomplete');

  if (state.cache.mode === 'actions') {
    if (!state.restored) return;
    const why = saveDecision(state.cache, state.result);
    if (why) {
      log.info(`Not saving caches: ${why}.`);
      if (state.summary) await appendSummary(renderSaveSummary(undefined, why));
      return;
    }
    await saveToActionsCache(state, state.restored);
  } else if (state.cache.mode === 'remote' && state.cache.remote) {
    const why = saveDecision(state.cache, state.result);
    if (why) {
      log.info(`Not saving to the remote cache: ${why}.`);
      if (state.summary) await appendSummary(renderRemoteSave(undefined, why));
      return;
    }
    const remote = {
      settings: state.cache.remote,
      dirs: state.dirs.caches,
      buildDir: state.buildDir,
      buildId: state.buildId,
      timeoutMs: state.cache.timeoutMs,
    };
    const saved = await log.group('Save to the remote cache', () => saveRemote(remote));
    if (state.summary) await appendSummary(renderRemoteSave(saved));
  } else if (state.cache.mode === 'local') {
    const report = await log.group('Housekeeping of the shared cache directories', () =>
      housekeep(state.dirs, state.cache),
    );
    for (const problem of report.problems) log.warning(`housekeeping: ${problem}`);
    log.info(
      `Removed ${report.sstateRemoved} sstate objects unused for ${state.cache.sstateMaxAgeDays} days and ${report.workspacesRemoved.length} workspaces older than ${state.cache.workspaceMaxAgeDays} days; ${report.skippedInUse.length} in use`,
    );
  }
}

/** Saves to the GitHub cache service, then deletes the entries those saves superseded. */
async function saveToActionsCache(state: StepState, restored: RestoredCaches): Promise<void> {
  const cleanup = startCleanup(readCleanupSettings());
  await cleanup.before();
  const saved = await log.group('Save caches', () => saveCaches(restored, state.dirs.caches, state.cache));
  const lineages = supersededLineages(restored.keys, saved);
  const cleaned = await log.group('Delete superseded cache entries', () =>
    // No restore time, no deletion: nothing is older than 0.
    cleanup.after(lineages, state.restoreStartedMs ?? 0),
  );
  const archives = (saved.downloads.archiveBytes ?? 0) + (saved.sstate.archiveBytes ?? 0);
  if (state.summary) await appendSummary(`${renderSaveSummary(saved)}\n${renderCleanupSummary(cleaned, archives)}`);
}

run().catch((e: unknown) => {
  log.debug(errorStack(e));
  log.warning(`post step: ${errorMessage(e)}`);
});
