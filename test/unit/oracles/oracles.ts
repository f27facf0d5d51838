/**
 * The oracles recorded from real BitBake + OE-core (test/fixtures/oracles, written by
 * test/real/oracles.test.ts): one directory per Yocto series, each file described in its README.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const ORACLES = path.resolve(import.meta.dirname, '../../fixtures/oracles');

/** The recorded series (master, scarthgap, ...). */
export const SERIES = readdirSync(ORACLES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

export function oracleText(series: string, file: string): string {
  return readFileSync(path.join(ORACLES, series, file), 'utf8');
}

/** A listing (one relative path a line), e.g. `sstate-cache.txt`. */
export function oracleListing(series: string, file: string): string[] {
  return oracleText(series, file).split('\n').filter(Boolean);
}

export function oracleLines(series: string, log: string): string[] {
  return oracleText(series, log).split('\n');
}

/** A directory holding every path of a listing as a small file, as the recorded directory had them. */
export function materialize(listing: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oracle-'));
  for (const rel of listing) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), rel);
  }
  return dir;
}

/** Copies of the recorded hashserv.db and hashserv.db-wal in a new directory; returns the DB path. */
export function copyOfDb(series: string, files = ['hashserv.db', 'hashserv.db-wal']): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oracle-db-'));
  for (const f of files) cpSync(path.join(ORACLES, series, f), path.join(dir, f));
  return path.join(dir, 'hashserv.db');
}
