import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkpointDb, dbFingerprint, quietSqliteWarning, rowCounts } from '../../src/cache/hashserv-db.js';

const STANDIN_LIB = path.resolve(import.meta.dirname, '../fixtures/poky-standin/bitbake/lib');

/**
 * Runs the BitBake stand-in's hash server in a child process that reports `rows` new task hashes
 * and ends with os._exit(): WAL mode, connection never closed, never checkpointed — the way
 * BitBake's auto server leaves hashserv.db.
 */
function bitbakeRun(dbFile: string, rows: number, extraSql = ''): void {
  execFileSync('python3', [
    '-c',
    `import os, sys
sys.path.insert(0, ${JSON.stringify(STANDIN_LIB)})
from bbstandin.hashserv import HashServer
db, n, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = HashServer(db, os.path.join(os.path.dirname(db), "hashserve.sock"))
server.start()
for i in range(n):
    th = os.urandom(32).hex()
    server.report(th, os.urandom(32).hex(), th, "zlib", "1.3.1", "r0", "do_populate_sysroot")
if extra:
    server.db.executescript(extra)
    server.db.commit()
server.stop_socket()
os._exit(0)
`,
    dbFile,
    String(rows),
    extraSql,
  ]);
}

function tmpDb(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'hashserv-')), 'hashserv.db');
}

/** The main file on its own, as an archive of it without -wal would restore it. */
function mainFileAlone(dbFile: string): string {
  const alone = path.join(path.dirname(dbFile), `alone-${Date.now()}-${Math.random()}.db`);
  copyFileSync(dbFile, alone);
  return alone;
}

describe('the hash-equivalence DB', () => {
  it('holds no rows in the main file after BitBake exits, and all of them after the checkpoint', () => {
    const db = tmpDb();
    bitbakeRun(db, 25);
    expect(statSync(`${db}-wal`).size).toBeGreaterThan(0);
    expect(rowCounts(mainFileAlone(db))).toEqual({ config: 0, outhashes_v2: 0, unihashes_v3: 0, users: 0 });
    // Readers see the rows still in the WAL.
    expect(rowCounts(db)).toEqual({ config: 0, outhashes_v2: 25, unihashes_v3: 25, users: 0 });

    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(existsSync(`${db}-wal`) && statSync(`${db}-wal`).size > 0).toBe(false);
    expect(existsSync(`${db}-shm`)).toBe(false);
    const alone = mainFileAlone(db);
    expect(rowCounts(alone)).toEqual({ config: 0, outhashes_v2: 25, unihashes_v3: 25, users: 0 });
    // BitBake opens the DB again as it always does.
    bitbakeRun(db, 1);
    expect(rowCounts(db)?.unihashes_v3).toBe(26);
  });

  it('checkpoints a DB that has nothing in a WAL, or is not in WAL mode', () => {
    const db = tmpDb();
    bitbakeRun(db, 3);
    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(checkpointDb(db)).toEqual({ ok: true });
    const plain = tmpDb();
    execFileSync('python3', [
      '-c',
      'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute("CREATE TABLE t (a)")\nc.execute("INSERT INTO t VALUES (1)")\nc.commit()',
      plain,
    ]);
    expect(checkpointDb(plain)).toEqual({ ok: true });
    expect(rowCounts(plain)).toEqual({ t: 1 });
  });

  it('fingerprints: unchanged by reading or checkpointing, changed by every new row', () => {
    const db = tmpDb();
    expect(dbFingerprint(db)).toBeUndefined();
    bitbakeRun(db, 2);
    const first = dbFingerprint(db);
    expect(first).toBeDefined();
    expect(dbFingerprint(db)).toBe(first);
    expect(checkpointDb(db)).toEqual({ ok: true });
    expect(dbFingerprint(db)).toBe(first);
    bitbakeRun(db, 1);
    const second = dbFingerprint(db);
    expect(second).not.toBe(first);
    // One row gone, another added: the count stays, the fingerprint does not.
    bitbakeRun(db, 0, "DELETE FROM config; INSERT INTO config (name, value) VALUES ('a', '1');");
    const third = dbFingerprint(db);
    bitbakeRun(db, 0, "DELETE FROM config; INSERT INTO config (name, value) VALUES ('b', '2');");
    expect(rowCounts(db)?.config).toBe(1);
    expect(dbFingerprint(db)).not.toBe(third);
    expect(third).not.toBe(second);
  });

  it('never creates a missing DB and never throws on a damaged one', () => {
    const db = tmpDb();
    expect(checkpointDb(db).ok).toBe(false);
    expect(existsSync(db)).toBe(false);
    expect(rowCounts(db)).toBeUndefined();

    writeFileSync(db, Buffer.alloc(8192, 0x5a));
    const result = checkpointDb(db);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/not a database|malformed|integrity/);
    expect(rowCounts(db)).toBeUndefined();
    expect(dbFingerprint(db)).toBeUndefined();
  });
});

describe('loading node:sqlite', () => {
  it('drops only the SQLite ExperimentalWarning while the module loads', () => {
    // Records what reaches the real emitWarning, so the test leaves no warnings in the log.
    const forwarded: string[] = [];
    const real = process.emitWarning;
    const recorder = ((w: string | Error, t?: string | { type?: string }) => {
      forwarded.push(`${typeof t === 'string' ? t : t?.type}: ${typeof w === 'string' ? w : w.message}`);
    }) as typeof process.emitWarning;
    process.emitWarning = recorder;
    try {
      const value = quietSqliteWarning(() => {
        process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('Something else is an experimental feature', 'ExperimentalWarning');
        process.emitWarning('SQLite is fine', { type: 'SomeOtherWarning' });
        return 42;
      });
      expect(value).toBe(42);
      expect(process.emitWarning).toBe(recorder);
    } finally {
      process.emitWarning = real;
    }
    expect(forwarded).toEqual([
      'ExperimentalWarning: Something else is an experimental feature',
      'SomeOtherWarning: SQLite is fine',
    ]);
  });

  it('restores process.emitWarning when loading fails', () => {
    const emitWarning = process.emitWarning;
    expect(() =>
      quietSqliteWarning(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(process.emitWarning).toBe(emitWarning);
  });
});
