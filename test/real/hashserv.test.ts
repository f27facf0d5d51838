/**
 * The shared hash server as README "Outgrowing one machine" deploys it, with the real
 * bitbake-hashserv of the BitBake checkout in SMIDR_REAL_BITBAKE (skipped without it): one
 * writable and one read-only server on one SQLite DB, on 127.0.0.1. The action's reachability
 * check must see both; an equivalence host A reports is what host B reads through the read-only
 * port; a report to the read-only port (a pull request's) adds no row.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hashServerProblem, parseHashServer } from '../../src/cache/remote/hashserve.js';
import { scratch } from '../support/world.js';
import { freePort, type RunningHashServer, startHashServer } from './hashserv-server.js';

const bitbake = process.env.SMIDR_REAL_BITBAKE;
const servers: RunningHashServer[] = [];
let rw: string;
let ro: string;
let root: string;

async function startServer(args: string[]): Promise<string> {
  const server = await startHashServer(bitbake!, args);
  servers.push(server);
  return server.address;
}

/** Runs BitBake's own hashserv client (reports on one server, reads on another); rows counted in the DB itself. */
function client(script: string): string {
  return execFileSync(
    'python3',
    [
      '-c',
      `import sys; sys.path.insert(0, ${JSON.stringify(path.join(bitbake!, 'lib'))})\nimport hashserv\nM = "oe.sstatesig.OEOuthashBasic"\n${script}`,
    ],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  ).trim();
}

describe.skipIf(!bitbake)('a shared bitbake-hashserv with a read-only port (real server)', () => {
  beforeAll(async () => {
    root = scratch('hashserv');
    const db = path.join(root, 'hashserv.db');
    rw = await startServer(['--database', db, '--anon-perms', '@read,@report']);
    ro = await startServer(['--database', db, '--read-only']);
  }, 120_000);

  afterAll(() => {
    for (const s of servers) s.stop();
  });

  it('the action sees both answer, and not a port where none listens', async () => {
    expect(await hashServerProblem(parseHashServer(rw, 'test'))).toBeUndefined();
    expect(await hashServerProblem(parseHashServer(ro, 'test'))).toBeUndefined();
    expect(await hashServerProblem(parseHashServer(`127.0.0.1:${await freePort()}`, 'test'))).toMatch(/ECONNREFUSED/);
  });

  it("host A's equivalence is read on the read-only port; a report there adds no row", () => {
    const out = client(`
a = hashserv.create_client(${JSON.stringify(rw)})
b = hashserv.create_client(${JSON.stringify(ro)})
import sqlite3
rows = lambda: sqlite3.connect(${JSON.stringify(path.join(root, 'hashserv.db'))}).execute("SELECT COUNT(*) FROM unihashes_v3").fetchone()[0]
a.report_unihash("11" * 32, M, "aa" * 32, "11" * 32)
second = a.report_unihash("22" * 32, M, "aa" * 32, "22" * 32)["unihash"]
seen = b.get_unihash(M, "22" * 32)
before = rows()
b.report_unihash("33" * 32, M, "bb" * 32, "33" * 32)
after = rows()
print(second == "11" * 32, seen == "11" * 32, before, after)
`);
    expect(out).toBe('True True 2 2');
  });
});
