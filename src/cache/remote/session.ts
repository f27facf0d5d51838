/**
 * The remote cache over one job. Main step: the endpoint starts before the conf is written (its
 * port goes into SSTATE_MIRRORS and PREMIRRORS), serves BitBake for the whole build and stops
 * after it, leaving the list of what it served for the post step. Post step: a build that may
 * write uploads what it created and records what it used. Nothing of the credentials leaves the
 * SDK: the conf gets a loopback URL, the container no AWS variable, the state no secret.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { ConfAssignment } from '../../config/config.js';
import { errorMessage } from '../../util/errors.js';
import { formatBytes } from '../../util/format.js';
import { log } from '../../util/log.js';
import { recordUsage } from './cleanup.js';
import { type EndpointStats, type MirrorEndpoint, mirrorPath, startMirrorEndpoint } from './endpoint.js';
import type { RemoteSettings } from './location.js';
import { type ObjectStore, S3Store } from './store.js';
import { uploadCandidates, uploadNew, type UploadResult } from './upload.js';

/** What the post step needs to save: all of it is in the step state (settings hold no secret). */
export interface RemoteSave {
  settings: RemoteSettings;
  dirs: { sstate: string; downloads: string };
  buildDir: string;
  buildId: string;
  timeoutMs: number;
}

/** Where the main step leaves the list of what the endpoint served (`kind/rel`, JSON). */
export function servedListFile(buildDir: string): string {
  return path.join(buildDir, '.smidr', 'remote-served.json');
}

export interface RemoteSession {
  endpoint: MirrorEndpoint;
  store: ObjectStore;
}

export async function startRemote(settings: RemoteSettings, store?: ObjectStore): Promise<RemoteSession> {
  const s = store ?? new S3Store(settings);
  const endpoint = await startMirrorEndpoint(s, settings);
  log.info(`Remote cache ${settings.url}: BitBake fetches from it through ${endpoint.url} (read-through)`);
  return { endpoint, store: s };
}

/**
 * BitBake's own mirror mechanism, pointed at the endpoint: sstate objects by their relative path
 * (PATH), sources by file name (a premirror URL ending in `/` gets the file's name appended); git
 * sources become mirror tarballs so that they can be saved and fetched as one file.
 */
export function mirrorConf(endpointUrl: string, o: { noNetwork: boolean }): ConfAssignment[] {
  const sstate: ConfAssignment[] = [
    {
      variable: 'SSTATE_MIRRORS',
      operator: '=',
      value: `file://.* ${endpointUrl}${mirrorPath('sstate')}PATH;downloadfilename=PATH`,
    },
    // The sstate fetch lifts BB_NO_NETWORK for its mirrors when this is set; source fetches never do.
    { variable: 'SSTATE_MIRROR_ALLOW_NETWORK', operator: '=', value: '1' },
  ];
  if (o.noNetwork) {
    // With BB_NO_NETWORK = "1" an http:// premirror fails the fetch (NetworkAccess is raised past
    // the mirror loop), even for a source that is in DL_DIR's reach by other means.
    log.info(
      'Remote cache: BB_NO_NETWORK is set, so BitBake would refuse an http:// premirror: source archives do not come from the store (sstate still does). ' +
        'To fetch them from it while staying offline, set BB_ALLOWED_NETWORKS = "127.0.0.1" instead of BB_NO_NETWORK.',
    );
    return sstate;
  }
  const downloads = `${endpointUrl}${mirrorPath('downloads')}`;
  const schemes = ['git', 'gitsm', 'https?', 'ftp', 'npm', 'crate'];
  return [
    ...sstate,
    {
      variable: 'PREMIRRORS:prepend',
      operator: '=',
      value: `${schemes.map((s) => `${s}://.*/.* ${downloads}`).join(' ')} `,
    },
    { variable: 'BB_GENERATE_MIRROR_TARBALLS', operator: '=', value: '1' },
  ];
}

/** After BitBake: stop serving, say what was served, keep the list for the post step. */
export async function finishRemote(session: RemoteSession, buildDir: string): Promise<EndpointStats> {
  const servedFile = servedListFile(buildDir);
  await session.endpoint.close();
  session.store.close();
  const stats = session.endpoint.stats();
  await fs.mkdir(path.dirname(servedFile), { recursive: true });
  await fs.writeFile(servedFile, JSON.stringify(stats.served));
  log.info(
    `Remote cache: served ${stats.served.length} objects (${formatBytes(stats.bytesServed)}) to BitBake; ${stats.misses} asked for were not in the bucket`,
  );
  if (stats.failures > 0)
    log.warning(
      `remote cache: the store failed ${stats.failures} requests${stats.down ? ' and was not asked again' : ''} (${stats.firstFailure}); BitBake built what it could not fetch`,
    );
  return stats;
}

export interface RemoteSaved extends UploadResult {
  seconds: number;
}

export async function saveRemote(state: RemoteSave, store?: ObjectStore): Promise<RemoteSaved | undefined> {
  const started = Date.now();
  const s = store ?? new S3Store(state.settings);
  try {
    const served = new Set(
      await fs.readFile(servedListFile(state.buildDir), 'utf8').then(
        (t) => JSON.parse(t) as string[],
        () => [] as string[],
      ),
    );
    const candidates = await uploadCandidates(state.dirs);
    const result = await uploadNew(candidates, {
      settings: state.settings,
      store: s,
      dirs: state.dirs,
      served,
      deadlineMs: started + state.timeoutMs,
    });
    const seconds = (Date.now() - started) / 1000;
    log.info(
      `Remote cache: uploaded ${result.uploaded.length} new objects (${formatBytes(result.uploadedBytes)}) in ${seconds.toFixed(1)} s; ${result.present.length} were in the bucket already`,
    );
    if (result.failed > 0 || result.timedOut)
      log.warning(
        `remote cache: ${result.failed} objects not saved${result.timedOut ? ', cache-timeout reached' : ''}${result.firstError ? ` (${result.firstError})` : ''}; the next build makes them again`,
      );
    await recordUsage(s, state.settings, state.buildId, [...result.uploaded, ...result.present]);
    return { ...result, seconds };
  } catch (e) {
    log.warning(`remote cache: save failed: ${errorMessage(e)}`);
    return undefined;
  } finally {
    s.close();
  }
}
