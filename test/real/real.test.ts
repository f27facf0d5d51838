/**
 * The real tier: the bundled action (dist/main.js, then dist/post.js, as the runner runs them)
 * against real BitBake and OpenEmbedded-Core, in the offline builder container, with the real
 * @actions/cache client talking to the loopback cache service. The checkouts come from
 * environment variables (no registry ships BitBake), one pair per series; a series whose pair is
 * unset is skipped with one line saying so. Run with `npm run test:real`.
 *
 * The layer under test, test/fixtures/meta-smidr-real, builds in seconds: no toolchain, no network,
 * yet real sstate objects, real setscene reuse and a real hash-equivalence DB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

import * as cache from '@actions/cache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyClientEnv, type CacheService, captureOutput, startCacheService } from '../support/cache-service/index.js';
import { makeWorkspaceRepo } from '../support/git-remotes.js';
import type { RunnerEnv } from '../support/run-action.js';
import { BUILDER_IMAGE, dockerAvailable, scratch } from '../support/world.js';
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

function ok(j: Job): void {
  expect(j.main.exitCode, j.main.stdout).toBe(0);
  expect(j.post.exitCode, j.post.stdout).toBe(0);
}

/** Every file below dir, relative to it. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** The file names in a stored cache archive (tar, zstd-compressed as the client writes it). */
async function archiveFiles(service: CacheService, key: string): Promise<string[]> {
  const entry = service.entries().find((e) => e.key === key);
  if (!entry) throw new Error(`no cache entry ${key}`);
  const bytes = await service.readArchive(entry.id);
  return execFileSync('sh', ['-c', 'zstd -dc | tar -t'], { input: bytes, encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter(Boolean);
}

for (const s of SERIES) {
  const skip = seriesSkipReason(s);
  if (skip) console.log(`[real] ${s.id}: skipped: ${skip}`);

  describe.skipIf(skip !== undefined)(`real BitBake ${s.id}`, () => {
    let root: string;
    let service: CacheService;
    let remotes: RealRemotes;
    let yaml: string;
    let jobs = 0;

    /** One job on a fresh machine: its own workspace (a checkout holding smidr.yaml), empty RUNNER_TEMP. */
    async function job(inputs: Record<string, string> = {}, runnerTemp = path.join(root, 'runner-temp')): Promise<Job> {
      jobs += 1;
      const ws = path.join(root, 'ws', String(jobs));
      makeWorkspaceRepo(ws, { 'smidr.yaml': yaml });
      const runner: RunnerEnv = {
        workspace: ws,
        jobDir: path.join(root, 'jobs', String(jobs)),
        runnerTemp,
        runId: String(7000 + jobs),
        inputs: { config: 'smidr.yaml', cache: 'actions', ...inputs },
        env: service.env,
      };
      return timedJob(runner);
    }

    beforeAll(async () => {
      if (!dockerAvailable()) throw new Error(`Docker or ${BUILDER_IMAGE} is missing: run ./scripts/setup.sh`);
      root = scratch(`real-${s.id}`);
      remotes = realRemotes(path.join(root, 'remotes'), s);
      yaml = smidrYaml(s, remotes);
      service = await startCacheService({ protocol: 'v2' });
    }, LONG);

    afterAll(async () => {
      if (!service) return;
      expect(service.serverErrors()).toEqual([]);
      await service.stop();
    });

    describe('through the GitHub cache', () => {
      let cold: Job;
      let warm: Job;

      beforeAll(async () => {
        cold = await job();
        figures(`${s.id} cold`, cold);
        warm = await job();
        figures(`${s.id} warm`, warm);
      }, LONG);

      it('cold: sstate objects and hashserv.db land in the cached directories, not in the workspace', async () => {
        ok(cold);
        expect(cold.main.outputs['sstate-cache-hit']).toBe('miss');
        expect(cold.main.outputs['sstate-match']).toBe('0');
        // The action's reading of knotty's real output: every task ran, the noexec do_build aside.
        expect(Number(cold.main.outputs['tasks-run'])).toBe(
          tasksRun(cold.main.stdout).filter((t) => !t.endsWith(':do_build')).length,
        );
        expect(tasksRun(cold.main.stdout)).toEqual(
          expect.arrayContaining(['smidr-real-base_1.0.bb:do_deploy', 'smidr-real-app_1.0.bb:do_deploy']),
        );
        // BitBake read every layer's revision, though the checkouts belong to another user.
        expect(cold.main.stdout).not.toContain('<unknown>');
        expect(cold.main.stdout).toMatch(
          new RegExp(`^meta-smidr-real +="HEAD:${remotes.layer.head()}"`.replace('="', '= "'), 'm'),
        );
        const key = /sstate cache: saved (\S+)/.exec(cold.post.stdout)?.[1];
        expect(key, cold.post.stdout).toBeDefined();
        const archived = await archiveFiles(service, key!);
        expect(archived.some((f) => /\/sstate-cache\/.*sstate:smidr-real-app:.*_deploy\.tar\.zst$/.test(f))).toBe(true);
        expect(archived.some((f) => /\/sstate-cache\/.*_populate_lic\.tar\.zst$/.test(f))).toBe(true);
        expect(archived.filter((f) => f.endsWith('/hashserv/hashserv.db'))).toHaveLength(1);
        // BitBake's git fetcher keeps a bare clone and its .done stamp in DL_DIR: a download.
        const dlKey = /downloads cache: saved (\S+)/.exec(cold.post.stdout)?.[1];
        expect(dlKey, cold.post.stdout).toBeDefined();
        const downloads = await archiveFiles(service, dlKey!);
        expect(
          downloads.some((f) => /\/downloads\/git2\/[^/]*smidr-real-src\.git\.done$/.test(f)),
          downloads.join('\n'),
        ).toBe(true);
        // The build directory (TOPDIR) and the workspace hold neither sstate nor a DB.
        for (const dir of [cold.main.outputs['build-dir']!, cold.workspace]) {
          const stray = files(dir).filter((f) => /(^|\/)sstate:|(^|\/)hashserv\.db/.test(f));
          expect(stray, dir).toEqual([]);
        }
      });

      it('warm, in a fresh workspace after a cache round trip: 100% match and no do_deploy runs', () => {
        ok(warm);
        expect(warm.main.outputs['sstate-cache-hit']).toBe('exact');
        expect(warm.main.outputs['hashserv-cache-hit']).toBe('exact');
        expect(warm.main.outputs['downloads-cache-hit']).toBe('exact');
        expect(warm.main.stdout).toMatch(/Sstate summary: Wanted [1-9]\d* .*\(100% match, \d+% complete\)/);
        expect(warm.main.outputs['sstate-match']).toBe('100');
        expect(warm.main.outputs['tasks-run']).toBe('0');
        expect(tasksRun(warm.main.stdout).filter((t) => t.endsWith(':do_deploy'))).toEqual([]);
      });
    });

    describe('hash equivalence through the GitHub cache', () => {
      let changed: Job;
      let again: Job;
      let control: Job;

      beforeAll(async () => {
        // A new task hash for smidr-real-base:do_deploy, the same output (mode 644 is 0644).
        const text = readFileSync(path.join(remotes.layer.work, BASE_RECIPE), 'utf8');
        remotes.layer.commit(
          { [BASE_RECIPE]: text.replace('install -m 0644', 'install -m 644') },
          'same output, new task hash',
        );
        changed = await job();
        figures(`${s.id} changed recipe`, changed);
        again = await job();
        figures(`${s.id} changed recipe, next job`, again);
        await resaveWithoutDb(changed);
        control = await job();
        figures(`${s.id} control without DB`, control);
      }, LONG);

      /**
       * The control: the changed job's sstate entry saved again, newest, with the hash-equivalence
       * directory emptied, using the same client and paths as the action.
       */
      async function resaveWithoutDb(from: Job): Promise<void> {
        const state = JSON.parse(from.main.state.caches!) as {
          paths: { sstate: string[] };
          dirs: { hashserv: string };
        };
        const key = /sstate cache: saved (\S+)/.exec(from.post.stdout)?.[1];
        expect(key, from.post.stdout).toBeDefined();
        // The client archives paths relative to GITHUB_WORKSPACE: use the job's, as the action did.
        const undo = applyClientEnv(service, {
          RUNNER_TEMP: path.join(root, 'control-temp'),
          GITHUB_WORKSPACE: from.workspace,
        });
        try {
          for (const p of state.paths.sstate) rmSync(p, { recursive: true, force: true });
          const restored = await captureOutput(() => cache.restoreCache([...state.paths.sstate], key!));
          expect(restored.value).toBe(key);
          expect(files(state.dirs.hashserv)).toContain('hashserv.db');
          // The whole directory: BitBake 2.8's unihash cache there (bb_unihashes.dat) alone
          // carries the equivalence into the next job (measured), so it is part of "the DB".
          rmSync(state.dirs.hashserv, { recursive: true, force: true });
          const saved = await captureOutput(() =>
            cache.saveCache([...state.paths.sstate], `${key!.replace(/-\d+-\d+$/, '')}-99999-1`),
          );
          expect(saved.value, saved.output).toBeGreaterThan(0);
        } finally {
          undo();
          for (const p of state.paths.sstate) rmSync(p, { recursive: true, force: true });
        }
      }

      it('the changed recipe reruns, its output is found equivalent, and the dependent do_deploy comes from sstate', () => {
        ok(changed);
        const ran = tasksRun(changed.main.stdout);
        expect(ran).toContain('smidr-real-base_1.0.bb:do_deploy');
        expect(ran).not.toContain('smidr-real-app_1.0.bb:do_deploy');
        expect(setsceneRun(changed.main.stdout)).toContain('smidr-real-app_1.0.bb:do_deploy_setscene');
        expect(changed.post.stdout).toContain('hash-equivalence DB changed');
      });

      it('the next job, after another cache round trip, finds the equivalence again: nothing reruns', () => {
        ok(again);
        expect(again.main.outputs['hashserv-cache-hit']).toBe('exact');
        expect(again.main.outputs['tasks-run']).toBe('0');
        expect(again.main.stdout).toMatch(/Sstate summary: .*\(100% match, \d+% complete\)/);
        expect(tasksRun(again.main.stdout).filter((t) => t.endsWith(':do_deploy'))).toEqual([]);
      });

      it('control: with the DB removed from the cache, the dependent do_deploy reruns too', () => {
        ok(control);
        expect(control.main.outputs['hashserv-cache-hit']).toBe('miss');
        const ran = tasksRun(control.main.stdout);
        expect(ran).toContain('smidr-real-base_1.0.bb:do_deploy');
        expect(ran).toContain('smidr-real-app_1.0.bb:do_deploy');
      });
    });

    describe('self-hosted: cache local', () => {
      it(
        'two concurrent jobs on one host sharing the cache directories both succeed',
        async () => {
          const cacheDir = path.join(root, 'host-cache');
          const inputs = { cache: 'local', 'cache-dir': cacheDir };
          const [a, b] = await Promise.all([
            job(inputs, path.join(root, 'runner-temp-a')),
            job(inputs, path.join(root, 'runner-temp-b')),
          ]);
          figures(`${s.id} concurrent A`, a);
          figures(`${s.id} concurrent B`, b);
          ok(a);
          ok(b);
          const repoDir = path.join(cacheDir, 'smidr', 'example');
          expect(existsSync(path.join(repoDir, 'hashserv', 'hashserv.db'))).toBe(true);
          expect(
            files(path.join(repoDir, 'sstate-cache')).some((f) => /sstate:smidr-real-app:.*_deploy\.tar\.zst$/.test(f)),
          ).toBe(true);
        },
        LONG,
      );
    });
  });
}
