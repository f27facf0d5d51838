/**
 * The remote cache and the shared hash server with real BitBake: the bundled action (main, then
 * post) with `cache: remote` against s3rver on 127.0.0.1, and the real `bitbake-hashserv` of the
 * BitBake checkout (a writable and a read-only port on one SQLite DB, as README "Outgrowing one
 * machine" deploys it). Every job is a host of its own (its own runner directories): nothing is
 * shared but the bucket and the server. BitBake runs in the builder container on the host's
 * network, so it reaches both through 127.0.0.1.
 *
 * Host A builds, then builds a change that gives smidr-real-base:do_deploy a new task hash and
 * the same output: the server records the equivalence. Host B builds the same change and runs no
 * do_deploy at all: the server hands it A's unihash, whose object is in the bucket. A pull request
 * with another such change reads the server through the read-only port and adds no row to it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { servedListFile } from '../../src/cache/remote/session.js';
import { makeWorkspaceRepo } from '../support/git-remotes.js';
import type { RunnerEnv } from '../support/run-action.js';
import { type S3Server, startS3Server, TEST_BUCKET, TEST_CREDENTIALS } from '../support/s3-server.js';
import { BUILDER_IMAGE, dockerAvailable, scratch } from '../support/world.js';
import { hashservRows, type RunningHashServer, startHashServer, taskhashesOf } from './hashserv-server.js';
import {
  BASE_RECIPE,
  figures,
  type Job,
  type RealRemotes,
  realRemotes,
  setsceneRun,
  smidrYaml,
  tasksRun,
  timedJob,
} from './jobs.js';
import { SERIES, seriesSkipReason } from './series.js';

const LONG = 1_800_000;
const PREFIX = 'fleet/';

function ok(j: Job): void {
  expect(j.main.exitCode, j.main.stdout).toBe(0);
  expect(j.post.exitCode, j.post.stdout).toBe(0);
}

const sstateSummary = (j: Job) =>
  /Sstate summary: Wanted (\d+) Local (\d+) Mirrors (\d+) Missed (\d+)/.exec(j.main.stdout)?.slice(1).map(Number);

for (const s of SERIES) {
  const skip = seriesSkipReason(s);
  if (skip) console.log(`[real] ${s.id}: skipped: ${skip}`);

  describe.skipIf(skip !== undefined)(`remote cache and shared hash server, real BitBake ${s.id}`, () => {
    let root: string;
    let remotes: RealRemotes;
    let yaml: string;
    let s3: S3Server;
    let db: string;
    const servers: RunningHashServer[] = [];
    let rw: string;
    let ro: string;
    let jobs = 0;

    let a: Job;
    let aChanged: Job;
    let b: Job;
    let pr: Job;
    const rows: Record<'a' | 'aChanged' | 'b' | 'pr', { unihashes: number; outhashes: number }> = {} as never;
    const keys: Record<'a' | 'aChanged' | 'b' | 'pr', string[]> = {} as never;
    /** What the server maps to the unihash of smidr-real-base:do_deploy's object, after each job. */
    const base: Record<'a' | 'aChanged' | 'b' | 'pr', { taskhash: string; outhash: string }[]> = {} as never;

    /** A job on a host of its own: new workspace and runner directories, the bucket and a hash server. */
    async function host(label: string, hashserve: string, eventName = 'push'): Promise<Job> {
      jobs += 1;
      const ws = path.join(root, 'ws', String(jobs));
      makeWorkspaceRepo(ws, { 'smidr.yaml': yaml });
      const runner: RunnerEnv = {
        workspace: ws,
        jobDir: path.join(root, 'hosts', String(jobs)),
        runId: String(8000 + jobs),
        eventName,
        inputs: {
          config: 'smidr.yaml',
          cache: 'remote',
          'remote-cache': `s3://${TEST_BUCKET}/${PREFIX}`,
          'remote-endpoint': s3.endpoint,
          hashserve,
        },
        env: { ...TEST_CREDENTIALS },
      };
      const j = await timedJob(runner);
      figures(`${s.id} remote ${label}`, j);
      return j;
    }

    const bucket = () => s3.keys().filter((k) => k.startsWith(PREFIX) && !k.startsWith(`${PREFIX}usage/`));
    const baseDeployObjects = () => bucket().filter((k) => /sstate:smidr-real-base:.*_deploy\.tar\.zst$/.test(k));
    /** The unihash in the name of smidr-real-base:do_deploy's object (the first, while there is one). */
    const baseUnihash = () => /:([0-9a-f]{64})_deploy\.tar\.zst$/.exec(baseDeployObjects()[0] ?? '')?.[1] ?? 'none';
    const served = (j: Job) =>
      JSON.parse(readFileSync(servedListFile(j.main.outputs['build-dir']!), 'utf8')) as string[];
    const changeBase = (from: string, to: string, message: string) => {
      const text = readFileSync(path.join(remotes.layer.work, BASE_RECIPE), 'utf8');
      expect(text).toContain(from);
      remotes.layer.commit({ [BASE_RECIPE]: text.replace(from, to) }, message);
    };
    const record = (k: keyof typeof rows) => {
      rows[k] = hashservRows(db);
      keys[k] = bucket();
      base[k] = taskhashesOf(db, baseUnihash());
      console.log(
        `[real] ${s.id} remote after ${k}: server rows ${rows[k].unihashes} unihashes, ${rows[k].outhashes} outhashes; bucket ${keys[k].length} objects`,
      );
    };

    beforeAll(async () => {
      if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/setup.sh`);
      root = scratch(`real-remote-${s.id}`);
      remotes = realRemotes(path.join(root, 'remotes'), s);
      yaml = smidrYaml(s, remotes, { loopbackOnly: true });
      s3 = await startS3Server(path.join(root, 's3'));
      db = path.join(root, 'hashserv', 'hashserv.db');
      mkdirSync(path.dirname(db), { recursive: true });
      const bitbake = process.env[s.bitbakeVar]!;
      servers.push(await startHashServer(bitbake, ['--database', db, '--anon-perms', '@read,@report']));
      servers.push(await startHashServer(bitbake, ['--database', db, '--read-only']));
      [rw, ro] = servers.map((x) => x.address) as [string, string];

      a = await host('host A cold', rw);
      record('a');
      // A new task hash for smidr-real-base:do_deploy, the same output (mode 644 is 0644).
      changeBase('install -m 0644', 'install -m 644', 'same output, new task hash');
      aChanged = await host('host A, recipe changed', rw);
      record('aChanged');
      b = await host('host B, same change', rw);
      record('b');
      // Another new task hash with the same output, in a pull request reading the read-only port.
      changeBase('install -m 644', 'install -m u=rw,go=r', 'same output again, in a pull request');
      pr = await host('pull request, another change', ro, 'pull_request');
      record('pr');
    }, LONG);

    afterAll(async () => {
      for (const x of servers) x.stop();
      await s3?.stop();
    });

    it('host A builds cold, uploads its objects and reports every task to the server', () => {
      ok(a);
      expect(sstateSummary(a)?.slice(1, 3)).toEqual([0, 0]); // nothing local, nothing on the mirror
      expect(keys.a.some((k) => /sstate:smidr-real-app:.*_deploy\.tar\.zst$/.test(k))).toBe(true);
      expect(rows.a.outhashes).toBeGreaterThan(0);
      expect(baseDeployObjects()).toHaveLength(1);
      expect(base.a).toHaveLength(1);
      expect(a.main.summary).toContain(`| Hash server | \`${rw}\`: answered; this build reports to it |`);
    });

    it('host A, recipe changed: do_deploy reruns and the server maps its new task hash to the old unihash', () => {
      ok(aChanged);
      const ran = tasksRun(aChanged.main.stdout);
      expect(ran).toContain('smidr-real-base_1.0.bb:do_deploy');
      expect(ran).not.toContain('smidr-real-app_1.0.bb:do_deploy');
      expect(setsceneRun(aChanged.main.stdout)).toContain('smidr-real-app_1.0.bb:do_deploy_setscene');
      // Two task hashes, one output, one unihash: the equivalence, in the server's own DB.
      const [first, second] = base.aChanged;
      expect(base.aChanged).toHaveLength(2);
      expect(second!.taskhash).not.toBe(first!.taskhash);
      expect(second!.outhash).toBe(first!.outhash);
      expect(rows.aChanged.outhashes).toBeGreaterThan(rows.a.outhashes);
      // Its do_deploy made the object the bucket has under that unihash: nothing new went up for it.
      expect(baseDeployObjects()).toHaveLength(1);
    });

    it("host B builds the same change with A's equivalence: no do_deploy runs, everything from the bucket", () => {
      ok(b);
      const ran = tasksRun(b.main.stdout);
      expect(ran.filter((t) => t.endsWith(':do_deploy'))).toEqual([]);
      expect(setsceneRun(b.main.stdout)).toEqual(
        expect.arrayContaining([
          'smidr-real-base_1.0.bb:do_deploy_setscene',
          'smidr-real-app_1.0.bb:do_deploy_setscene',
        ]),
      );
      const [wanted, local, mirrors, missed] = sstateSummary(b)!;
      expect({ local, mirrors, missed }).toEqual({ local: 0, mirrors: wanted, missed: 0 });
      // The one base do_deploy object there is, named by the unihash host A's equivalence gave.
      const [object] = baseDeployObjects();
      expect(object).toContain(baseUnihash());
      expect(base.b).toEqual(base.aChanged);
      expect(served(b)).toContain(`sstate/${object!.slice(`${PREFIX}sstate-cache/`.length)}`);
      expect(rows.b).toEqual(rows.aChanged);
      expect(keys.b).toEqual(keys.aChanged);
    });

    it('a pull request reads the read-only port and the bucket, and adds no row and no object', () => {
      ok(pr);
      expect(rows.pr).toEqual(rows.b);
      expect(keys.pr).toEqual(keys.b);
      expect(base.pr).toEqual(base.b);
      expect(pr.post.stdout).toMatch(/Not saving to the remote cache: a pull_request build restores only/);
      expect(pr.main.summary).toContain(
        `| Hash server | \`${ro}\`: answered; read-only: the local server reads it as its upstream |`,
      );
      // Its new task hash ran; the fleet's output hash, read through the upstream, kept the app's.
      expect(tasksRun(pr.main.stdout)).toContain('smidr-real-base_1.0.bb:do_deploy');
      expect(setsceneRun(pr.main.stdout)).toContain('smidr-real-app_1.0.bb:do_deploy_setscene');
    });
  });
}
