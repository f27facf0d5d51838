/** Credentials in a layer URL: masked on the runner, shown as `***`, kept out of messages and outputs. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { checkoutLayers, layersJson } from '../../src/bitbake/layers.js';
import { actionLogger, setLogger } from '../../src/util/log.js';
import { shownUrl, urlSecret, withoutUrlSecret } from '../../src/util/url.js';
import { GitHttpServer } from '../support/git-http-server.js';
import { recordingLogger } from '../support/recording-logger.js';

describe('urlSecret and shownUrl', () => {
  it.each([
    ['https://x-access-token:ghs_abc@github.com/o/r', 'ghs_abc', 'https://***@github.com/o/r'],
    ['https://ghp_tok@github.com/o/r.git', 'ghp_tok', 'https://***@github.com/o/r.git'],
    ['http://user:p%40ss@host/r', 'p@ss', 'http://***@host/r'],
    ['ssh://git@host/r.git', undefined, 'ssh://***@host/r.git'],
    ['ssh://git:pw@host/r.git', 'pw', 'ssh://***@host/r.git'],
    ['https://github.com/o/r', undefined, 'https://github.com/o/r'],
    ['git@github.com:o/r.git', undefined, 'git@github.com:o/r.git'],
    ['refs/heads/main', undefined, 'refs/heads/main'],
  ])('%s', (url, secret, shown) => {
    expect(urlSecret(url)).toBe(secret);
    expect(shownUrl(url)).toBe(shown);
  });

  it("takes the secret out of git's own messages", () => {
    const url = 'https://u:tok123@h/x.git';
    expect(withoutUrlSecret("fatal: unable to access 'https://u:tok123@h/x.git/': 503", url)).toBe(
      "fatal: unable to access 'https://u:***@h/x.git/': 503",
    );
  });
});

describe('a layer fetched with a token in its URL', () => {
  const server = new GitHttpServer(mkdtempSync(path.join(tmpdir(), 'smidr-url-')));
  const root = mkdtempSync(path.join(tmpdir(), 'smidr-url-work-'));
  const token = 'ghs_s3cretTokenValue';

  beforeAll(async () => {
    const bare = path.join((server as unknown as { root: string }).root, 'meta-private.git');
    const work = path.join(root, 'src');
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, stdio: 'pipe' });
    execFileSync('git', ['init', '-q', '-b', 'main', work]);
    execFileSync('sh', ['-c', 'mkdir -p conf && echo \'BBFILE_COLLECTIONS += "p"\' > conf/layer.conf'], { cwd: work });
    git(work, 'add', '.');
    git(work, 'commit', '-q', '-m', 'layer');
    execFileSync('git', ['clone', '-q', '--bare', work, bare]);
    await server.start();
  });
  afterAll(() => server.stop());
  afterEach(() => setLogger(actionLogger));

  it('registers the token as a secret and never shows it in a log line, an error or the layers output', async () => {
    const logger = recordingLogger();
    setLogger(logger);
    const url = server.url('meta-private.git').replace('http://', `http://x-access-token:${token}@`);
    const layers = await checkoutLayers(
      [{ name: 'meta-private', source: { kind: 'git', url, branch: 'main' } }],
      path.join(root, 'store'),
      root,
    );
    expect(logger.lines('secret')).toEqual([token]);
    expect(JSON.stringify(layersJson(layers))).not.toContain(token);
    expect(JSON.stringify(layersJson(layers))).toContain('http://***@127.0.0.1');
    const shown = logger.entries.filter((e) => e.kind !== 'secret').map((e) => e.message);
    expect(shown.join('\n')).toContain('fetching branch main');
    expect(shown.join('\n')).not.toContain(token);

    const missing = url.replace('meta-private', 'meta-missing');
    const error = await checkoutLayers(
      [{ name: 'meta-missing', source: { kind: 'git', url: missing, branch: 'main' } }],
      path.join(root, 'store'),
      root,
    ).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('meta-missing');
    expect((error as Error).message).not.toContain(token);
  });
});
