/**
 * Layer fetches survive network hiccups: which git failures are retried, the retry loop itself,
 * and real git against a smart-HTTP server on 127.0.0.1 that fails its first requests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gitRemote } from '../../src/bitbake/git.js';
import { transientGitFailure } from '../../src/bitbake/git-transient.js';
import { GitError } from '../../src/util/errors.js';
import { type Logger, setLogger, terminalLogger } from '../../src/util/log.js';
import { withRetry } from '../../src/util/retry.js';
import { GitHttpServer } from '../support/git-http-server.js';

describe('transientGitFailure', () => {
  it.each([
    ["fatal: unable to access 'https://h/x.git/': The requested URL returned error: 503", 'server error'],
    ["fatal: unable to access 'https://h/x.git/': The requested URL returned error: 502", 'server error'],
    ["fatal: unable to access 'http://h/x.git/': Empty reply from server", 'connection dropped'],
    [
      "fatal: unable to access 'https://h/': Failed to connect to h port 443 after 130000 ms: Couldn't connect to server",
      'connection failed',
    ],
    ["fatal: unable to access 'https://h/': Recv failure: Connection reset by peer", 'connection failed'],
    ["fatal: unable to access 'https://h/': Operation timed out after 300000 milliseconds", 'timeout'],
    ["fatal: unable to access 'https://h/': Could not resolve host: h", 'name resolution failed'],
    ['error: RPC failed; curl 92 HTTP/2 stream 5 was not closed cleanly\nfatal: early EOF', 'connection dropped'],
    ['fatal: the remote end hung up unexpectedly', 'connection dropped'],
    [
      "fatal: unable to access 'https://h/': gnutls_handshake() failed: The TLS connection was non-properly terminated.",
      'TLS error',
    ],
  ])('retries %j', (stderr, reason) => {
    expect(transientGitFailure(stderr)).toBe(reason);
  });

  it.each([
    "fatal: repository 'http://127.0.0.1:1/nope.git/' not found",
    "remote: Repository not found.\nfatal: repository 'https://github.com/o/r/' not found",
    "fatal: '/x' does not appear to be a git repository\nfatal: Could not read from remote repository.",
    "fatal: could not read Username for 'https://github.com': terminal prompts disabled",
    "fatal: Authentication failed for 'https://h/x.git/'",
    "fatal: unable to access 'https://h/x.git/': The requested URL returned error: 403",
    'fatal: remote error: upload-pack: not our ref 1234567890123456789012345678901234567890',
    "fatal: couldn't find remote ref refs/heads/nope",
    'fatal: something nobody has seen before',
  ])('fails at once on %j', (stderr) => {
    expect(transientGitFailure(stderr)).toBeUndefined();
  });
});

describe('withRetry', () => {
  const transient = (e: unknown) => ((e as Error).message.startsWith('flaky') ? 'flaky' : undefined);

  it('tries again after each pause until the operation works', async () => {
    const slept: number[] = [];
    let calls = 0;
    const value = await withRetry(() => (++calls < 3 ? Promise.reject(new Error('flaky')) : Promise.resolve('ok')), {
      delaysMs: [5, 10, 20],
      transient,
      sleep: (ms) => Promise.resolve(void slept.push(ms)),
    });
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(slept).toEqual([5, 10]);
  });

  it('throws a final error at once and the last transient one when the pauses run out', async () => {
    let calls = 0;
    const sleep = () => Promise.resolve();
    await expect(
      withRetry(() => (++calls, Promise.reject(new Error('gone'))), { delaysMs: [1, 1], transient, sleep }),
    ).rejects.toThrow('gone');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withRetry(() => Promise.reject(new Error(`flaky ${++calls}`)), { delaysMs: [1, 1], transient, sleep }),
    ).rejects.toThrow('flaky 3');
    expect(calls).toBe(3);
  });
});

describe('gitRemote against a smart-HTTP server that fails', () => {
  let server: GitHttpServer;
  let head: string;
  const warnings: string[] = [];
  const logger: Logger = { ...terminalLogger, info: () => undefined, warning: (m) => void warnings.push(m) };

  beforeAll(async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'smidr-git-http-'));
    const work = path.join(root, 'work');
    const g = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: work,
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      }).trim();
    execFileSync('git', ['init', '-q', '-b', 'main', work]);
    g('commit', '-q', '--allow-empty', '-m', 'one');
    head = g('rev-parse', 'HEAD');
    execFileSync('git', ['clone', '-q', '--bare', work, path.join(root, 'layer.git')]);
    server = new GitHttpServer(root);
    await server.start();
    setLogger(logger);
  });

  afterAll(async () => {
    setLogger(terminalLogger);
    await server.stop();
  });

  it('retries a 503 and a dropped connection, logging each retry', async () => {
    warnings.length = 0;
    server.failNext('http-503', 'reset');
    const out = await gitRemote(
      ['ls-remote', '--', server.url('layer.git'), 'refs/heads/main'],
      undefined,
      [10, 10, 10],
    );
    expect(out).toBe(`${head}\trefs/heads/main`);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/git ls-remote failed \(server error: .*503\); attempt 1 of 4, trying again/);
    expect(warnings[1]).toMatch(
      /git ls-remote failed \(connection dropped: .*Empty reply from server\); attempt 2 of 4/,
    );
  });

  it("gives up after the last attempt with git's error", async () => {
    server.failNext('http-503', 'http-503', 'http-503');
    const before = server.requests.length;
    await expect(gitRemote(['ls-remote', '--', server.url('layer.git')], undefined, [10, 10])).rejects.toThrow(
      /returned error: 503/,
    );
    expect(server.requests.length - before).toBe(3);
  });

  it('fails at once when the repository does not exist', async () => {
    warnings.length = 0;
    const before = server.requests.length;
    const failure = gitRemote(['ls-remote', '--', server.url('missing.git')], undefined, [10, 10]);
    await expect(failure).rejects.toBeInstanceOf(GitError);
    await expect(failure).rejects.toThrow(/not found/);
    expect(server.requests.length - before).toBe(1);
    expect(warnings).toEqual([]);
  });
});
