/**
 * Tells the workflow what happened: step outputs, annotations, disk warnings and the job summary,
 * gathered from the build and handed to the modules that render them.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import * as core from '@actions/core';

import { Outputs } from '../action/constants.js';
import { layersJson } from '../bitbake/layers.js';
import { hostDirsOf, type Workspace } from '../bitbake/workspace.js';
import type { MatchKind, RestoredCache } from '../cache/caches.js';
import type { RestoredPart } from '../cache/part-caches.js';
import type { BuildOutcome, PreparedBuild } from '../pipeline.js';
import { errorMessage } from '../util/errors.js';
import { log } from '../util/log.js';
import { buildAnnotations, emitAnnotations } from './annotations.js';
import { buildDirSizes, DISK_WARN_PERCENT, diskUsage, diskWarning, type FsUsage } from './disk.js';
import { describeFailures } from './failures.js';
import { pathMapper } from './paths.js';
import type { HashServerReport, RemoteReport } from './remote-summary.js';
import { appendSummary, type ImageFile, renderSummary } from './summary.js';

type Restored = { downloads: RestoredCache; sstate: RestoredCache; hashserv: MatchKind; parts?: RestoredPart[] };

export function setCacheOutputs(r: Restored): void {
  core.setOutput(Outputs.DownloadsCacheHit, r.downloads.kind);
  core.setOutput(Outputs.DownloadsCacheKey, r.downloads.key ?? '');
  core.setOutput(Outputs.SstateCacheHit, r.sstate.kind);
  core.setOutput(Outputs.SstateCacheKey, r.sstate.key ?? '');
  core.setOutput(Outputs.HashservCacheHit, r.hashserv);
}

export function setOutputs(b: PreparedBuild, o: BuildOutcome): void {
  core.setOutput(Outputs.BuildDir, b.workspace.buildDir);
  core.setOutput(Outputs.DeployDir, o.deployDir);
  core.setOutput(Outputs.Images, JSON.stringify(o.images));
  core.setOutput(Outputs.Layers, JSON.stringify(layersJson(b.layers)));
  core.setOutput(Outputs.Result, o.result);
  core.setOutput(Outputs.TasksRun, o.tasksRun ?? '');
  core.setOutput(Outputs.TasksReused, o.tasksReused ?? '');
  core.setOutput(Outputs.SstateMatch, o.run.summary.sstate?.matchPercent ?? '');
}

/** The layers output alone, set as soon as revisions are known (also when BitBake fails). */
export function setLayersOutput(b: PreparedBuild): void {
  core.setOutput(Outputs.Layers, JSON.stringify(layersJson(b.layers)));
  core.setOutput(Outputs.BuildDir, b.workspace.buildDir);
}

export interface ReportOptions {
  /** Write the job summary (the summary input). */
  summary: boolean;
  restored?: Restored;
  diskAtStart: FsUsage[];
  /** The disk warning's threshold (default DISK_WARN_PERCENT). */
  diskWarnPercent?: number;
  /** Where the build was placed and why (hosted runners). */
  placement?: string;
  /** What free-disk-space removed and the space it gained. */
  freed?: string;
  remote?: RemoteReport;
  hashServer?: HashServerReport;
}

/** Annotations, disk warnings and the summary of a finished build. A report problem is only a warning. */
export async function reportBuild(b: PreparedBuild, o: BuildOutcome, opts: ReportOptions): Promise<void> {
  try {
    await report(b, o, opts);
  } catch (e) {
    log.warning(`could not write the build report: ${errorMessage(e)}`);
  }
}

async function report(b: PreparedBuild, o: BuildOutcome, opts: ReportOptions): Promise<void> {
  const s = o.run.summary;
  const paths = pathMapper({
    layers: b.layers,
    ...hostDirsOf(b.workspace),
    inContainer: b.containerName !== undefined,
    repository: process.env.GITHUB_WORKSPACE ?? process.cwd(),
  });
  const failed = await describeFailures(s, paths);
  emitAnnotations(buildAnnotations(s, failed, paths));
  const diskAtEnd = await checkDisk(b.workspace, 'end', {
    threshold: opts.diskWarnPercent,
    tmpdir: path.dirname(o.deployDir),
  });
  if (!opts.summary) return;
  await appendSummary(
    renderSummary({
      targets: b.config.targets,
      machine: b.config.machine,
      distro: b.distro,
      result: o.result,
      durationMs: o.run.durationMs,
      failureMessage: o.failureMessage,
      layers: b.layers,
      restored: opts.restored,
      remote: opts.remote,
      hashServer: opts.hashServer,
      bitbake: {
        tasksAttempted: s.tasksAttempted,
        tasksRun: o.tasksRun,
        tasksReused: o.tasksReused,
        tasksFailed: s.tasksFailed,
        sstate: s.sstate,
        warnings: new Set(s.warnings).size,
      },
      images: await imageFiles(o.images),
      failed,
      parseErrors: s.parseErrors.map((p) => ({
        where: paths.toRepo(p.file) ?? p.file,
        line: p.line,
        message: p.message,
      })),
      disk: { start: opts.diskAtStart, end: diskAtEnd, placement: opts.placement, freed: opts.freed },
    }),
  );
}

export interface DiskCheck {
  /** Warn above this share in use (default DISK_WARN_PERCENT). */
  threshold?: number;
  /** TMPDIR, whose size the warning names (default: the build directory's tmp/). */
  tmpdir?: string;
  /** How usage and sizes are read; tests pass their own. */
  readUsage?: typeof diskUsage;
  readSizes?: typeof buildDirSizes;
}

/**
 * How full the filesystems of the workspace and the caches are; a warning for each one over the
 * threshold, with the sizes of TMPDIR, downloads and sstate.
 */
export async function checkDisk(
  workspace: Pick<Workspace, 'buildDir' | 'caches' | 'tmpRoot'>,
  when: 'start' | 'end',
  opts: DiskCheck = {},
): Promise<FsUsage[]> {
  const { buildDir, caches, tmpRoot } = workspace;
  const { threshold = DISK_WARN_PERCENT, readUsage = diskUsage, readSizes = buildDirSizes } = opts;
  let usage: FsUsage[];
  try {
    usage = await readUsage({
      workspace: buildDir,
      ...(tmpRoot !== undefined && { tmpdir: tmpRoot }),
      downloads: caches.downloads,
      sstate: caches.sstate,
    });
  } catch (e) {
    log.warning(`could not read disk usage: ${errorMessage(e)}`);
    return [];
  }
  if (usage.some((u) => u.percent > threshold)) {
    const tmpdir = opts.tmpdir ?? path.join(tmpRoot ?? buildDir, 'tmp');
    const sizes = await readSizes({ tmpdir, downloads: caches.downloads, sstate: caches.sstate });
    for (const u of usage) {
      const warning = diskWarning(u, when, sizes, threshold);
      if (warning) log.warning(warning, { title: 'Disk nearly full' });
    }
  }
  return usage;
}

async function imageFiles(images: string[]): Promise<ImageFile[]> {
  return Promise.all(
    images.map(async (file) => {
      const st = await fs.lstat(file).catch(() => undefined);
      const name = path.basename(file);
      if (st?.isSymbolicLink()) return { name, bytes: 0, linkTo: await fs.readlink(file) };
      return { name, bytes: st?.size ?? 0 };
    }),
  );
}
