/**
 * The hash-equivalence DB exactly as real BitBake's auto hash server left it
 * (test/fixtures/oracles/<series>/hashserv.db and hashserv.db-wal).
 */
import { cpSync, existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkpointDb, dbFingerprint, loadSqlite, rowCounts } from '../../../src/cache/hashserv-db.js';
import { copyOfDb, SERIES } from './oracles.js';

function sql(db: string, statements: string): void {
  const conn = new (loadSqlite().DatabaseSync)(db);
  try {
    conn.exec(statements);
  } finally {
    conn.close();
  }
}

/**
 * What the hash server does when a build reports a new task hash: one more row (any schema
 * version), a copy of the newest with its task hash starting with `prefix`.
 */
const addRow = (prefix: string) => `CREATE TEMP TABLE one AS SELECT * FROM unihashes_v3 ORDER BY id DESC LIMIT 1;
  UPDATE one SET id = NULL, taskhash = '${prefix}' || substr(taskhash, 3);
  INSERT INTO unihashes_v3 SELECT * FROM one;`;

/** The main file on its own, as an archive of it without its -wal would restore it. */
function mainFileAlone(db: string): string {
  const alone = path.join(mkdtempSync(path.join(tmpdir(), 'oracle-db-')), 'hashserv.db');
  cpSync(db, alone);
  return alone;
}

describe.each(SERIES)('hashserv.db from real BitBake (%s)', (series) => {
  // BitBake's hash server folds the previous WAL in when it starts (a connection it lets go) and
  // never closes the one it writes with: after a build, that build's rows are only in the WAL.
  it("lacks the last build's rows in the main file alone, until a checkpoint folds the WAL in", () => {
    const db = copyOfDb(series);
    const rows = rowCounts(db)!;
    expect(rows.unihashes_v3).toBeGreaterThan(0);
    expect(rows.outhashes_v2).toBeGreaterThan(0);
    const alone = rowCounts(mainFileAlone(db))!;
    expect(alone.unihashes_v3).toBeLessThan(rows.unihashes_v3!);
    expect(alone.outhashes_v2).toBeLessThan(rows.outhashes_v2!);

    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(existsSync(`${db}-wal`) && statSync(`${db}-wal`).size > 0).toBe(false);
    expect(existsSync(`${db}-shm`)).toBe(false);
    expect(rowCounts(mainFileAlone(db))).toEqual(rows);
    // Again, with nothing left in a WAL; and BitBake's next run writes to it as before.
    expect(checkpointDb(db)).toEqual({ ok: true });
    sql(db, addRow('ff'));
    expect(rowCounts(db)?.unihashes_v3).toBe(rows.unihashes_v3! + 1);
  });

  it('fingerprints: unchanged by reading or checkpointing, changed by every new row', () => {
    const db = copyOfDb(series);
    const first = dbFingerprint(db);
    expect(first).toBeDefined();
    expect(dbFingerprint(db)).toBe(first);
    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(dbFingerprint(db)).toBe(first);
    sql(db, addRow('ff'));
    const second = dbFingerprint(db);
    expect(second).not.toBe(first);
    // One row gone, another added: the count stays, the fingerprint does not.
    const count = rowCounts(db)!.unihashes_v3;
    sql(db, `DELETE FROM unihashes_v3 WHERE id = (SELECT min(id) FROM unihashes_v3); ${addRow('fe')}`);
    expect(rowCounts(db)!.unihashes_v3).toBe(count);
    expect(dbFingerprint(db)).not.toBe(second);
  });
});

describe('a DB that is not in WAL mode', () => {
  it('checkpoints and counts like any other', () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'plain-db-')), 'plain.db');
    sql(db, 'CREATE TABLE t (a); INSERT INTO t VALUES (1);');
    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(rowCounts(db)).toEqual({ t: 1 });
  });
});
