/**
 * The real `bitbake-hashserv` of the BitBake checkout in SMIDR_REAL_BITBAKE, started on 127.0.0.1
 * as README "Outgrowing one machine" deploys it, and its SQLite DB read directly (rows counted in
 * the DB itself, not through the server).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';

import { hashServerProblem, parseHashServer } from '../../src/cache/remote/hashserve.js';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

export interface RunningHashServer {
  /** `127.0.0.1:<port>`, as BB_HASHSERVE and the hashserve input take it. */
  address: string;
  stop(): void;
}

/** Starts one server (args: `--database`, `--read-only`, ...) and waits until it accepts connections. */
export async function startHashServer(bitbake: string, args: string[]): Promise<RunningHashServer> {
  const address = `127.0.0.1:${await freePort()}`;
  const child: ChildProcess = spawn(
    'python3',
    [path.join(bitbake, 'bin', 'bitbake-hashserv'), '--bind', address, ...args],
    { stdio: 'ignore' },
  );
  const server = parseHashServer(address, 'test');
  for (let i = 0; i < 120 && (await hashServerProblem(server, 1000)); i++) await new Promise((r) => setTimeout(r, 500));
  return { address, stop: () => child.kill() };
}

/** The rows a query returns, read by Python's sqlite3 (the server's own driver) with `?` parameters. */
export function hashservQuery(db: string, sql: string, params: string[] = []): unknown[][] {
  const script =
    'import json, sqlite3, sys\nprint(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2], sys.argv[3:]).fetchall()))';
  return JSON.parse(execFileSync('python3', ['-c', script, db, sql, ...params], { encoding: 'utf8' })) as unknown[][];
}

/** Rows of the server's two tables: task hash → unihash, and task hash → output hash. */
export function hashservRows(db: string): { unihashes: number; outhashes: number } {
  const [[unihashes, outhashes]] = hashservQuery(
    db,
    'SELECT (SELECT COUNT(*) FROM unihashes_v3), (SELECT COUNT(*) FROM outhashes_v2)',
  ) as [[number, number]];
  return { unihashes, outhashes };
}

/**
 * The task hashes the server maps to one unihash, with their output hashes. OE reports no recipe
 * or task names (those columns stay empty), so a task is found by the unihash in its sstate name.
 */
export function taskhashesOf(db: string, unihash: string): { taskhash: string; outhash: string }[] {
  return hashservQuery(
    db,
    'SELECT o.taskhash, o.outhash FROM outhashes_v2 o JOIN unihashes_v3 u ON u.method = o.method AND u.taskhash = o.taskhash WHERE u.unihash = ? ORDER BY o.created',
    [unihash],
  ).map(([taskhash, outhash]) => ({ taskhash: taskhash as string, outhash: outhash as string }));
}
