/**
 * The hash-equivalence DB (hashserv.db), read and checkpointed with Node's built-in SQLite.
 *
 * BitBake's auto hash server opens the DB in WAL mode and never closes or checkpoints it: after
 * BitBake exits, hashserv.db alone can hold zero rows and every equivalence is still in
 * hashserv.db-wal. Fold the WAL in before archiving the main file.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import type * as SqliteModule from 'node:sqlite';
import type { DatabaseSync } from 'node:sqlite';

import { errorMessage } from '../util/errors.js';

type Sqlite = typeof SqliteModule;
let sqlite: Sqlite | undefined;

/**
 * node:sqlite is loaded on first use, not imported: Node 24 before 24.15 prints
 * "ExperimentalWarning: SQLite is an experimental feature" when the module loads, which in an
 * action's log reads like a fault. A static import would load it before any code of ours runs
 * (and in the bundle, in every step). So the one warning is filtered out while the module loads,
 * and only then: every other warning, and any later one, reaches the log as usual.
 */
export function loadSqlite(): Sqlite {
  if (sqlite) return sqlite;
  sqlite = quietSqliteWarning(() => process.getBuiltinModule('node:sqlite'));
  if (!sqlite) throw new Error('this Node.js has no node:sqlite (Node 22.13 or later is needed)');
  return sqlite;
}

/** Runs fn with the node:sqlite ExperimentalWarning dropped; exported for its test. */
export function quietSqliteWarning<T>(fn: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const first = rest[0];
    const type =
      typeof first === 'string'
        ? first
        : ((first as { type?: string } | undefined)?.type ?? (warning instanceof Error ? warning.name : undefined));
    const message = typeof warning === 'string' ? warning : warning.message;
    if (type === 'ExperimentalWarning' && message.startsWith('SQLite ')) return;
    return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return fn();
  } finally {
    process.emitWarning = emitWarning;
  }
}

function open(file: string, readOnly: boolean): DatabaseSync {
  const db = new (loadSqlite().DatabaseSync)(file, { readOnly });
  // A straggling reader or writer holds a lock for a moment: wait for it instead of failing.
  db.exec('PRAGMA busy_timeout = 10000');
  return db;
}

function close(db: DatabaseSync | undefined): void {
  try {
    db?.close();
  } catch {
    // Closed already, or never opened.
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Folds the WAL into the main file so the DB can be archived alone. Only when no BitBake server
 * uses the DB. `ok` means the main file alone now holds every row and passed an integrity check;
 * the journal mode is left as BitBake set it. Never throws.
 */
export function checkpointDb(file: string): { ok: true } | { ok: false; error: string } {
  // Opening a missing file would create an empty DB.
  if (!existsSync(file)) return { ok: false, error: `${file} does not exist` };
  let db: DatabaseSync | undefined;
  try {
    db = open(file, false);
    const cp = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as
      { busy: number; log: number; checkpointed: number } | undefined;
    if (cp && Number(cp.busy) !== 0)
      return { ok: false, error: 'checkpoint blocked: another process still has the DB open' };
    const problems = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[]).map(
      (r) => r.integrity_check,
    );
    if (problems.length !== 1 || problems[0] !== 'ok')
      return { ok: false, error: `integrity check: ${problems.slice(0, 3).join('; ') || 'no answer'}` };
    db.close();
    db = undefined;
    // The last connection's close deletes both; a WAL that still has content would hold rows
    // the main file lacks, so it is never removed here.
    const wal = `${file}-wal`;
    if (existsSync(wal) && statSync(wal).size > 0)
      return { ok: false, error: `${wal} still holds content after the checkpoint` };
    rmSync(wal, { force: true });
    rmSync(`${file}-shm`, { force: true });
    return { ok: true };
  } catch (e) {
    return { ok: false, error: errorMessage(e) };
  } finally {
    close(db);
  }
}

interface TableStats {
  rows: number;
  maxRowid?: number;
}

/** Per table (sqlite_master, so any BitBake version's tables): rows, and the largest rowid. */
function tableStats(file: string): Record<string, TableStats> | undefined {
  if (!existsSync(file)) return undefined;
  let db: DatabaseSync | undefined;
  try {
    // Read-only readers still see the rows in the WAL.
    db = open(file, true);
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      )
      .all() as { name: string }[];
    const out: Record<string, TableStats> = {};
    for (const { name } of tables) {
      const rows = Number((db.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get() as { n: number | bigint }).n);
      let maxRowid: number | undefined;
      try {
        const m = (db.prepare(`SELECT max(rowid) AS m FROM ${quote(name)}`).get() as { m: number | bigint | null }).m;
        maxRowid = m === null ? 0 : Number(m);
      } catch {
        // A WITHOUT ROWID table: its row count has to do.
      }
      out[name] = { rows, maxRowid };
    }
    return out;
  } catch {
    return undefined;
  } finally {
    close(db);
  }
}

/** Rows per table, including those still in the WAL; undefined when the DB is missing or unreadable. */
export function rowCounts(file: string): Record<string, number> | undefined {
  const stats = tableStats(file);
  return stats && Object.fromEntries(Object.entries(stats).map(([t, s]) => [t, s.rows]));
}

/**
 * Changes whenever rows are added or removed: the DB's part of "did this build add anything".
 * The largest rowid catches a delete plus an insert that leave the count as it was (BitBake's
 * tables are AUTOINCREMENT, so rowids only grow). Undefined when missing or unreadable.
 */
export function dbFingerprint(file: string): string | undefined {
  const stats = tableStats(file);
  if (!stats) return undefined;
  let total = 0;
  const parts: string[] = [];
  for (const [t, s] of Object.entries(stats)) {
    total += s.rows + (s.maxRowid ?? 0);
    parts.push(`${t}=${s.rows}/${s.maxRowid ?? '-'}`);
  }
  return `${total}:${parts.join(',')}`;
}
