/**
 * The cache as parts and lineages (the default layout): keys, and whether a save uploads a delta
 * or a new base. Pure: no files, no service.
 *
 * Three parts, each its own lineage of entries:
 * - `shared`: sstate every MACHINE of a build host shares (sstate.ts sstateScope), one per series,
 *   distro and build host;
 * - `machine`: the machine's own sstate and the hash-equivalence DB, one per series, distro and MACHINE;
 * - `downloads`: DL_DIR, one per series.
 * A lineage holds a base (everything) and deltas on top of it. A delta is cumulative: everything
 * of the part that is not in its base, so a restore needs the base and the newest delta of that
 * base, two downloads at most, and older deltas are superseded. Entries are immutable and the
 * cache version hashes the path list, so the base and the delta each come from a fixed staging
 * directory (entries.ts), never from a list of files.
 */
import type { Lineage as SupersededLineage } from './superseded.js';

export type PartName = 'shared' | 'machine' | 'downloads';

export const PART_NAMES: readonly PartName[] = ['shared', 'machine', 'downloads'];

/**
 * A delta this large next to its base (its own bytes plus the base's bytes this build no longer
 * keeps) makes the next save a new base: beyond a third, base + delta costs a restore a third more
 * than a fresh base would, and the service holds the difference twice.
 */
export const DELTA_SHARE = 1 / 3;

/** Key prefix of one part's lineage, ending in `@` (keys.ts): every base and delta of it starts with it. */
export type Lineage = string;

/** `<lineage>base-<run>-<state>`. */
export function baseKey(lineage: Lineage, run: string, state: string): string {
  return `${lineage}base-${run}-${state}`;
}

/** What names a base inside its deltas' keys: the part after `base-`. */
export function baseIdOf(lineage: Lineage, key: string): string | undefined {
  const head = `${lineage}base-`;
  return key.startsWith(head) && key.length > head.length ? key.slice(head.length) : undefined;
}

/** Every delta of one base starts with this. */
export function deltaPrefix(lineage: Lineage, baseId: string): string {
  return `${lineage}delta-${baseId}-`;
}

/** `<lineage>delta-<base run>-<base state>-<run>-<state>`. */
export function deltaKey(lineage: Lineage, baseId: string, run: string, state: string): string {
  return `${deltaPrefix(lineage, baseId)}${run}-${state}`;
}

/** The layers-and-conf hash a key was saved with: its last field. */
export function stateOf(key: string): string {
  return key.slice(key.lastIndexOf('-') + 1);
}

/** An object of a part (an sstate archive path, a download's stamp) with its bytes and companions'. */
export interface PartObject {
  name: string;
  bytes: number;
}

export interface PartSaveInput {
  /** The base restored: its objects with their bytes. */
  base?: { key: string; objects: ReadonlyMap<string, number> };
  /** Every object restored, from the base and the delta. */
  restored: ReadonlySet<string>;
  /** The part's objects now, after pruning. */
  current: PartObject[];
  /** Files that travel in every entry of the part whole (the hash-equivalence DB). */
  extra?: { bytes: number; changed: boolean };
}

export type PartSavePlan =
  | { skipped: string }
  | { kind: 'base'; objects: PartObject[]; bytes: number; why: string }
  | { kind: 'delta'; base: string; objects: PartObject[]; bytes: number; baseBytes: number };

/**
 * Nothing new: no save. No base restored: a base. Otherwise a delta of everything not in the base,
 * unless that delta plus the base's bytes this build dropped (pruned as superseded or over the
 * size limit) passes DELTA_SHARE of the base: then a new base, which also sheds the dropped bytes.
 */
export function planPartSave(i: PartSaveInput): PartSavePlan {
  const sum = (xs: PartObject[]) => xs.reduce((n, x) => n + x.bytes, 0);
  const added = i.current.filter((o) => !i.restored.has(o.name));
  if (added.length === 0 && !i.extra?.changed) return { skipped: 'nothing new since the restore' };
  const extra = i.extra?.bytes ?? 0;
  const whole = { kind: 'base' as const, objects: i.current, bytes: sum(i.current) + extra };
  if (!i.base) return { ...whole, why: 'no base was restored' };
  const base = i.base;
  const baseBytes = [...base.objects.values()].reduce((n, b) => n + b, 0);
  const delta = i.current.filter((o) => !base.objects.has(o.name));
  const deltaBytes = sum(delta) + extra;
  const kept = new Set(i.current.map((o) => o.name));
  const droppedBytes = [...base.objects].filter(([name]) => !kept.has(name)).reduce((n, [, b]) => n + b, 0);
  if (baseBytes === 0 || deltaBytes + droppedBytes > baseBytes * DELTA_SHARE) {
    const share = baseBytes === 0 ? '' : ` (${Math.round(((deltaBytes + droppedBytes) / baseBytes) * 100)}% of it)`;
    return {
      ...whole,
      why: `the delta and the base's dropped objects would pass a third of the base${share}`,
    };
  }
  return { kind: 'delta', base: base.key, objects: delta, bytes: deltaBytes, baseBytes };
}

/** What a part's save did, as the post step reports it and the clean-up reads it. */
export interface SavedPart {
  part: PartName;
  lineage: Lineage;
  kind?: 'base' | 'delta';
  key?: string;
  /** The base a delta sits on. */
  baseKey?: string;
  /** On disk before compression, and the compressed archive uploaded. */
  bytes?: number;
  archiveBytes?: number;
  objects?: number;
  seconds?: number;
  why?: string;
  skipped?: string;
  warning?: string;
  /** Another leg of the run, or an earlier attempt, saved this key first. */
  lostRace?: boolean;
}

/**
 * After a save: a new base supersedes every other entry of its lineage, a delta every entry but
 * its base and itself (deltas are cumulative). A lost race or a part not saved supersedes nothing.
 */
export function supersededPartLineages(saved: readonly SavedPart[]): SupersededLineage[] {
  return saved.flatMap((s) => {
    if (!s.key || s.lostRace) return [];
    if (s.kind === 'base') return [{ prefix: s.lineage, keep: [s.key] }];
    if (s.kind === 'delta' && s.baseKey) return [{ prefix: s.lineage, keep: [s.baseKey, s.key] }];
    return [];
  });
}
