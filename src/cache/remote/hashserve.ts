/**
 * A shared bitbake-hashserv: which server a build talks to, how (writers report to it directly;
 * a build that may not write runs BitBake's local auto server with the shared one as its
 * upstream, so it reads the fleet's equivalences and adds its own only to its local DB), and
 * whether it answers before BitBake starts. An unreachable server is one warning and a build with
 * the local DB, never a failed job.
 */
import { connect } from 'node:net';

import type { BuildConfig } from '../../config/config.js';
import { ConfigError } from '../../util/errors.js';
import { log } from '../../util/log.js';

export interface HashServer {
  /** As BitBake takes it: `host:port` (BitBake's TCP protocol) or `ws://host:port` / `wss://…`. */
  address: string;
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port`, `ws://host:port[/path]` or `wss://…`; `unix://` is local to one host. */
export function parseHashServer(text: string, where: string): HashServer {
  const value = text.trim();
  const ws = /^(wss?):\/\/([^/:[\]]+|\[[0-9a-fA-F:.]+\])(?::(\d+))?(\/[^\s"']*)?$/.exec(value);
  if (ws) {
    const port = ws[3] ? Number(ws[3]) : ws[1] === 'wss' ? 443 : 80;
    return checked({ address: value, host: unbracket(ws[2]!), port }, where, value);
  }
  const tcp = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\]):(\d+)$/.exec(value);
  if (tcp) return checked({ address: value, host: unbracket(tcp[1]!), port: Number(tcp[2]) }, where, value);
  throw new ConfigError(
    `${where}: "${value}" is not a hash server address; expected host:port or ws://host:port, e.g. hashserv.example.com:8686`,
  );
}

function checked(s: HashServer, where: string, value: string): HashServer {
  if (s.port < 1 || s.port > 65535) throw new ConfigError(`${where}: the port of "${value}" is not 1-65535`);
  return s;
}

function unbracket(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** The conf assignments for a shared server: direct for writers, as upstream for readers. */
export function hashServeConf(server: HashServer, mayWrite: boolean): Record<string, string> {
  return mayWrite ? { BB_HASHSERVE: server.address } : { BB_HASHSERVE: 'auto', BB_HASHSERVE_UPSTREAM: server.address };
}

/** Undefined when the server accepts a connection within the time; else why not. */
export async function hashServerProblem(server: HashServer, timeoutMs = 5_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port });
    const done = (problem?: string) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done());
    socket.once('error', (e) => done(e.message));
  });
}

/** smidr.yaml's `advanced.bb_hashserve: host:port`, as the hashserve input would name the server. */
export function configuredHashServer(config: Pick<BuildConfig, 'hashEquivalence' | 'file'>): HashServer | undefined {
  const h = config.hashEquivalence;
  return h?.mode === 'server' ? parseHashServer(h.address, `${config.file}: advanced.bb_hashserve`) : undefined;
}

/** The shared server as the build found it before BitBake started: its conf, or why it is not used. */
export interface SharedHashServe {
  server: HashServer;
  /** Reports to it, or reads it as the local auto server's upstream. */
  mayWrite: boolean;
  /** Undefined when it answered; then `conf` holds the assignments. */
  problem?: string;
  conf?: Record<string, string>;
}

/**
 * The conf for a shared server that answers; none, after one warning, for one that does not:
 * BitBake then runs its local auto server and the build goes on with the local DB.
 */
export async function sharedHashServe(server: HashServer, mayWrite: boolean): Promise<SharedHashServe> {
  const problem = await hashServerProblem(server);
  if (problem) {
    log.warning(
      `hash server ${server.address} does not answer (${problem}); building with a local hash-equivalence DB instead`,
    );
    return { server, mayWrite, problem };
  }
  log.info(
    mayWrite
      ? `Hash equivalence: shared server ${server.address} (this build reports to it)`
      : `Hash equivalence: local server reading from ${server.address} as its upstream (this build does not write to it)`,
  );
  return { server, mayWrite, conf: hashServeConf(server, mayWrite) };
}
