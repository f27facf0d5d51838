import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkpointDb, dbFingerprint, quietSqliteWarning, rowCounts } from '../../src/cache/hashserv-db.js';

function tmpDb(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'hashserv-')), 'hashserv.db');
}

describe('the hash-equivalence DB', () => {
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
