/**
 * An S3-compatible store for the tests: s3rver on 127.0.0.1, which the official AWS SDK talks to
 * unmodified (path-style, static credentials from the environment as on a runner), and two broken
 * stores: one that answers 500 to everything and an address where nothing listens.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import S3rver from 's3rver';

export const TEST_BUCKET = 'smidr-cache';
/** s3rver accepts requests signed with these. */
export const TEST_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

export interface S3Server {
  endpoint: string;
  /** Where s3rver keeps the bucket on disk. */
  directory: string;
  /** Object keys in the bucket, sorted. */
  keys(): string[];
  stop(): Promise<void>;
}

export async function startS3Server(directory: string): Promise<S3Server> {
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: TEST_BUCKET }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    keys: () => bucketKeys(path.join(directory, TEST_BUCKET)),
    stop: () => server.close(),
  };
}

/**
 * s3rver's file store keeps an object `k` as `<bucket>/k._S3rver_object` beside its metadata:
 * reading the directory tells what the bucket holds without going through the code under test.
 */
function bucketKeys(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const name of safeReaddir(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(dir, r)).isDirectory()) visit(r);
      else if (name.endsWith('._S3rver_object')) out.push(r.slice(0, -'._S3rver_object'.length));
    }
  };
  visit('');
  return out.sort();
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function objectBytes(s: S3Server, key: string): Buffer {
  return readFileSync(path.join(s.directory, TEST_BUCKET, `${key}._S3rver_object`));
}

/** A store that answers every request with 500 and counts them. */
export async function startFailingStore(): Promise<{ endpoint: string; requests(): number; stop(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    req.resume();
    res.writeHead(500, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0"?><Error><Code>InternalError</Code><Message>test store failure</Message></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An address on 127.0.0.1 where nothing listens: a port just freed. */
export async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
