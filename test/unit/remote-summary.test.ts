import { describe, expect, it } from 'vitest';

import { parseHashServer } from '../../src/cache/remote/hashserve.js';
import { type RemoteReport, renderRemote, renderRemoteSave, storeLabel } from '../../src/report/remote-summary.js';

const remote: RemoteReport = {
  settings: { url: 's3://fleet-cache/yocto/', endpoint: 'http://key:SECRET@minio.internal:9000/' },
  served: 12,
  bytesServed: 3 * 1024 * 1024,
  misses: 4,
  failures: 0,
  down: false,
  mayWrite: true,
  saveReason: 'a push build saves by default',
};

describe('remote cache summary', () => {
  it('names the store by bucket URL and endpoint host, never a user part', () => {
    expect(storeLabel(remote.settings)).toBe('s3://fleet-cache/yocto/ at http://***@minio.internal:9000/');
    expect(storeLabel({ url: 's3://b/p/' })).toBe('s3://b/p/');
    const md = renderRemote(undefined, {
      server: parseHashServer('ws://token@hashserv.internal:8686/ws', 'test'),
      mayWrite: true,
    }).join('\n');
    expect(md).toContain('| Hash server | `ws://***@hashserv.internal:8686/ws`: answered;');
    expect(md).not.toContain('token');
  });

  it('shows what the endpoint served, whether this build writes, and the hash server', () => {
    const md = renderRemote(remote, {
      server: parseHashServer('127.0.0.1:8686', 'test'),
      mayWrite: true,
    }).join('\n');
    expect(md).toContain('| Remote store | `s3://fleet-cache/yocto/ at http://***@minio.internal:9000/` |');
    expect(md).toContain(
      '| Served to BitBake from the store | 12 objects, 3.0 MiB; 4 asked for were not in the bucket |',
    );
    expect(md).toContain('| Writes to the store | yes: the post step uploads what this build made |');
    expect(md).toContain('| Hash server | `127.0.0.1:8686`: answered; this build reports to it |');
    expect(md).not.toContain('SECRET');
    expect(md).not.toContain('Store failures');
  });

  it('a pull request reads only; a store that failed and a server that did not answer say so', () => {
    const md = renderRemote(
      {
        ...remote,
        failures: 3,
        down: true,
        mayWrite: false,
        saveReason: 'a pull_request build restores only (its code is untrusted); set save: true to save',
      },
      { server: parseHashServer('127.0.0.1:9', 'test'), mayWrite: false, problem: 'connect ECONNREFUSED 127.0.0.1:9' },
    ).join('\n');
    expect(md).toContain('| Writes to the store | read-only: a pull\\_request build restores only');
    expect(md).toContain('| Store failures | 3 requests failed, then the store was not asked again;');
    expect(md).toContain(
      '| Hash server | `127.0.0.1:9`: did not answer (connect ECONNREFUSED 127.0.0.1:9); built with a local DB |',
    );
    expect(renderRemote(undefined, undefined)).toEqual([]);
  });

  it("the post step's part: uploaded and skipped, or why nothing went up", () => {
    const md = renderRemoteSave({
      uploaded: ['sstate/a', 'sstate/b'],
      uploadedBytes: 2048,
      present: ['sstate/c'],
      failed: 0,
      timedOut: false,
      seconds: 1.25,
    });
    expect(md).toContain('| Uploaded | 2 objects, 2.0 KiB in 1.3 s |');
    expect(md).toContain('| Skipped, already in the store | 1 objects |');
    expect(md).not.toContain('Not saved');
    expect(renderRemoteSave(undefined, 'a pull_request build restores only')).toContain(
      'Nothing uploaded: a pull\\_request build restores only.',
    );
    expect(renderRemoteSave(undefined)).toContain('the save failed');
  });
});
