/**
 * What the real tier's test files share: the smidr.yaml they build from, the git remotes it names
 * (the BitBake and OE-core checkouts, and test/fixtures/meta-smidr-real with its git source), one
 * job's timings, and reading BitBake's own output for the tasks it ran.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { GitRemote } from '../support/git-remotes.js';
import { type RunnerEnv, startStep, type StepResult } from '../support/run-action.js';
import { BUILDER_IMAGE, FIXTURES } from '../support/world.js';
import { createSourceRepo, fixedGit } from './layer.js';
import type { RealSeries } from './series.js';

export type Job = { main: StepResult; post: StepResult; seconds: { main: number; post: number }; workspace: string };
export type RealRemotes = { bitbake: GitRemote; oecore: GitRemote; layer: GitRemote };

/** One job on a fresh machine (its RUNNER_TEMP emptied first): main, then post with main's state, each timed. */
export async function timedJob(runner: RunnerEnv): Promise<Job> {
  if (runner.runnerTemp) rmSync(runner.runnerTemp, { recursive: true, force: true });
  let t = Date.now();
  const main = await startStep(runner, 'main').done;
  const mainSeconds = (Date.now() - t) / 1000;
  t = Date.now();
  const post = await startStep(runner, 'post', main.state).done;
  return { main, post, seconds: { main: mainSeconds, post: (Date.now() - t) / 1000 }, workspace: runner.workspace };
}

/** What a reader of the log sees of one job: the lines the figures in docs/benchmarks.md quote. */
export function figures(label: string, j: Job): void {
  const logs = path.join(path.dirname(j.workspace), '..', 'logs');
  mkdirSync(logs, { recursive: true });
  writeFileSync(
    path.join(logs, `${label.replace(/\W+/g, '-')}.log`),
    `${j.main.stdout}\n---- outputs ----\n${JSON.stringify(j.main.outputs, null, 1)}\n---- post ----\n${j.post.stdout}`,
  );
  const summary = /Sstate summary: .*$/m.exec(j.main.stdout)?.[0] ?? '(no Sstate summary)';
  const tasks = /NOTE: Tasks Summary: .*$/m.exec(j.main.stdout)?.[0] ?? '(no Tasks Summary)';
  // The job summary's build table gives BitBake's own run time (whole seconds).
  const bitbake = /\| (\d+m\d+s) \|/.exec(j.main.summary)?.[1] ?? '?';
  console.log(
    `[real] ${label} (log: ${logs}): main ${j.seconds.main.toFixed(1)} s (BitBake ${bitbake}), post ${j.seconds.post.toFixed(1)} s; ${summary}; ${tasks}`,
  );
}

/** Tasks BitBake really ran (not setscene), as `<recipe file name>:do_<task>`. */
export function tasksRun(stdout: string): string[] {
  return [...stdout.matchAll(/^NOTE: Running (?:noexec )?task \d+ of \d+ \((?:.*\/)?([^/]+\.bb):(do_\w+)\)$/gm)].map(
    (m) => `${m[1]}:${m[2]}`,
  );
}

export function setsceneRun(stdout: string): string[] {
  return [...stdout.matchAll(/^NOTE: Running setscene task \d+ of \d+ \((?:.*\/)?([^/]+\.bb):(do_\w+)\)$/gm)].map(
    (m) => `${m[1]}:${m[2]}`,
  );
}

/** The layer remote gets the git repository smidr-real-app fetches (the only place the container sees besides the caches). */
function addSourceRepo(layer: GitRemote): void {
  createSourceRepo(layer.work);
  fixedGit(layer.work, 'add', '-A');
  fixedGit(layer.work, 'commit', '-q', '-m', 'the git source of smidr-real-app');
  fixedGit(layer.work, 'push', '-q', 'origin', `HEAD:${layer.branch}`);
}

/** The checkouts of a series and the test layer, served as git remotes under `dir`. */
export function realRemotes(dir: string, s: RealSeries): RealRemotes {
  const remotes = {
    bitbake: GitRemote.mirror(dir, 'bitbake', process.env[s.bitbakeVar]!, s.bitbakeBranch),
    oecore: GitRemote.mirror(dir, 'openembedded-core', process.env[s.oecoreVar]!, s.oecoreBranch),
    layer: GitRemote.create(dir, 'meta-smidr-real', path.join(FIXTURES, 'meta-smidr-real')),
  };
  addSourceRepo(remotes.layer);
  return remotes;
}

export const BASE_RECIPE = 'recipes-real/smidr-real-base/smidr-real-base_1.0.bb';

/**
 * `loopbackOnly`: offline but for 127.0.0.1, where the remote cache's endpoint listens. BitBake
 * treats any http:// premirror as network access, and under BB_NO_NETWORK = "1" that is fatal to
 * the fetch (NetworkAccess is re-raised, no next mirror is tried), so those jobs use
 * BB_ALLOWED_NETWORKS instead.
 */
export function smidrYaml(s: RealSeries, remotes: RealRemotes, o: { loopbackOnly?: boolean } = {}): string {
  const localConf = [
    // Offline: no fetch from the network, and no uninative tarball (master's nodistro inherits it).
    // (OE's sanity check would otherwise try its connectivity URI on the internet.)
    ...(o.loopbackOnly
      ? ['BB_ALLOWED_NETWORKS = "127.0.0.1"', 'CONNECTIVITY_CHECK_URIS = ""']
      : ['BB_NO_NETWORK = "1"']),
    'INHERIT:remove = "uninative"',
    // Only the test layer's recipes are parsed: a build takes seconds instead of a minute.
    'BBMASK = "/openembedded-core/meta/recipes-"',
    'BBFILE_PATTERN_IGNORE_EMPTY_core = "1"',
    ...s.localConf,
  ];
  return [
    `name: real-${s.id}`,
    `yocto_series: ${s.series}`,
    'layers:',
    '  - name: bitbake',
    `    git: ${remotes.bitbake.url}`,
    `    branch: "${remotes.bitbake.branch}"`,
    '  - name: openembedded-core',
    `    git: ${remotes.oecore.url}`,
    `    branch: ${remotes.oecore.branch}`,
    '    sublayers: [meta]',
    '  - name: meta-smidr-real',
    `    git: ${remotes.layer.url}`,
    '    branch: main',
    'build:',
    '  targets: [smidr-real-app]',
    '  machine: qemux86-64',
    '  distro: nodistro',
    '  bb_number_threads: 2',
    '  local_conf:',
    ...localConf.map((l) => `    - '${l}'`),
    'container:',
    `  base_image: ${BUILDER_IMAGE}`,
    '  memory: 2g',
    '  cpu_count: 2',
    '',
  ].join('\n');
}
