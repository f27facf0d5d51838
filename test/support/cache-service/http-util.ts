/** Small HTTP helpers for the loopback service. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

export type DownloadFault = 'truncate' | 'corrupt' | 'stall';

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  let value: unknown;
  try {
    value = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new RequestError(400, 'request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RequestError(400, 'request body is not a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The bearer token of a request, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

function write(res: ServerResponse, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) {
      reject(new Error('response closed'));
      return;
    }
    if (res.write(data)) {
      resolve();
      return;
    }
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      reject(new Error('response closed'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Writes `data` (and the headers, if not yet sent) through to the socket. */
function writeFlushed(res: ServerResponse, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) reject(new Error('response closed'));
    else res.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Streams `source` (whose headers, with Content-Length `length`, are already sent) to `res`,
 * applying a download fault: cut the connection halfway (`truncate`), invert 16 bytes in the middle
 * (`corrupt`), or stop sending halfway and hold the socket open until the client gives up (`stall`).
 */
export async function pipeBody(
  source: Readable,
  res: ServerResponse,
  length: number,
  fault?: DownloadFault,
): Promise<void> {
  const middle = Math.floor(length / 2);
  let offset = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      let data = chunk;
      if (fault === 'truncate' || fault === 'stall') {
        if (offset + data.length > middle) {
          data = data.subarray(0, middle - offset);
          await writeFlushed(res, data);
          // Truncate: FIN after the partial body (a reset could make the client drop the
          // headers too, which it would retry as "socket hang up"). Stall: wait for the client.
          if (fault === 'truncate') res.socket?.end();
          if (!res.destroyed) await new Promise((resolve) => res.once('close', resolve));
          return; // leaving the loop destroys the source
        }
      } else if (fault === 'corrupt' && offset + data.length > middle && offset < middle + 16) {
        data = Buffer.from(data);
        for (let i = Math.max(0, middle - offset); i < Math.min(data.length, middle + 16 - offset); i++)
          data[i] = (data[i] ?? 0) ^ 0xff;
      }
      await write(res, data);
      offset += data.length;
    }
    res.end();
  } catch {
    res.destroy();
  }
}
