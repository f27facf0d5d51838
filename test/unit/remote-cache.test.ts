/**
 * The remote cache's parts against s3rver on 127.0.0.1 through the unmodified AWS SDK: the
 * read-through endpoint BitBake fetches from, the upload of what a build created, the cleanup of
 * unused objects; and the pure rules (bucket URLs, keys, hash server addresses) without a store.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cleanBucket, planCleanup, recordUsage } from '../../src/cache/remote/cleanup.js';
import { startMirrorEndpoint } from '../../src/cache/remote/endpoint.js';
import { hashServeConf, hashServerProblem, parseHashServer } from '../../src/cache/remote/hashserve.js';
import {
  objectKey,
  parseBucketUrl,
  parseObjectKey,
  type RemoteSettings,
  safeRelPath,
} from '../../src/cache/remote/location.js';
import { S3Store } from '../../src/cache/remote/store.js';
import { uploadCandidates, uploadNew } from '../../src/cache/remote/upload.js';
import { ConfigError } from '../../src/util/errors.js';
import {
  deadEndpoint,
  objectBytes,
  type S3Server,
  startFailingStore,
  startS3Server,
  TEST_BUCKET,
  TEST_CREDENTIALS,
} from '../support/s3-server.js';

const ARCHIVE = 'ab/cd/sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:abcd1234_populate_sysroot.tar.zst';
const NATIVE = 'universal/12/34/sstate:quilt-native:x86_64-linux:0.67:r0:x86_64:14:1234abcd_populate_sysroot.tar.zst';

let s3: S3Server;
const settings = (prefix = 'ci/'): RemoteSettings => ({
  url: `s3://${TEST_BUCKET}/${prefix}`,
  bucket: TEST_BUCKET,
  prefix,
  endpoint: s3.endpoint,
  region: 'us-east-1',
  pathStyle: true,
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'remote-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    if (f.endsWith('/')) mkdirSync(path.join(dir, f), { recursive: true });
    else writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

beforeAll(async () => {
  Object.assign(process.env, TEST_CREDENTIALS);
  s3 = await startS3Server(mkdtempSync(path.join(tmpdir(), 's3rver-')));
});
afterAll(() => s3.stop());

describe('bucket URLs and keys', () => {
  it('reads s3://bucket/prefix, normalising the prefix to end in one slash', () => {
    expect(parseBucketUrl('s3://my-bucket/yocto/ci', 'input')).toEqual({ bucket: 'my-bucket', prefix: 'yocto/ci/' });
    expect(parseBucketUrl('s3://my-bucket', 'input')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseBucketUrl('s3://my-bucket//a//', 'input')).toEqual({ bucket: 'my-bucket', prefix: 'a/' });
  });

  it('refuses what is not a bucket URL, naming the input', () => {
    expect(() => parseBucketUrl('https://x/y', "input 'remote-cache'")).toThrow(
      /input 'remote-cache': "https:\/\/x\/y" is not a bucket URL; expected s3:\/\/bucket\/prefix/,
    );
    expect(() => parseBucketUrl('s3://Bad_Bucket/x', 'in')).toThrow(ConfigError);
    expect(() => parseBucketUrl('s3://bucket/../x', 'in')).toThrow(/\. or \.\./);
  });

  it('keeps relative paths inside their folder', () => {
    expect(safeRelPath(ARCHIVE)).toBe(ARCHIVE);
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a/./b', 'a\\b'])
      expect(safeRelPath(bad), bad).toBeUndefined();
  });

  it('maps objects to keys and back', () => {
    const s = { prefix: 'p/' };
    expect(objectKey(s, 'sstate', ARCHIVE)).toBe(`p/sstate-cache/${ARCHIVE}`);
    expect(parseObjectKey(s, `p/downloads/zlib.tar.xz`)).toEqual({ kind: 'downloads', rel: 'zlib.tar.xz' });
    expect(parseObjectKey(s, `p/usage/2026-01-01/x.json`)).toBeUndefined();
    expect(parseObjectKey(s, `q/sstate-cache/x`)).toBeUndefined();
  });
});

describe('hash server addresses', () => {
  it('takes host:port and ws:// as BitBake does', () => {
    expect(parseHashServer('hashserv.example.com:8686', 'in')).toMatchObject({
      host: 'hashserv.example.com',
      port: 8686,
    });
    expect(parseHashServer('ws://10.0.0.5:8687/ro', 'in')).toMatchObject({ host: '10.0.0.5', port: 8687 });
    expect(parseHashServer('wss://h.example.com', 'in')).toMatchObject({ port: 443 });
    expect(parseHashServer('[::1]:8686', 'in')).toMatchObject({ host: '::1', port: 8686 });
  });

  it('refuses a local socket, a missing port and shell text, naming the input', () => {
    for (const bad of ['unix:///tmp/hs.sock', 'hashserv', 'h:0', 'h:99999', 'h:1; rm -rf /', 'ws://h:1/"x'])
      expect(() => parseHashServer(bad, "input 'hashserve'"), bad).toThrow(/input 'hashserve'/);
  });

  it('writers report to the server; readers use a local server with it as upstream', () => {
    const server = parseHashServer('hs:8686', 'in');
    expect(hashServeConf(server, true)).toEqual({ BB_HASHSERVE: 'hs:8686' });
    expect(hashServeConf(server, false)).toEqual({ BB_HASHSERVE: 'auto', BB_HASHSERVE_UPSTREAM: 'hs:8686' });
  });

  it('checks that the server answers before BitBake starts', async () => {
    const listening = createServer();
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', () => resolve()));
    const port = (listening.address() as AddressInfo).port;
    expect(await hashServerProblem({ address: `127.0.0.1:${port}`, host: '127.0.0.1', port })).toBeUndefined();
    await new Promise((resolve) => listening.close(resolve));
    const dead = Number(new URL(await deadEndpoint()).port);
    expect(await hashServerProblem({ address: `127.0.0.1:${dead}`, host: '127.0.0.1', port: dead })).toMatch(
      /ECONNREFUSED/,
    );
  });
});

describe('the read-through endpoint', () => {
  it('serves what the bucket holds, 404s the rest, and counts what it sent', async () => {
    const s = settings('endpoint/');
    const store = new S3Store(s);
    const local = tree({ a: 'archive bytes', b: 'siginfo' });
    await store.putFile(objectKey(s, 'sstate', ARCHIVE), path.join(local, 'a'));
    const endpoint = await startMirrorEndpoint(store, s);
    try {
      const url = `${endpoint.url}/sstate-cache/${ARCHIVE}`;
      expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
      const got = await fetch(url);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('archive bytes');
      expect((await fetch(`${url}.siginfo`)).status).toBe(404);
      expect((await fetch(`${endpoint.url}/downloads/none.tar.gz`)).status).toBe(404);
      // Nothing outside the two folders, whatever the path says.
      expect((await fetch(`${endpoint.url}/sstate-cache/..%2F..%2Fusage%2Fx`)).status).toBe(404);
      expect((await fetch(`${endpoint.url}/other/x`)).status).toBe(404);
      expect((await fetch(url, { method: 'PUT', body: 'x' })).status).toBe(404);
      const stats = endpoint.stats();
      expect(stats.served).toEqual([`sstate/${ARCHIVE}`]);
      expect(stats.bytesServed).toBe('archive bytes'.length);
      expect(stats.misses).toBe(2);
      expect(stats.failures).toBe(0);
    } finally {
      await endpoint.close();
      store.close();
    }
  });

  it('answers 404 when the store fails, and stops asking a store that keeps failing', async () => {
    const failing = await startFailingStore();
    const s = { ...settings('down/'), endpoint: failing.endpoint };
    const store = new S3Store(s);
    const endpoint = await startMirrorEndpoint(store, s);
    try {
      for (let i = 0; i < 5; i++) expect((await fetch(`${endpoint.url}/sstate-cache/${ARCHIVE}`)).status).toBe(404);
      const stats = endpoint.stats();
      expect(stats.down).toBe(true);
      expect(stats.failures).toBe(3);
      expect(stats.firstFailure).toBeTruthy();
      // Three failed requests, each retried by the SDK; the last two never reached the store.
      expect(failing.requests()).toBe(9);
    } finally {
      await endpoint.close();
      store.close();
      await failing.stop();
    }
  });

  it('a store where nothing listens is down too', async () => {
    const s = { ...settings('dead/'), endpoint: await deadEndpoint() };
    const store = new S3Store(s);
    const endpoint = await startMirrorEndpoint(store, s);
    try {
      for (let i = 0; i < 4; i++) expect((await fetch(`${endpoint.url}/downloads/x.tar.gz`)).status).toBe(404);
      expect(endpoint.stats().down).toBe(true);
    } finally {
      await endpoint.close();
      store.close();
    }
  });
});

describe('what a build saves', () => {
  const sstateFiles = {
    [ARCHIVE]: 'zlib sysroot',
    [`${ARCHIVE}.siginfo`]: 'zlib siginfo',
    [NATIVE]: 'quilt sysroot',
    // A signature without an archive (a task that makes none), a temp file mid-rename, a stamp.
    'ef/01/sstate:zlib:core2-64-poky-linux:1.3.1:r0:core2-64:14:ef01_compile.tar.zst.siginfo': 'sig',
    [`${ARCHIVE}.Xy12ab`]: 'half',
    [`${NATIVE}.done`]: '',
  };
  const downloadFiles = {
    'zlib-1.3.1.tar.xz': 'zlib source',
    'zlib-1.3.1.tar.xz.done': '',
    'partial-1.0.tar.gz': 'half a download',
    'busy.tar.gz.lock': '',
    'git2/github.com.madler.zlib.git/HEAD': 'ref',
    'git2/github.com.madler.zlib.git.done': '',
    'git2_github.com.madler.zlib.git.tar.gz': 'mirror tarball',
    'git2_github.com.madler.zlib.git.tar.gz.done': '',
  };

  it('only complete objects and downloads, companions before their archive', async () => {
    const dirs = { sstate: tree(sstateFiles), downloads: tree(downloadFiles) };
    expect(await uploadCandidates(dirs)).toEqual([
      { kind: 'sstate', files: [`${ARCHIVE}.siginfo`, ARCHIVE], bytes: 24 },
      { kind: 'sstate', files: [NATIVE], bytes: 13 },
      { kind: 'downloads', files: ['git2_github.com.madler.zlib.git.tar.gz'], bytes: 14 },
      { kind: 'downloads', files: ['zlib-1.3.1.tar.xz'], bytes: 11 },
    ]);
  });

  it('uploads what the bucket lacks and skips what it holds or served', async () => {
    const s = settings('save/');
    const store = new S3Store(s);
    const dirs = { sstate: tree(sstateFiles), downloads: tree(downloadFiles) };
    // Another host saved quilt-native already; the endpoint served zlib's source to this build.
    await store.putFile(objectKey(s, 'sstate', NATIVE), path.join(dirs.sstate, NATIVE));
    const served = new Set(['downloads/zlib-1.3.1.tar.xz']);
    try {
      const result = await uploadNew(await uploadCandidates(dirs), { settings: s, store, dirs, served });
      expect(result.uploaded).toEqual([`downloads/git2_github.com.madler.zlib.git.tar.gz`, `sstate/${ARCHIVE}`]);
      expect(result.present).toEqual([`downloads/zlib-1.3.1.tar.xz`, `sstate/${NATIVE}`]);
      expect(result.failed).toBe(0);
      expect(s3.keys().filter((k) => k.startsWith('save/'))).toEqual([
        'save/downloads/git2_github.com.madler.zlib.git.tar.gz',
        `save/sstate-cache/${ARCHIVE}`,
        `save/sstate-cache/${ARCHIVE}.siginfo`,
        `save/sstate-cache/${NATIVE}`,
      ]);
      expect(objectBytes(s3, `save/sstate-cache/${ARCHIVE}`).toString()).toBe('zlib sysroot');
    } finally {
      store.close();
    }
  });

  it('two hosts saving the same objects at once leave one whole copy of each', async () => {
    const s = settings('race/');
    const big = Buffer.alloc(20 * 1024 * 1024 + 5, 7); // above the multipart threshold
    const hosts = [0, 1].map(() => {
      const dirs = { sstate: tree(sstateFiles), downloads: tree(downloadFiles) };
      writeFileSync(path.join(dirs.sstate, ARCHIVE), big);
      return { dirs, store: new S3Store(s) };
    });
    try {
      const results = await Promise.all(
        hosts.map(async (h) =>
          uploadNew(await uploadCandidates(h.dirs), { settings: s, store: h.store, dirs: h.dirs, served: new Set() }),
        ),
      );
      for (const r of results) expect(r.failed).toBe(0);
      expect(s3.keys().filter((k) => k.startsWith('race/'))).toHaveLength(5);
      expect(objectBytes(s3, `race/sstate-cache/${ARCHIVE}`).equals(big)).toBe(true);
      expect(objectBytes(s3, `race/downloads/zlib-1.3.1.tar.xz`).toString()).toBe('zlib source');
    } finally {
      for (const h of hosts) h.store.close();
    }
  });

  it('a failing store fails the objects, not the caller', async () => {
    const failing = await startFailingStore();
    const s = { ...settings('fail/'), endpoint: failing.endpoint };
    const store = new S3Store(s);
    const dirs = { sstate: tree(sstateFiles), downloads: tree(downloadFiles) };
    try {
      const result = await uploadNew(await uploadCandidates(dirs), {
        settings: s,
        store,
        dirs,
        served: new Set(),
        concurrency: 1,
      });
      expect(result.uploaded).toEqual([]);
      expect(result.failed).toBe(4);
      expect(result.firstError).toBeTruthy();
    } finally {
      store.close();
      await failing.stop();
    }
  });
});

describe('cleanup of unused objects', () => {
  const day = 86_400_000;
  const now = Date.parse('2026-06-30T12:00:00Z');
  const obj = (key: string, ageDays: number, size = 10) => ({ key, size, lastModified: new Date(now - ageDays * day) });

  it('removes objects older than N days that no recent record names, with their companions', () => {
    const s = { ...settings('p/'), prefix: 'p/' };
    const plan = planCleanup(
      s,
      [
        obj('p/sstate-cache/aa/bb/old.tar.zst', 40),
        obj('p/sstate-cache/aa/bb/old.tar.zst.siginfo', 40),
        obj('p/sstate-cache/aa/bb/used.tar.zst', 40),
        obj('p/sstate-cache/aa/bb/used.tar.zst.siginfo', 40),
        obj('p/sstate-cache/aa/bb/new.tar.zst', 2),
        obj('p/sstate-cache/aa/bb/new.tar.zst.siginfo', 45),
        obj('p/downloads/old.tar.gz', 31),
      ],
      [obj('p/usage/2026-05-01/b1.json', 60), obj('p/usage/2026-06-29/b2.json', 1)],
      new Set(['p/sstate-cache/aa/bb/used.tar.zst']),
      30,
      now,
    );
    expect(plan.remove.map((o) => o.key)).toEqual([
      'p/sstate-cache/aa/bb/old.tar.zst',
      'p/sstate-cache/aa/bb/old.tar.zst.siginfo',
      'p/downloads/old.tar.gz',
    ]);
    expect(plan.removeBytes).toBe(30);
    expect(plan.keep).toBe(4);
    expect(plan.oldRecords).toEqual(['p/usage/2026-05-01/b1.json']);
  });

  it('reads usage records from the bucket; a dry run removes nothing', async () => {
    const s = settings('clean/');
    const store = new S3Store(s);
    const dirs = { sstate: tree({ [ARCHIVE]: 'a', [NATIVE]: 'b' }), downloads: tree({}) };
    try {
      await uploadNew(await uploadCandidates(dirs), { settings: s, store, dirs, served: new Set() });
      await recordUsage(store, s, 'build-1', [`sstate/${ARCHIVE}`]);
      // A month on, the objects and the record are all older than the window: both objects go.
      const later = Date.now() + 31 * day;
      const dry = await cleanBucket(store, s, 30, true, Date.now() + day);
      expect(dry.remove).toEqual([]);
      const planned = await cleanBucket(store, s, 30, true, later);
      expect(planned.remove.map((o) => o.key).sort()).toEqual([
        objectKey(s, 'sstate', ARCHIVE),
        objectKey(s, 'sstate', NATIVE),
      ]);
      expect(s3.keys().filter((k) => k.startsWith('clean/sstate-cache/'))).toHaveLength(2);
      // Within the window, the record keeps the object it names even when the object is older.
      const kept = await cleanBucket(store, s, 0.5, false, Date.now() + day / 4);
      expect(kept.remove.map((o) => o.key)).toEqual([]);
      const removed = await cleanBucket(store, s, 30, false, later);
      expect(removed.remove).toHaveLength(2);
      expect(s3.keys().filter((k) => k.startsWith('clean/'))).toEqual([]);
    } finally {
      store.close();
    }
  });
});
