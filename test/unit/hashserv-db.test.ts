import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointDb, dbFingerprint, rowCounts } from '../../src/hashserv-db.js';

/** Leaves a DB the way BitBake's auto hash server does: WAL mode, rows in -wal, never closed. */
function bitbakeLikeDb(file: string, rows: number): void {
  execFileSync('python3', ['-c', `
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS unihashes_v3 (method TEXT, taskhash TEXT, unihash TEXT)")
for i in range(int(sys.argv[2])):
    db.execute("INSERT INTO unihashes_v3 VALUES ('m', ?, ?)", (os.urandom(8).hex(), 'u'))
db.commit()
os._exit(0)
`, file, String(rows)]);
}

describe('the hash-equivalence DB', () => {
  it('holds no rows in the main file until checkpointed, then all of them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hashserv-'));
    const db = path.join(dir, 'hashserv.db');
    bitbakeLikeDb(db, 25);
    expect(existsSync(`${db}-wal`)).toBe(true);
    const alone = path.join(dir, 'alone.db');
    copyFileSync(db, alone);
    expect(rowCounts(alone)?.unihashes_v3 ?? 0).toBe(0);
    expect(rowCounts(db)).toEqual({ unihashes_v3: 25 });

    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(existsSync(`${db}-wal`)).toBe(false);
    copyFileSync(db, alone);
    expect(rowCounts(alone)).toEqual({ unihashes_v3: 25 });
  });
  it('fingerprints change when rows are added', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hashserv-'));
    const db = path.join(dir, 'hashserv.db');
    expect(dbFingerprint(db)).toBeUndefined();
    bitbakeLikeDb(db, 1);
    const before = dbFingerprint(db);
    bitbakeLikeDb(db, 1);
    expect(dbFingerprint(db)).not.toBe(before);
  });
  it('reports a damaged DB instead of throwing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hashserv-'));
    const db = path.join(dir, 'hashserv.db');
    execFileSync('sh', ['-c', `head -c 8192 /dev/urandom > ${db}`]);
    expect(checkpointDb(db).ok).toBe(false);
  });
});
