import { afterEach, describe, expect, it } from 'vitest';

import { readCleanupSettings } from '../../src/action/inputs.js';
import type { SavedCaches } from '../../src/cache/caches.js';
import { PERMISSION_NOTICE, startCleanup } from '../../src/cache/cleanup.js';
import { type CacheEntriesApi, type CacheEntryInfo, CachePermissionDenied } from '../../src/cache/github-entries.js';
import { cacheKeys, type KeyInputs } from '../../src/cache/keys.js';
import {
  type Lineage,
  pickSuperseded,
  supersededLineages,
  supersededSingleLineages,
} from '../../src/cache/superseded.js';
import { renderCleanupSummary } from '../../src/report/cleanup-summary.js';
import { actionLogger, setLogger } from '../../src/util/log.js';
import { recordingLogger } from '../support/recording-logger.js';

afterEach(() => setLogger(actionLogger));

// The single-entry layout: the parts layout names its own lineages (parts.ts).
const inputs: KeyInputs = {
  layout: 'single',
  userPrefix: '',
  series: 'scarthgap',
  distro: 'poky',
  machine: 'qemux86-64',
  targets: ['core-image-minimal'],
  layers: [{ name: 'poky', commit: 'a'.repeat(40) }],
  localConf: [],
  run: '200-1',
};
const keys = cacheKeys(inputs);
const MAIN = 'refs/heads/main';
const T0 = Date.parse('2026-12-01T10:00:00Z');

let ids = 0;
function entry(key: string, o: Partial<CacheEntryInfo> = {}): CacheEntryInfo {
  return { id: ++ids, key, ref: MAIN, sizeBytes: 1000, createdAtMs: T0 - 3_600_000, ...o };
}

describe('supersededSingleLineages', () => {
  it('sstate: every entry of the same machine, series and distro, keeping the one saved', () => {
    const [sstate] = supersededSingleLineages(keys, { sstate: keys.sstate.key });
    expect(sstate).toMatchObject({ prefix: 'smidr-v1-sstate-scarthgap-poky-qemux86-64-', keep: [keys.sstate.key] });
    const inLineage = (k: KeyInputs) =>
      pickSuperseded([entry(cacheKeys(k).sstate.key)], sstate!, { ref: MAIN, restoreStartedMs: T0 }).length === 1;
    // An older revision of the layers, or another config, of the same machine is in it.
    expect(inLineage({ ...inputs, layers: [{ name: 'poky', commit: 'b'.repeat(40) }], run: '100-1' })).toBe(true);
    expect(inLineage({ ...inputs, localConf: [{ variable: 'X', operator: '=', value: '1' }], run: '100-1' })).toBe(
      true,
    );
    // Another machine's, another distro's or another series' is not; nor a machine whose name
    // merely begins like this one's (raspberrypi4 and raspberrypi4-64).
    for (const other of [
      { machine: 'qemuarm64' },
      { distro: 'nodistro' },
      { series: 'kirkstone' },
      { machine: 'qemux86-64-extra' },
    ])
      expect(inLineage({ ...inputs, ...other, run: '100-1' }), JSON.stringify(other)).toBe(false);
  });

  it("downloads: the series' entries of any machine and revision, keeping the one saved", () => {
    const [downloads] = supersededSingleLineages(keys, { downloads: keys.downloads.key });
    expect(downloads).toMatchObject({ prefix: 'smidr-v1-downloads-scarthgap-', keep: [keys.downloads.key] });
    const inLineage = (k: KeyInputs) =>
      pickSuperseded([entry(cacheKeys(k).downloads.key)], downloads!, { ref: MAIN, restoreStartedMs: T0 }).length === 1;
    expect(inLineage({ ...inputs, machine: 'qemuarm64', run: '100-1' })).toBe(true);
    expect(inLineage({ ...inputs, layers: [], run: '100-1' })).toBe(true);
    expect(inLineage({ ...inputs, series: 'kirkstone', run: '100-1' })).toBe(false);
    expect(inLineage({ ...inputs, series: 'scarthgap-next', run: '100-1' })).toBe(false);
  });

  it('a user prefix stays in the lineage; a part not saved supersedes nothing', () => {
    const own = cacheKeys({ ...inputs, userPrefix: 'team' });
    expect(supersededSingleLineages(own, { sstate: own.sstate.key })[0]!.prefix).toBe(
      'smidr-v1-team-sstate-scarthgap-poky-qemux86-64-',
    );
    expect(supersededSingleLineages(keys, {})).toEqual([]);
    expect(supersededSingleLineages(keys, { downloads: keys.downloads.key })).toHaveLength(1);
  });
});

describe('supersededLineages', () => {
  it("follows the layout the save was made in: the parts' own lineages, or the single entry's from its keys", () => {
    const single = { downloads: { key: keys.downloads.key }, sstate: { key: keys.sstate.key } };
    expect(supersededLineages(keys, single as SavedCaches)).toEqual(
      supersededSingleLineages(keys, { downloads: keys.downloads.key, sstate: keys.sstate.key }),
    );
    const parts = [{ part: 'shared', lineage: 'S@', kind: 'base', key: 'S@base-2-x' }] as const;
    expect(supersededLineages(keys, { ...single, parts: [...parts] } as SavedCaches)).toEqual([
      { prefix: 'S@', keep: ['S@base-2-x'] },
    ]);
  });
});

describe('pickSuperseded', () => {
  const [lineage] = supersededSingleLineages(keys, { sstate: keys.sstate.key }) as [Lineage];
  const older = (run: string) => cacheKeys({ ...inputs, run }).sstate.key;
  const scope = { ref: MAIN, restoreStartedMs: T0 };

  it('takes older entries of the lineage on this ref and nothing else', () => {
    const superseded = entry(older('100-1'));
    const listed = [
      superseded,
      entry(keys.sstate.key, { createdAtMs: T0 + 60_000 }), // the one just saved
      entry(older('101-1'), { ref: 'refs/heads/feature' }), // another ref's
      entry(older('201-1'), { createdAtMs: T0 + 1000 }), // a concurrent job's
      entry(cacheKeys({ ...inputs, machine: 'qemuarm64', run: '100-1' }).sstate.key), // another lineage
      entry(older('102-1'), { createdAtMs: Number.NaN }),
    ];
    expect(pickSuperseded(listed, lineage, scope)).toEqual([superseded]);
  });

  it('keeps a kept key even when it is older', () => {
    expect(pickSuperseded([entry(keys.sstate.key)], lineage, scope)).toEqual([]);
  });
});

/** A fake REST API: entries in memory, calls recorded, failures on demand. */
function fakeApi(
  listed: CacheEntryInfo[],
  fail: { on?: 'usage' | 'list' | 'remove'; error?: Error } = {},
  githubAheadMs?: number,
) {
  const calls: string[] = [];
  const live = [...listed];
  const maybeFail = (on: 'usage' | 'list' | 'remove') => {
    if (fail.on === on) throw fail.error;
  };
  const api: CacheEntriesApi = {
    usage: async () => {
      calls.push('usage');
      maybeFail('usage');
      return {
        bytes: live.reduce((n, e) => n + e.sizeBytes, 0),
        entries: live.length,
        ...(githubAheadMs === undefined ? {} : { githubAheadMs }),
      };
    },
    list: async (prefix, ref) => {
      calls.push(`list ${prefix} ${ref}`);
      maybeFail('list');
      return live.filter((e) => e.key.startsWith(prefix) && e.ref === ref);
    },
    remove: async (id) => {
      calls.push(`remove ${id}`);
      maybeFail('remove');
      const i = live.findIndex((e) => e.id === id);
      if (i < 0) return false;
      live.splice(i, 1);
      return true;
    },
  };
  return { api, calls, live };
}

const settings = { token: 't', repository: 'smidr/example', ref: MAIN };

describe('startCleanup', () => {
  const lineages = supersededSingleLineages(keys, { sstate: keys.sstate.key, downloads: keys.downloads.key });
  const oldSstate = () => entry(cacheKeys({ ...inputs, run: '100-1' }).sstate.key, { sizeBytes: 5000 });
  const oldDownloads = () =>
    entry(cacheKeys({ ...inputs, machine: 'qemuarm64', run: '100-1' }).downloads.key, { sizeBytes: 700 });

  it('reads usage, deletes what each lineage supersedes, reads usage again', async () => {
    const log = recordingLogger();
    setLogger(log);
    const [s, d] = [oldSstate(), oldDownloads()];
    const { api, calls, live } = fakeApi([s, d, entry(keys.sstate.key, { createdAtMs: T0 + 1 })]);
    const cleanup = startCleanup(settings, api);
    await cleanup.before();
    const report = await cleanup.after(lineages, T0);
    expect(report.deleted).toEqual([s, d]);
    expect(report.usageBefore).toEqual({ bytes: 6700, entries: 3 });
    expect(report.usageAfter).toEqual({ bytes: 1000, entries: 1 });
    expect(live.map((e) => e.key)).toEqual([keys.sstate.key]);
    expect(calls).toEqual([
      'usage',
      `list smidr-v1-sstate-scarthgap-poky-qemux86-64- ${MAIN}`,
      `remove ${s.id}`,
      `list smidr-v1-downloads-scarthgap- ${MAIN}`,
      `remove ${d.id}`,
      'usage',
    ]);
    expect(log.lines('info')).toContain(`Deleted superseded cache entry ${s.key} (4.9 KiB) on ${MAIN}`);
    expect([...log.lines('warning'), ...log.lines('notice')]).toEqual([]);
  });

  it("dates the restore by GitHub's clock: a runner 10 minutes ahead keeps what a concurrent job saved since", async () => {
    const log = recordingLogger();
    setLogger(log);
    const ahead = -600_000;
    // By GitHub's clock, the restore started at T0 + ahead: one entry a minute before, one a minute after.
    const older = entry(cacheKeys({ ...inputs, run: '100-1' }).sstate.key, { createdAtMs: T0 + ahead - 60_000 });
    const concurrent = entry(cacheKeys({ ...inputs, run: '201-1' }).sstate.key, { createdAtMs: T0 + ahead + 60_000 });
    const { api, live } = fakeApi([older, concurrent, entry(keys.sstate.key, { createdAtMs: T0 })], {}, ahead);
    const cleanup = startCleanup(settings, api);
    await cleanup.before();
    const report = await cleanup.after(lineages, T0);
    expect(report.deleted).toEqual([older]);
    expect(live.map((e) => e.key)).toEqual([concurrent.key, keys.sstate.key]);
    expect(log.lines('info')).toContain(
      "The runner's clock is 10m00s ahead of GitHub's: entries are dated by GitHub's",
    );
  });

  it('without actions: write: one notice naming the permissions line, nothing more asked', async () => {
    const log = recordingLogger();
    setLogger(log);
    const denied = new CachePermissionDenied('DELETE actions/caches/1: 403 Resource not accessible by integration');
    const { api, calls } = fakeApi([oldSstate(), oldDownloads()], { on: 'remove', error: denied });
    const cleanup = startCleanup(settings, api);
    await cleanup.before();
    const report = await cleanup.after(lineages, T0);
    expect(log.lines('notice')).toEqual([PERMISSION_NOTICE]);
    expect(PERMISSION_NOTICE).toContain('permissions: { actions: write, contents: read }');
    expect(log.lines('warning')).toEqual([]);
    expect(report.deleted).toEqual([]);
    expect(report.problem).toBe(PERMISSION_NOTICE);
    // The first refusal ends it: no second list, no usage after.
    expect(calls).toEqual(['usage', `list smidr-v1-sstate-scarthgap-poky-qemux86-64- ${MAIN}`, `remove ${ids - 1}`]);
  });

  it('a 403 on reading usage (no actions permission at all) is the same one notice', async () => {
    const log = recordingLogger();
    setLogger(log);
    const { api, calls } = fakeApi([oldSstate()], { on: 'usage', error: new CachePermissionDenied('403') });
    const cleanup = startCleanup(settings, api);
    await cleanup.before();
    await cleanup.after(lineages, T0);
    expect(log.lines('notice')).toEqual([PERMISSION_NOTICE]);
    expect(calls).toEqual(['usage']);
  });

  it('any other failure: one warning, and the clean-up stops', async () => {
    const log = recordingLogger();
    setLogger(log);
    const { api, calls } = fakeApi([oldSstate()], {
      on: 'list',
      error: new Error('GET actions/caches: 502 Bad Gateway'),
    });
    const cleanup = startCleanup(settings, api);
    await cleanup.before();
    const report = await cleanup.after(lineages, T0);
    expect(log.lines('warning')).toEqual([
      'cache clean-up: GET actions/caches: 502 Bad Gateway; superseded entries stay until GitHub evicts them',
    ]);
    expect(log.lines('notice')).toEqual([]);
    expect(report.usageBefore).toBeDefined();
    expect(calls).toHaveLength(2);
  });

  it('a skipped clean-up makes no call; nothing saved deletes nothing', async () => {
    setLogger(recordingLogger());
    const { api, calls } = fakeApi([oldSstate()]);
    const skipped = startCleanup({ ...settings, skip: 'a pull_request build never deletes cache entries' }, api);
    await skipped.before();
    expect((await skipped.after(lineages, T0)).skipped).toBe('a pull_request build never deletes cache entries');
    const idle = startCleanup(settings, api);
    expect((await idle.after([], T0)).skipped).toBe('nothing was saved');
    expect(calls).toEqual([]);
  });
});

describe('readCleanupSettings', () => {
  const env = { GITHUB_REPOSITORY: 'smidr/example', GITHUB_REF: MAIN, GITHUB_EVENT_NAME: 'push' };
  const withToken = (token: string, fn: () => void) => {
    process.env['INPUT_GITHUB-TOKEN'] = token;
    try {
      fn();
    } finally {
      delete process.env['INPUT_GITHUB-TOKEN'];
    }
  };

  it('a push build with a token cleans up; pull requests and an empty token do not', () => {
    withToken('ghs_x', () => {
      expect(readCleanupSettings(env)).toEqual({ token: 'ghs_x', repository: 'smidr/example', ref: MAIN });
      for (const event of ['pull_request', 'pull_request_target'])
        expect(readCleanupSettings({ ...env, GITHUB_EVENT_NAME: event, GITHUB_REF: 'refs/pull/7/merge' }).skip).toBe(
          `a ${event} build never deletes cache entries`,
        );
      expect(readCleanupSettings({ ...env, GITHUB_REF: '' }).skip).toBe('GITHUB_REPOSITORY or GITHUB_REF is not set');
    });
    withToken('', () => expect(readCleanupSettings(env).skip).toBe('the github-token input is empty'));
  });
});

describe('renderCleanupSummary', () => {
  it('shows usage before and after, the bytes saved, and each deleted key with its size', () => {
    const deleted = [entry('smidr-v1-sstate-scarthgap-poky-qemux86-64-old-100-1', { sizeBytes: 3 * 1024 * 1024 })];
    const md = renderCleanupSummary(
      {
        deleted,
        usageBefore: { bytes: 10 * 1024 * 1024, entries: 4 },
        usageAfter: { bytes: 9 * 1024 * 1024, entries: 4 },
      },
      2 * 1024 * 1024,
    );
    expect(md).toContain('| usage before saving | 4 | 10.0 MiB |');
    expect(md).toContain('| saved by this job |  | 2.0 MiB |');
    expect(md).toContain('| deleted as superseded | 1 | 3.0 MiB |');
    expect(md).toContain('| usage after (GitHub refreshes it about every 5 minutes) | 4 | 9.0 MiB |');
    expect(md).toContain('| `smidr-v1-sstate-scarthgap-poky-qemux86-64-old-100-1` | `refs/heads/main` | 3.0 MiB |');
  });

  it('says why nothing was deleted', () => {
    const md = renderCleanupSummary({ deleted: [], problem: PERMISSION_NOTICE }, 0);
    expect(md).toContain('permissions: { actions: write, contents: read }');
    expect(renderCleanupSummary({ deleted: [], skipped: 'nothing was saved' }, 0)).toContain(
      'Superseded entries not deleted: nothing was saved.',
    );
  });
});
