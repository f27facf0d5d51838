/**
 * Git's smart HTTP protocol on 127.0.0.1: `git http-backend` behind a small Node server, so tests
 * can fetch layers over http:// as from a real forge, and make the server fail on purpose (a 503,
 * or a connection dropped mid-request) for its first requests.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';

export type Failure = 'http-503' | 'reset';

export class GitHttpServer {
  /** Every request as `METHOD path?query`, failed ones marked with the failure. */
  readonly requests: string[] = [];
  private failures: Failure[] = [];
  private server?: Server;

  /** Serves the bare repositories directly under `root` (http://127.0.0.1:port/<name>.git). */
  constructor(private readonly root: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  url(repo: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/${repo}`;
  }

  /** The next requests fail, in this order; later ones are served. */
  failNext(...failures: Failure[]): void {
    this.failures.push(...failures);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const failure = this.failures.shift();
    this.requests.push(`${req.method} ${req.url}${failure ? ` (${failure})` : ''}`);
    if (failure === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failure === 'http-503') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable\n');
      return;
    }
    this.backend(req, res);
  }

  /** Runs git http-backend as a CGI program for one request. */
  private backend(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const [name, ...rest] = line.split(':');
        const value = rest.join(':').trim();
        if (name!.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else res.setHeader(name!, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
  }
}
