/**
 * The sstate directory as files: parsing OE-core's object names, listing objects with their
 * companions, and pruning an entry down to one build's working set before it is archived.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface SstateObject {
  /** Archive path relative to the sstate dir, e.g. `ab/cd/sstate:zlib:…_populate_sysroot.tar.zst`. */
  path: string;
  pn: string;
  arch: string;
  pv: string;
  pr: string;
  pkgarch: string;
  version: string;
  unihash: string;
  task: string;
  /** Archive plus companions. */
  bytes: number;
  /** `.siginfo` and `.sig` files beside the archive, relative paths; they go with it. */
  companions: string[];
  mtimeMs: number;
}

const ARCHIVE = /\.(tar\.zst|tgz|tar\.gz)$/;
const COMPANION = /\.(siginfo|sig)$/;

/**
 * `sstate:<PN>:<PACKAGE_ARCH><VENDOR>-<OS>:<PV>:<PR>:<SSTATE_PKGARCH>:<SSTATE_VERSION>:<unihash>_<task>.tar.zst`.
 * PN and PV never contain ':'; do_populate_lic leaves the arch fields empty. The unihash is hex,
 * so the first '_' of the last field ends it (task names contain '_').
 */
export function parseSstateName(fileName: string): Omit<SstateObject, 'path' | 'bytes' | 'companions' | 'mtimeMs'> | undefined {
  if (!fileName.startsWith('sstate:') || !ARCHIVE.test(fileName)) return undefined;
  const fields = fileName.replace(ARCHIVE, '').split(':');
  if (fields.length !== 8) return undefined;
  const [, pn, arch, pv, pr, pkgarch, version, last] = fields as [string, string, string, string, string, string, string, string];
  const cut = last.indexOf('_');
  if (cut <= 0 || !pn) return undefined;
  return { pn, arch, pv, pr, pkgarch, version, unihash: last.slice(0, cut), task: last.slice(cut + 1) };
}

async function walk(dir: string, rel = ''): Promise<string[]> {
  const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

export async function listSstate(dir: string): Promise<SstateObject[]> {
  const files = await walk(dir);
  const present = new Set(files);
  const objects: SstateObject[] = [];
  for (const file of files) {
    const parsed = parseSstateName(path.basename(file));
    if (!parsed) continue;
    const companions = ['.siginfo', '.sig'].map((s) => file + s).filter((c) => present.has(c));
    const stats = await Promise.all([file, ...companions].map((f) => fs.stat(path.join(dir, f))));
    objects.push({
      ...parsed, path: file, companions,
      bytes: stats.reduce((n, s) => n + s.size, 0),
      mtimeMs: stats[0]!.mtimeMs,
    });
  }
  return objects;
}

/** Archive paths, sorted: what was there at restore, to tell later what the build created. */
export async function sstateNames(dir: string): Promise<string[]> {
  return (await walk(dir)).filter((f) => parseSstateName(path.basename(f))).sort();
}

export interface PruneDecision {
  object: SstateObject;
  reason: 'superseded' | 'budget';
}

export interface PrunePlan {
  keep: SstateObject[];
  drop: PruneDecision[];
  keptBytes: number;
  droppedBytes: number;
  /** The objects this build used or created alone exceed the budget. */
  overBudgetWithWorkingSet: boolean;
}

export function planPrune(objects: SstateObject[], o: { buildStartedMs: number; restored: ReadonlySet<string>; budgetBytes?: number }): PrunePlan {
  const inWorkingSet = (x: SstateObject) => x.mtimeMs >= o.buildStartedMs || !o.restored.has(x.path);
  const newest = new Map<string, number>();
  const group = (x: SstateObject) => `${x.pn}\0${x.arch}\0${x.pkgarch}\0${x.task}`;
  for (const x of objects) newest.set(group(x), Math.max(newest.get(group(x)) ?? 0, x.mtimeMs));

  const drop: PruneDecision[] = [];
  let keep: SstateObject[] = [];
  for (const x of objects) {
    // Unused, and a newer object for the same recipe, arch and task exists: it is history.
    if (!inWorkingSet(x) && newest.get(group(x))! > x.mtimeMs) drop.push({ object: x, reason: 'superseded' });
    else keep.push(x);
  }

  let keptBytes = keep.reduce((n, x) => n + x.bytes, 0);
  let overBudgetWithWorkingSet = false;
  if (o.budgetBytes !== undefined && keptBytes > o.budgetBytes) {
    // Least recently used first; the working set goes last, and only if it alone is too big.
    const order = [...keep].sort((a, b) => Number(inWorkingSet(a)) - Number(inWorkingSet(b)) || a.mtimeMs - b.mtimeMs);
    const dropped = new Set<SstateObject>();
    for (const x of order) {
      if (keptBytes <= o.budgetBytes) break;
      if (inWorkingSet(x)) overBudgetWithWorkingSet = true;
      dropped.add(x);
      keptBytes -= x.bytes;
      drop.push({ object: x, reason: 'budget' });
    }
    keep = keep.filter((x) => !dropped.has(x));
  }
  return { keep, drop, keptBytes, droppedBytes: drop.reduce((n, d) => n + d.object.bytes, 0), overBudgetWithWorkingSet };
}

export async function applyPrune(dir: string, plan: PrunePlan): Promise<void> {
  for (const { object } of plan.drop) {
    for (const f of [object.path, ...object.companions]) await fs.rm(path.join(dir, f), { force: true });
  }
}

/**
 * What never belongs in an archive: lock files, and the temporary files sstate writes before
 * renaming an object into place (OE-core: `mktemp ${SSTATE_PKG}.XXXXXXXX`), which are whatever
 * `sstate:` file is neither an archive nor a companion.
 */
export async function removeUnarchivable(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const f of await walk(dir)) {
    const name = path.basename(f);
    const partial = name.startsWith('sstate:') && !ARCHIVE.test(name) && !COMPANION.test(name);
    if (name.endsWith('.lock') || partial) {
      await fs.rm(path.join(dir, f), { force: true });
      removed.push(f);
    }
  }
  return removed;
}
