/** The post step: runs after the job's other steps, also when the job failed or was cancelled. */

import { loadBuildState } from './action/state.js';
import { removeContainer } from './bitbake/container.js';
import { waitForServerExit } from './bitbake/run.js';
import { loadCacheState, saveCaches, saveDecision } from './cache/caches.js';
import { loadRemoteState, saveRemote } from './cache/remote/session.js';
import { housekeep } from './local/housekeeping.js';
import { appendSummary, renderSaveSummary } from './report/summary.js';
import { errorMessage, errorStack } from './util/errors.js';
import { log } from './util/log.js';

async function run(): Promise<void> {
  const state = loadBuildState();
  if (!state) {
    log.info('The main step did not start a build; nothing to do.');
    return;
  }
  // The main step removes its container; a main step killed outright could not.
  if (state.containerEngine && state.containerName) removeContainer(state.containerEngine, state.containerName);
  else if (!(await waitForServerExit(state.buildDir)))
    log.warning('BitBake server still running after 60 s; the hash-equivalence DB may be incomplete');

  if (state.cacheMode === 'actions') {
    const caches = loadCacheState();
    if (!caches) return;
    const why = saveDecision(caches, state.result);
    if (why) {
      log.info(`Not saving caches: ${why}.`);
      if (state.summary) await appendSummary(renderSaveSummary(undefined, why));
      return;
    }
    const saved = await log.group('Save caches', () => saveCaches(caches));
    if (state.summary) await appendSummary(renderSaveSummary(saved));
  } else if (state.cacheMode === 'remote') {
    const remote = loadRemoteState();
    if (!remote) return;
    const why = saveDecision(remote, state.result);
    if (why) {
      log.info(`Not saving to the remote cache: ${why}.`);
      return;
    }
    await log.group('Save to the remote cache', () => saveRemote(remote));
  } else if (state.cacheMode === 'local' && state.housekeeping) {
    const h = state.housekeeping;
    const report = await log.group('Housekeeping of the shared cache directories', () =>
      housekeep({
        sstate: h.sstate,
        buildsDir: h.buildsDir,
        sstateMaxAgeDays: h.sstateMaxAgeDays,
        workspaceMaxAgeDays: h.workspaceMaxAgeDays,
      }),
    );
    for (const problem of report.problems) log.warning(`housekeeping: ${problem}`);
    log.info(
      `Removed ${report.sstateRemoved} sstate objects unused for ${h.sstateMaxAgeDays} days and ${report.workspacesRemoved.length} workspaces older than ${h.workspaceMaxAgeDays} days; ${report.skippedInUse.length} in use`,
    );
  }
}

run().catch((e: unknown) => {
  log.debug(errorStack(e));
  log.warning(`post step: ${errorMessage(e)}`);
});
