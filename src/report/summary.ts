/**
 * The job summary as GitHub-flavoured markdown: build, layers, caches, BitBake's figures, images,
 * disk, and for a failed build each failed task with the end of its log. Rendering is pure; the
 * main step writes its part and the post step appends what it saved.
 */
import * as core from '@actions/core';

import type { SstateSummary } from '../bitbake/output.js';
import {
  type MatchKind,
  type PruneSummary,
  type RestoredCache,
  type SavedCache,
  type SavedCaches,
} from '../cache/caches.js';
import type { RestoredEntry, RestoredPart } from '../cache/part-caches.js';
import type { SavedPart } from '../cache/parts.js';
import { formatBytes, formatDuration } from '../util/format.js';
import type { FsUsage } from './disk.js';
import type { FailedTask } from './failures.js';
import { code, escapeHtml, escapeText, fence, link, table } from './markdown.js';
import type { BuildResult } from './outcome.js';
import { type HashServerReport, type RemoteReport, renderRemote } from './remote-summary.js';

export interface ImageFile {
  name: string;
  bytes: number;
  /** Set for a symbolic link (BitBake links `<image>-<machine>.ext4` to the dated file). */
  linkTo?: string;
}

export interface BuildReport {
  targets: string[];
  machine: string;
  distro: string;
  result: BuildResult;
  durationMs: number;
  failureMessage?: string;
  layers: {
    name: string;
    kind: 'git' | 'path';
    url?: string;
    dir: string;
    commit: string;
    branch?: string;
    tag?: string;
  }[];
  restored?: { downloads: RestoredCache; sstate: RestoredCache; hashserv: MatchKind; parts?: RestoredPart[] };
  /** cache: remote: the store and what its endpoint served. */
  remote?: RemoteReport;
  /** The shared hash server named by the hashserve input or advanced.bb_hashserve. */
  hashServer?: HashServerReport;
  bitbake: {
    tasksAttempted?: number;
    tasksRun?: number;
    tasksReused?: number;
    tasksFailed: number;
    sstate?: SstateSummary;
    warnings: number;
  };
  images: ImageFile[];
  failed: FailedTask[];
  /** `where` is the repository's path when the file is the repository's, else BitBake's. */
  parseErrors: { where: string; line: number; message: string }[];
  /** placement: where the build went and why; freed: what free-disk-space removed. */
  disk: { start: FsUsage[]; end: FsUsage[]; placement?: string; freed?: string };
}

/**
 * GitHub takes at most 1 MiB of summary per step: logs of the first failed tasks only, and no
 * log line longer than a screen.
 */
const MAX_FAILURES_WITH_LOGS = 20;
const MAX_LOG_LINE = 500;

const ICON: Record<BuildResult, string> = { success: '✅', failure: '❌', cancelled: '⏹️', stopped: '⏹️' };

export function renderSummary(r: BuildReport): string {
  return [
    ...headline(r),
    // What failed comes first: it is what a reader of a failed build is looking for.
    ...parseErrors(r),
    ...failedTasks(r),
    ...layers(r),
    ...restoredCaches(r),
    ...renderRemote(r.remote, r.hashServer),
    ...bitbakeFigures(r),
    ...images(r),
    ...disk(r),
  ].join('\n');
}

function headline(r: BuildReport): string[] {
  const out = [`## ${ICON[r.result]} ${r.targets.map(code).join(', ')} for ${code(r.machine)}: ${r.result}`, ''];
  if (r.failureMessage) out.push(escapeText(r.failureMessage), '');
  out.push(
    table(
      ['Targets', 'Machine', 'Distro', 'Result', 'Duration'],
      [[r.targets.join(' '), r.machine, r.distro, r.result, formatDuration(r.durationMs)]],
    ),
  );
  return out;
}

function parseErrors(r: BuildReport): string[] {
  if (r.parseErrors.length === 0) return [];
  return [
    '### Parse errors',
    '',
    ...r.parseErrors.map((p) => `- ${code(`${p.where}:${p.line}`)}: ${escapeText(p.message)}`),
    '',
  ];
}

function failedTasks(r: BuildReport): string[] {
  if (r.failed.length === 0) return [];
  const out = ['### Failed tasks', ''];
  for (const f of r.failed.slice(0, MAX_FAILURES_WITH_LOGS)) {
    const at = f.location && (f.location.line ? `${f.location.file}:${f.location.line}` : f.location.file);
    out.push(
      `<details><summary><b>${escapeHtml(f.label)}</b>${at ? ` at <code>${escapeHtml(at)}</code>` : ''}</summary>`,
      '',
    );
    if (f.logFile) out.push(`Last ${f.logTail?.length ?? 0} lines of ${code(f.failure.logFile!)}:`, '');
    out.push(
      f.logTail ? fence(f.logTail.map(clip).join('\n')) : 'The task log could not be read.',
      '',
      '</details>',
      '',
    );
  }
  const rest = r.failed.slice(MAX_FAILURES_WITH_LOGS);
  if (rest.length > 0) out.push(`And ${rest.length} more: ${rest.map((f) => code(f.label)).join(', ')}.`, '');
  return out;
}

function layers(r: BuildReport): string[] {
  return [
    '### Layers',
    '',
    table(
      ['Layer', 'Source', 'Revision'],
      r.layers.map((l) => [
        l.name,
        l.kind === 'path' ? `this repository${l.url ? ` (${link(l.url)})` : ''}` : link(l.url ?? l.dir),
        `${code(l.commit.slice(0, 12))}${l.branch ? ` (${l.branch})` : l.tag ? ` (tag ${l.tag})` : ''}`,
      ]),
    ),
  ];
}

/** What each part of the cache restored: the base and the delta on it. */
export const PART_LABELS: Record<SavedPart['part'], string> = {
  shared: 'sstate shared by every machine',
  machine: 'machine sstate + hash-equivalence DB',
  downloads: 'downloads',
};

function restoredParts(parts: RestoredPart[]): string[] {
  const entry = (e: RestoredEntry | undefined) =>
    e
      ? `${code(e.key)}: ${e.objects} objects, ${formatBytes(e.bytes)}${e.archiveBytes !== undefined ? ` (archive ${formatBytes(e.archiveBytes)})` : ''}`
      : '–';
  return [
    '### Caches restored',
    '',
    table(
      ['Part', 'Match', 'Base', 'Delta on it', 'Restore time'],
      parts.map((p) => [PART_LABELS[p.part], p.kind, entry(p.base), entry(p.delta), seconds(p.seconds)]),
    ),
  ];
}

function restoredCaches(r: BuildReport): string[] {
  if (!r.restored) return [];
  if (r.restored.parts) return restoredParts(r.restored.parts);
  const row = (name: string, c: RestoredCache) => [
    name,
    c.kind,
    c.key ? code(c.key) : '–',
    optionalBytes(c.archiveBytes),
    formatBytes(c.bytes),
    seconds(c.seconds),
  ];
  return [
    '### Caches restored',
    '',
    table(
      ['Cache', 'Match', 'Restored key', 'Archive', 'Size on disk', 'Restore time'],
      [
        row('downloads', r.restored.downloads),
        row('sstate', r.restored.sstate),
        ['hash-equivalence DB', r.restored.hashserv, 'with sstate', '–', '–', '–'],
      ],
    ),
  ];
}

function bitbakeFigures(r: BuildReport): string[] {
  const b = r.bitbake;
  const out = ['### BitBake', ''];
  if (b.tasksAttempted === undefined && !b.sstate) {
    out.push('BitBake did not get as far as running tasks.', '');
  } else {
    const s = b.sstate;
    out.push(
      table(
        [
          'Tasks run',
          'Reused (sstate or current)',
          'Failed',
          'Sstate wanted',
          'Local',
          'Mirrors',
          'Missed',
          'Current',
          'Match',
        ],
        [
          [
            num(b.tasksRun),
            num(b.tasksReused),
            String(b.tasksFailed),
            num(s?.wanted),
            num(s?.local),
            num(s?.mirrors),
            num(s?.missed),
            num(s?.current),
            s ? `${s.matchPercent}%` : '–',
          ],
        ],
      ),
    );
  }
  if (b.warnings > 0)
    out.push(`${b.warnings} BitBake warning${b.warnings === 1 ? '' : 's'}: see the annotations and the build log.`, '');
  return out;
}

function images(r: BuildReport): string[] {
  if (r.images.length === 0) return [];
  return [
    '### Images',
    '',
    table(
      ['File', 'Size'],
      r.images.map((i) => [code(i.name), i.linkTo ? `→ ${code(i.linkTo)}` : formatBytes(i.bytes)]),
    ),
  ];
}

function disk(r: BuildReport): string[] {
  return [
    '### Disk',
    '',
    table(
      ['Filesystem holding', 'Size', 'Used at start', 'Used at end', 'Free at end'],
      r.disk.end.map((e) => {
        const s = r.disk.start.find((x) => x.holds.join() === e.holds.join());
        return [e.holds.join(', '), formatBytes(e.totalBytes), s ? usage(s) : '–', usage(e), formatBytes(e.freeBytes)];
      }),
    ),
    ...(r.disk.placement ? ['', `Placed on ${r.disk.placement}.`] : []),
    ...(r.disk.freed ? ['', `Freed before the build: ${r.disk.freed}.`] : []),
  ];
}

/** The post step's part: what was saved, or why not. */
export function renderSaveSummary(saved?: SavedCaches, why?: string): string {
  if (!saved) return ['### Caches saved', '', `Nothing saved: ${escapeText(why ?? 'unknown reason')}.`, ''].join('\n');
  if (saved.parts) return savedParts(saved.parts, saved.sstate.pruned);
  const row = (name: string, c: SavedCache) => [
    name,
    c.key ? code(c.key) : escapeText(c.skipped ?? c.warning ?? 'not saved'),
    optionalBytes(c.archiveBytes),
    optionalBytes(c.bytes),
    c.seconds !== undefined ? seconds(c.seconds) : '–',
    c.pruned ? prunedCell(c.pruned) : '–',
  ];
  return [
    '### Caches saved',
    '',
    table(
      ['Cache', 'Saved key, or why not', 'Archive', 'Size on disk', 'Save time', 'Pruned before saving'],
      [row('downloads', saved.downloads), row('sstate + hash-equivalence DB', saved.sstate)],
    ),
  ].join('\n');
}

/** Per part: a base or a delta (on which base), what it uploaded, or why nothing. */
function savedParts(parts: SavedPart[], pruned: PruneSummary | undefined): string {
  const what = (p: SavedPart) => {
    if (p.lostRace) return `${p.kind}: saved by another job of this run first`;
    if (!p.key) return escapeText(p.skipped ?? p.warning ?? 'not saved');
    return p.kind === 'delta' ? `delta on ${code(p.baseKey!)}` : `new base (${escapeText(p.why ?? '')})`;
  };
  const uploaded = (p: SavedPart) => p.key && !p.lostRace;
  return [
    '### Caches saved',
    '',
    table(
      ['Part', 'Saved', 'Key', 'Objects', 'Size on disk', 'Archive uploaded', 'Save time'],
      parts.map((p) => [
        PART_LABELS[p.part],
        what(p),
        p.key && !p.lostRace ? code(p.key) : '–',
        uploaded(p) ? String(p.objects ?? 0) : '–',
        uploaded(p) ? optionalBytes(p.bytes) : '–',
        uploaded(p) ? optionalBytes(p.archiveBytes) : '–',
        p.seconds !== undefined ? seconds(p.seconds) : '–',
      ]),
    ),
    ...(pruned ? [`Pruned before saving: ${prunedCell(pruned)}.`, ''] : []),
  ].join('\n');
}

function optionalBytes(n: number | undefined): string {
  return n !== undefined ? formatBytes(n) : '–';
}

/** What pruning dropped: superseded objects, and those over cache-size-limit by name (the first ten). */
function prunedCell(p: PruneSummary): string {
  if (p.objects === 0) return 'nothing';
  const names =
    p.overLimit.slice(0, 10).map(code).join(', ') +
    (p.overLimit.length > 10 ? `, and ${p.overLimit.length - 10} more` : '');
  const limit =
    p.overLimit.length === 0
      ? ''
      : `, ${p.overLimit.length} over cache-size-limit (least recently used first: ${names})`;
  return `${p.objects} objects, ${formatBytes(p.bytes)}: ${p.superseded} superseded${limit}`;
}

export async function appendSummary(markdown: string): Promise<void> {
  await core.summary.addRaw(markdown, true).write();
}

function clip(line: string): string {
  return line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)} […]` : line;
}

function usage(u: FsUsage): string {
  return `${formatBytes(u.usedBytes)} (${u.percent}%)`;
}

function num(n: number | undefined): string {
  return n === undefined ? '–' : String(n);
}

function seconds(s: number): string {
  return `${s.toFixed(1)} s`;
}
