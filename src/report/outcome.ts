/**
 * What a BitBake run came to: its result, and when it did not succeed, why, in words a user can
 * act on. Pure: the caller reads the disk usage and passes it in.
 */
import { taskLabel } from '../bitbake/output.js';
import type { BitbakeRunResult } from '../bitbake/run.js';
import type { CacheDirs } from '../bitbake/workspace.js';
import { formatBytes } from '../util/format.js';
import { type FsUsage, NEARLY_FULL_BYTES } from './disk.js';

/** `stopped`: the stop-after budget ran out; what finished is in sstate and the next run goes on from there. */
export type BuildResult = 'success' | 'failure' | 'cancelled' | 'stopped';

export function buildResult(run: Pick<BitbakeRunResult, 'exitCode' | 'stoppedBy'>): BuildResult {
  if (run.exitCode === 0) return 'success';
  if (run.stoppedBy === 'budget') return 'stopped';
  return run.stoppedBy ? 'cancelled' : 'failure';
}

export interface FailureContext {
  /** container.memory, named when the out-of-memory killer struck. */
  containerMemory?: string;
  /** The stop-after minutes, named when the budget stopped BitBake. */
  budgetMinutes?: number;
  /** The filesystems holding the directories of fullDiskDirs() (diskUsage of them), to tell a full disk. */
  disk: FsUsage[];
  diskDirs: Record<string, string>;
  /** Where BitBake looked for its host tools: the builder image, or the runner (with buildtools of this release). */
  hostTools?: { image: string } | { buildtools?: string };
}

/** The directories whose filesystem filling up fails a build, by the name a message gives them. */
export function fullDiskDirs(buildDir: string, caches: CacheDirs, tmpRoot?: string): Record<string, string> {
  return {
    'the build directory': buildDir,
    ...(tmpRoot !== undefined && { TMPDIR: tmpRoot }),
    DL_DIR: caches.downloads,
    SSTATE_DIR: caches.sstate,
  };
}

/** A build that failed for want of space says so first: the task errors are only its symptoms. */
export function failureMessage(run: BitbakeRunResult, ctx: FailureContext): string {
  const full = fullDisk(run, ctx.disk, ctx.diskDirs);
  const why = runFailure(run, ctx);
  return full ? `${full}. ${why}` : why;
}

function runFailure(run: BitbakeRunResult, ctx: FailureContext): string {
  const s = run.summary;
  if (run.oomKilled) {
    const victims =
      s.failures.length > 0 ? `${s.failures.map(taskLabel).join(', ')} failed: ` : 'BitBake was stopped: ';
    return `${victims}the out-of-memory killer stopped a process at the container memory limit (container.memory: ${ctx.containerMemory ?? 'none'}); raise container.memory or lower build.bb_number_threads / parallel_make`;
  }
  if (run.stoppedBy === 'budget') return budgetMessage(run, ctx.budgetMinutes);
  if (run.stoppedBy) return 'BitBake was stopped because the job was cancelled';
  if (s.missingHostTools?.length) return hostToolsMessage(s.missingHostTools, ctx.hostTools);
  if (s.failures.length > 0) {
    return `BitBake failed: ${s.failures.length} task(s) failed: ${s.failures.map(taskLabel).join(', ')}`;
  }
  if (s.parseErrors.length > 0) {
    return `BitBake could not parse: ${s.parseErrors.map((p) => `${p.file}:${p.line}: ${p.message}`).join('; ')}`;
  }
  const last = s.errors.at(-1);
  return `BitBake exited with code ${run.exitCode}${last ? `: ${last}` : ''}`;
}

/** OE's host tool check failed: say where the tools were looked for and what provides them. */
function hostToolsMessage(tools: string[], where: FailureContext['hostTools']): string {
  const missing = `${tools.join(', ')} (OE's HOSTTOOLS)`;
  if (where && 'image' in where)
    return `BitBake's host tools are missing in the builder image ${where.image}: ${missing}; use an image that has them (container-image)`;
  if (where?.buildtools)
    return `BitBake's host tools are missing on the runner and in buildtools ${where.buildtools}: ${missing}; install them on the runner`;
  return (
    `BitBake's host tools are missing on the runner: ${missing}. Install them on the runner, or let the action ` +
    "install Yocto's buildtools, which bring them: set the buildtools input (a release such as 5.0.8) with " +
    'buildtools-sha256, or a buildtools section in the config'
  );
}

function budgetMessage(run: BitbakeRunResult, minutes: number | undefined): string {
  const p = run.summary.lastProgress;
  const where = !p
    ? 'before any task ran'
    : p.phase === 'setscene'
      ? `while reusing sstate (${p.current} of ${p.total} setscene tasks), before any real task`
      : `after ${p.current} of ${p.total} tasks; ${p.total - p.current} remain`;
  return (
    `BitBake was stopped at the time budget (stop-after: ${minutes} minutes) ${where}. ` +
    'Everything that finished is in sstate and is saved with the caches: run the job again with the same config to continue from here'
  );
}

/** Said when BitBake ran out of space, or the fullest filesystem has almost nothing left. */
function fullDisk(run: BitbakeRunResult, usage: FsUsage[], dirs: Record<string, string>): string | undefined {
  const enospc = run.summary.errors.some((e) => /No space left on device|disk space monitor/i.test(e));
  const fullest = usage.reduce<FsUsage | undefined>((a, u) => (!a || u.freeBytes < a.freeBytes ? u : a), undefined);
  if (!fullest || (!enospc && fullest.freeBytes >= NEARLY_FULL_BYTES)) return undefined;
  const where = fullest.holds.map((h) => `${h} (${dirs[h]})`).join(', ');
  return (
    `No space left on the file system holding ${where}: ${formatBytes(fullest.freeBytes)} free of ${formatBytes(fullest.totalBytes)}; ` +
    'free space on the runner, put workspace-dir (and the caches) on a bigger disk, or add INHERIT += "rm_work" to local-conf so finished recipes leave TMPDIR'
  );
}
