/**
 * The hash-equivalence DB (hashserv.db), opened with Node's built-in SQLite. BitBake's auto hash
 * server never checkpoints: after it exits, hashserv.db alone can hold zero rows and every
 * equivalence is still in hashserv.db-wal. Archive the main file only after a checkpoint.
 */
import { existsSync, statSync, rmSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';

/** Only when no BitBake server has the DB open. Never throws. */
export function checkpointDb(file: string): { ok: true } | { ok: false; error: string } {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file);
    db.exec('PRAGMA busy_timeout = 10000');
    db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
    const check = db.prepare('PRAGMA integrity_check').get() as { integrity_check?: string } | undefined;
    if (check?.integrity_check !== 'ok') return { ok: false, error: `integrity check: ${check?.integrity_check ?? 'no answer'}` };
    // Back to a rollback journal, so closing leaves one self-contained file.
    db.prepare('PRAGMA journal_mode = DELETE').get();
    db.close();
    db = undefined;
    for (const side of ['-wal', '-shm']) {
      const f = `${file}${side}`;
      if (existsSync(f) && (side === '-shm' || statSync(f).size === 0)) rmSync(f, { force: true });
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    try {
      db?.close();
    } catch {
      // Already closed.
    }
  }
}

/** Rows per table; readers see rows still in the WAL. */
export function rowCounts(file: string): Record<string, number> | undefined {
  if (!existsSync(file)) return undefined;
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
    const counts: Record<string, number> = {};
    for (const { name } of tables) {
      const row = db.prepare(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number };
      counts[name] = Number(row.n);
    }
    return counts;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/** Changes whenever rows are added: the DB's part of "did this build add anything". */
export function dbFingerprint(file: string): string | undefined {
  const counts = rowCounts(file);
  return counts ? Object.entries(counts).sort().map(([t, n]) => `${t}=${n}`).join(',') : undefined;
}
