/**
 * container-engine none on a runner as GitHub hosts it: a non-root user (`runner`, uid 1001,
 * created when the tests run as root), Yocto's buildtools from the tool cache. dist/main.js and
 * dist/post.js run as that user; the installer is one the test made, served from 127.0.0.1 and
 * installed by the real @actions/tool-cache. No Docker.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { yoctoArch } from '../../src/host/buildtools.js';
import { makeBuildtoolsInstaller } from '../support/buildtools-installer.js';
import { runJob, type RunnerUser, type StepResult } from '../support/run-action.js';
import { jobWorkspace, pokyRemote, scratch, smidrYaml, standinReport } from '../support/world.js';

const LONG = 600_000;
const ARCH = yoctoArch();
const INSTALLER_PATH = `/releases/yocto/yocto-9.9.9/buildtools/buildtools-extended-${ARCH}-nativesdk-standalone-9.9.9.sh`;
/** A host PATH as a hosted runner has it; buildtools-probe is on it only through buildtools. */
const RUNNER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let root: string;
let user: RunnerUser;
let server: Server;
let baseUrl: string;
let sum: string;
const requests: string[] = [];

/** The hosted runner's user: `runner`, uid 1001, created if missing; the test's own user when not root. */
function runnerUser(): RunnerUser {
  if (process.getuid!() !== 0)
    return {
      name: process.env.USER ?? 'user',
      uid: process.getuid!(),
      gid: process.getgid!(),
      home: process.env.HOME!,
    };
  let entry = spawnSync('getent', ['passwd', '1001'], { encoding: 'utf8' }).stdout.trim();
  if (!entry) {
    execFileSync('useradd', ['-u', '1001', '-m', '-s', '/bin/bash', 'runner']);
    entry = spawnSync('getent', ['passwd', '1001'], { encoding: 'utf8' }).stdout.trim();
  }
  const [name, , uid, gid, , home] = entry.split(':');
  return { name: name!, uid: Number(uid), gid: Number(gid), home: home! };
}

beforeAll(async () => {
  user = runnerUser();
  root = scratch('no-container');
  const installer = readFileSync(makeBuildtoolsInstaller(path.join(root, 'site'), ARCH));
  sum = createHash('sha256').update(installer).digest('hex');
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === INSTALLER_PATH) res.writeHead(200, { 'content-type': 'application/x-sh' }).end(installer);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, LONG);

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

/** smidr.yaml for poky-standin whose HOSTTOOLS include a tool only buildtools bring. */
function yaml(pokyUrl: string, buildtools: string[]): string {
  return smidrYaml(pokyUrl, { localConf: ['HOSTTOOLS += "buildtools-probe"'] }) + buildtools.join('\n') + '\n';
}

function job(name: string, workspace: string, inputs: Record<string, string>) {
  return {
    workspace,
    jobDir: path.join(root, 'jobs', name),
    inputs: { config: 'smidr.yaml', 'container-engine': 'none', cache: 'off', ...inputs },
    user,
    env: {
      PATH: RUNNER_PATH,
      // One runner's tool cache, kept between its jobs (a self-hosted runner's).
      RUNNER_TOOL_CACHE: path.join(root, 'tool-cache'),
      // A server address the build must never attach to.
      BBSERVER: '127.0.0.1:9',
    },
  };
}

describe('a non-root runner with buildtools from the tool cache', () => {
  let first: { main: StepResult; post: StepResult };
  let second: { main: StepResult; post: StepResult };
  let missing: StepResult;
  let toolDir: string;

  beforeAll(async () => {
    const pokyUrl = pokyRemote(root).url;
    // The section gives the version and the mirror; the sum comes from the buildtools-sha256 input.
    const withTools = jobWorkspace(
      root,
      'ws-buildtools',
      yaml(pokyUrl, ['buildtools:', '  version: "9.9.9"', `  base_url: ${baseUrl}`]),
    );
    const without = jobWorkspace(root, 'ws-plain', yaml(pokyUrl, []));
    // Everything the runner user reads or writes is its own, as in a runner's work directory.
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, root]);
    toolDir = path.join(root, 'tool-cache', 'yocto-buildtools', '9.9.9', ARCH);
    first = await runJob(job('first', withTools, { 'buildtools-sha256': sum }));
    second = await runJob(job('second', withTools, { 'buildtools-sha256': sum }));
    missing = (await runJob(job('missing', without, {}))).main;
  }, LONG);

  it('installs buildtools once, sources them before BitBake, and the build succeeds as the runner user', () => {
    expect(first.main.exitCode, first.main.stdout).toBe(0);
    expect(first.main.outputs.result).toBe('success');
    expect(first.post.exitCode, first.post.stdout).toBe(0);
    expect(first.main.stdout).toContain(`Downloading buildtools 9.9.9 (${ARCH}) from ${baseUrl}${INSTALLER_PATH}`);
    expect(first.main.stdout).toContain(`Buildtools 9.9.9 (${ARCH}) installed in the tool cache: ${toolDir}`);
    const report = standinReport(first.main.outputs['build-dir']!);
    expect(report.uid).toBe(user.uid);
    // The environment script ran in BitBake's shell: its sysroot is set and its tools lead PATH,
    // so OE's host tool check found buildtools-probe.
    expect(report.env.OECORE_NATIVE_SYSROOT).toBe(path.join(toolDir, 'sysroots', `${ARCH}-pokysdk-linux`));
    const dirs = report.env.PATH!.split(':');
    const bin = path.join(toolDir, 'sysroots', `${ARCH}-pokysdk-linux`, 'usr', 'bin');
    expect(dirs).toContain(bin);
    expect(dirs.indexOf(bin)).toBeLessThan(dirs.indexOf('/usr/bin'));
  });

  it('lets no host TMPDIR and no BBSERVER reach BitBake', () => {
    for (const r of [first, second]) {
      const report = standinReport(r.main.outputs['build-dir']!);
      expect(report.env.BBSERVER).toBeNull();
      expect(report.env.TMPDIR).toBeNull();
      expect(report.variables.TMPDIR).toBe(path.join(r.main.outputs['build-dir']!, 'tmp'));
    }
  });

  it('finds them in the tool cache in the next job: no download', () => {
    expect(second.main.exitCode, second.main.stdout).toBe(0);
    expect(second.main.stdout).toContain(`Buildtools 9.9.9 (${ARCH}) found in the tool cache: ${toolDir}`);
    expect(second.main.stdout).not.toContain('Downloading buildtools');
    expect(standinReport(second.main.outputs['build-dir']!).env.OECORE_NATIVE_SYSROOT).toBe(
      path.join(toolDir, 'sysroots', `${ARCH}-pokysdk-linux`),
    );
    // One request in all: the first job's download.
    expect(requests).toEqual([INSTALLER_PATH]);
  });

  it('without buildtools, a missing host tool fails the step naming the tool and the buildtools input', () => {
    expect(missing.exitCode).toBe(1);
    expect(missing.outputs.result).toBe('failure');
    const error = missing.annotations.find((a) => a.startsWith('::error'));
    expect(error).toContain("BitBake's host tools are missing on the runner: buildtools-probe (OE's HOSTTOOLS)");
    expect(error).toContain('set the buildtools input (a release such as 5.0.8) with buildtools-sha256');
    expect(requests).toEqual([INSTALLER_PATH]);
  });
});
