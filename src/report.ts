/** Tells the workflow what happened: step outputs, and the job summary. */
import * as path from 'node:path';
import * as core from '@actions/core';
import { Outputs } from './constants.js';
import { layersJson } from './layers.js';
import { formatDuration } from './bitbake.js';
import { taskLabel } from './bitbake-output.js';
import type { BuildOutcome, PreparedBuild } from './pipeline.js';
import { formatBytes, type CacheState, type PruneSummary, type RestoredCache, type SavedCache, type MatchKind } from './caches.js';

type Restored = { downloads: RestoredCache; sstate: RestoredCache; hashserv: MatchKind };

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

export async function writeSummary(b: PreparedBuild, o: BuildOutcome, restored?: Restored): Promise<void> {
  const s = o.run.summary;
  const icon = o.result === 'success' ? '✅' : o.result === 'cancelled' || o.result === 'stopped' ? '⏹️' : '❌';
  core.summary
    .addHeading(`${icon} ${b.config.targets.join(', ')} for ${b.config.machine}`, 2)
    .addTable([
      [{ data: 'Machine', header: true }, { data: 'Distro', header: true }, { data: 'Result', header: true }, { data: 'Duration', header: true }],
      [b.config.machine, b.distro, o.result, formatDuration(o.run.durationMs)],
    ])
    .addHeading('Layers', 3)
    .addTable([
      [{ data: 'Layer', header: true }, { data: 'Source', header: true }, { data: 'Revision', header: true }],
      ...b.layers.map((l) => [l.name, l.url ?? l.dir, `<code>${l.commit.slice(0, 12)}</code>`]),
    ]);
  if (s.sstate || s.tasksAttempted !== undefined) {
    core.summary.addHeading('BitBake', 3).addTable([
      [{ data: 'Tasks run', header: true }, { data: 'Reused from sstate', header: true }, { data: 'Sstate wanted / local / mirrors / missed', header: true }, { data: 'Match', header: true }],
      [String(o.tasksRun ?? '–'), String(o.tasksReused ?? '–'),
        s.sstate ? `${s.sstate.wanted} / ${s.sstate.local} / ${s.sstate.mirrors} / ${s.sstate.missed}` : '–',
        s.sstate ? `${s.sstate.matchPercent}%` : '–'],
    ]);
  }
  if (restored) {
    const row = (name: string, r: RestoredCache) => [name, r.kind, r.key ? `<code>${r.key}</code>` : '–', formatBytes(r.bytes), `${r.seconds.toFixed(1)} s`];
    core.summary.addHeading('Caches restored', 3).addTable([
      [{ data: 'Cache', header: true }, { data: 'Hit', header: true }, { data: 'Restored key', header: true }, { data: 'Size', header: true }, { data: 'Time', header: true }],
      row('downloads', restored.downloads),
      row('sstate + hash-equivalence DB', restored.sstate),
    ]);
  }
  if (o.images.length > 0) core.summary.addHeading('Images', 3).addList(o.images.map((i) => `<code>${path.basename(i)}</code>`));
  if (s.failures.length > 0) core.summary.addHeading('Failed tasks', 3).addList(s.failures.map((f) => `<code>${taskLabel(f)}</code>`));
  await core.summary.write();
}

function prunedCell(p: PruneSummary): string {
  if (p.objects === 0) return 'nothing';
  const limit = p.overLimit.length === 0 ? '' : `, ${p.overLimit.length} over cache-size-limit (least recently used first: ${p.overLimit.slice(0, 10).map((o) => `<code>${o}</code>`).join(', ')}${p.overLimit.length > 10 ? `, and ${p.overLimit.length - 10} more` : ''})`;
  return `${p.objects} objects, ${formatBytes(p.bytes)}: ${p.superseded} superseded${limit}`;
}

/** The post step's part of the summary: what was saved, or why not. */
export async function writeSaveSummary(s: CacheState, saved?: { downloads: SavedCache; sstate: SavedCache }, why?: string): Promise<void> {
  core.summary.addHeading('Caches saved', 3);
  if (!saved) {
    core.summary.addRaw(`Nothing saved: ${why}.`, true);
  } else {
    const row = (name: string, c: SavedCache) => [
      name,
      c.key ? `<code>${c.key}</code>` : (c.skipped ?? c.warning ?? 'not saved'),
      c.bytes !== undefined ? formatBytes(c.bytes) : '–',
      c.seconds !== undefined ? `${c.seconds.toFixed(1)} s` : '–',
      c.pruned ? prunedCell(c.pruned) : '–',
    ];
    core.summary.addTable([
      [{ data: 'Cache', header: true }, { data: 'Saved key, or why not', header: true }, { data: 'Size', header: true }, { data: 'Time', header: true }, { data: 'Pruned', header: true }],
      row('downloads', saved.downloads),
      row('sstate + hash-equivalence DB', saved.sstate),
    ]);
  }
  await core.summary.write();
}
