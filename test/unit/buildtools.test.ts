/**
 * Buildtools through the real @actions/tool-cache: a test-made installer served from 127.0.0.1,
 * verified, installed once per version and architecture, found by the next job without a download.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { installBuildtools, installerUrl } from '../../src/host/buildtools.js';
import { type Logger, setLogger, terminalLogger } from '../../src/util/log.js';
import { fileBytes, makeBuildtoolsInstaller } from '../support/buildtools-installer.js';

let server: Server;
let baseUrl: string;
let installer: Buffer;
let sum: string;
const requests: string[] = [];

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'smidr-buildtools-'));
  installer = fileBytes(makeBuildtoolsInstaller(path.join(root, 'site')));
  sum = createHash('sha256').update(installer).digest('hex');
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/releases/yocto/yocto-9.9.9/buildtools/buildtools-extended-x86_64-nativesdk-standalone-9.9.9.sh')
      res.writeHead(200, { 'content-type': 'application/x-sh' }).end(installer);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The tool cache and the download directory of a runner, as @actions/tool-cache reads them.
  process.env.RUNNER_TOOL_CACHE = path.join(root, 'tool-cache');
  process.env.RUNNER_TEMP = path.join(root, 'runner-temp');
  const quiet: Logger = { ...terminalLogger, info: () => undefined };
  setLogger(quiet);
});

afterAll(async () => {
  setLogger(terminalLogger);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('installerUrl', () => {
  it('builds the download path as kas does, defaults for base_url and filename', () => {
    expect(installerUrl({ version: '5.0.8' }, 'x86_64')).toBe(
      'https://downloads.yoctoproject.org/releases/yocto/yocto-5.0.8/buildtools/buildtools-extended-x86_64-nativesdk-standalone-5.0.8.sh',
    );
    expect(installerUrl({ version: '5.0.8', baseUrl: 'https://m.example/y/', filename: 'b.sh' }, 'aarch64')).toBe(
      'https://m.example/y/releases/yocto/yocto-5.0.8/buildtools/b.sh',
    );
  });
});

describe('installBuildtools', () => {
  it('refuses a download whose sum differs, naming both sums, and caches nothing', async () => {
    const wrong = '0'.repeat(64);
    await expect(installBuildtools({ version: '9.9.9', sha256sum: wrong, baseUrl }, 'x86_64')).rejects.toThrow(
      `has SHA-256 ${sum}, but ${wrong} was expected`,
    );
    expect(existsSync(path.join(process.env.RUNNER_TOOL_CACHE!, 'yocto-buildtools', '9.9.9', 'x86_64.complete'))).toBe(
      false,
    );
  });

  it('requires a sum', async () => {
    await expect(installBuildtools({ version: '9.9.9', baseUrl }, 'x86_64')).rejects.toThrow(/no sha256sum/);
  });

  it('installs once into the tool cache, relocated there; the next job downloads nothing', async () => {
    const before = requests.length;
    const first = await installBuildtools({ version: '9.9.9', sha256sum: sum, baseUrl }, 'x86_64');
    expect(first.installed).toBe(true);
    expect(requests.length - before).toBe(1);
    const dir = path.join(process.env.RUNNER_TOOL_CACHE!, 'yocto-buildtools', '9.9.9', 'x86_64');
    expect(first.envFile).toBe(path.join(dir, 'environment-setup-x86_64-pokysdk-linux'));
    // Relocated to its final directory, not to a temporary one copied afterwards.
    expect(readFileSync(first.envFile, 'utf8')).toContain(`${dir}/sysroots/x86_64-pokysdk-linux/usr/bin`);
    const probe = execFileSync('bash', ['-c', `. "${first.envFile}" && buildtools-probe`], { encoding: 'utf8' });
    expect(probe).toContain(`${dir}/sysroots/x86_64-pokysdk-linux/usr/bin/buildtools-probe`);

    const second = await installBuildtools({ version: '9.9.9', sha256sum: sum, baseUrl }, 'x86_64');
    expect(second).toEqual({ envFile: first.envFile, installed: false });
    expect(requests.length - before).toBe(1);
  });
});
