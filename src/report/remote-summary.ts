/**
 * The job summary's lines for the shared caches: the remote store (what its read-through endpoint
 * served, what the post step uploaded or why it did not) and the shared hash server. A store or a
 * server is named by its bucket URL and address, shown as util/url.ts shows every URL: a user
 * part, where a workflow could have put a key, appears as `***`.
 */
import type { SharedHashServe } from '../cache/remote/hashserve.js';
import type { RemoteSettings } from '../cache/remote/location.js';
import type { RemoteSaved } from '../cache/remote/session.js';
import { formatBytes } from '../util/format.js';
import { shownUrl } from '../util/url.js';
import { code, escapeText, table } from './markdown.js';

/** What the main step knows of the remote store once BitBake is done. */
export interface RemoteReport {
  settings: Pick<RemoteSettings, 'url' | 'endpoint'>;
  /** Objects BitBake fetched through the endpoint, their bytes, and the asks the bucket could not answer. */
  served: number;
  bytesServed: number;
  misses: number;
  failures: number;
  /** Whether the endpoint gave up on the store. */
  down: boolean;
  /** False for a build that reads only (a pull request, or save: false); the reason is the save decision's. */
  mayWrite: boolean;
  saveReason: string;
}

/** The shared hash server as the main step found it before BitBake started. */
export type HashServerReport = Pick<SharedHashServe, 'server' | 'mayWrite' | 'problem'>;

/** `s3://bucket/prefix`, and a custom endpoint as util/url.ts shows URLs (no credentials). */
export function storeLabel(s: Pick<RemoteSettings, 'url' | 'endpoint'>): string {
  return s.endpoint ? `${s.url} at ${shownUrl(s.endpoint)}` : s.url;
}

export function renderRemote(remote: RemoteReport | undefined, hash: HashServerReport | undefined): string[] {
  if (!remote && !hash) return [];
  const out = ['### Shared caches', ''];
  const rows: string[][] = [];
  if (remote) {
    rows.push(['Remote store', code(storeLabel(remote.settings))]);
    rows.push([
      'Served to BitBake from the store',
      `${remote.served} objects, ${formatBytes(remote.bytesServed)}; ${remote.misses} asked for were not in the bucket`,
    ]);
    if (remote.failures > 0)
      rows.push([
        'Store failures',
        `${remote.failures} requests failed${remote.down ? ', then the store was not asked again' : ''}; BitBake built what it could not fetch`,
      ]);
    rows.push([
      'Writes to the store',
      remote.mayWrite
        ? 'yes: the post step uploads what this build made'
        : `read-only: ${escapeText(remote.saveReason)}`,
    ]);
  }
  if (hash) {
    const answer = hash.problem ? `did not answer (${escapeText(hash.problem)}); built with a local DB` : 'answered';
    const role = hash.mayWrite ? 'this build reports to it' : 'read-only: the local server reads it as its upstream';
    rows.push(['Hash server', `${code(shownUrl(hash.server.address))}: ${answer}${hash.problem ? '' : `; ${role}`}`]);
  }
  out.push(table(['Shared cache', 'This build'], rows));
  return out;
}

/** The post step's part for the remote store. */
export function renderRemoteSave(saved: RemoteSaved | undefined, why?: string): string {
  const out = ['### Remote store saved', ''];
  if (why !== undefined) return [...out, `Nothing uploaded: ${escapeText(why)}.`, ''].join('\n');
  if (!saved) return [...out, 'Nothing uploaded: the save failed (see the warning in the log).', ''].join('\n');
  const rows = [
    [
      'Uploaded',
      `${saved.uploaded.length} objects, ${formatBytes(saved.uploadedBytes)} in ${saved.seconds.toFixed(1)} s`,
    ],
    ['Skipped, already in the store', `${saved.present.length} objects`],
  ];
  if (saved.failed > 0 || saved.timedOut)
    rows.push(['Not saved', `${saved.failed} objects${saved.timedOut ? ' (cache-timeout reached)' : ''}`]);
  return [...out, table(['Remote store', 'This build'], rows)].join('\n');
}
