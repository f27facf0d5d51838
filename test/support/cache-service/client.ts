/**
 * Helpers for running the real @actions/cache client inside the test process.
 *
 * @actions/cache 6.3.0 reads all its configuration from process.env at call time
 * (service version, URLs, token, ACTIONS_CACHE_MODE, RUNNER_TEMP, GITHUB_WORKSPACE, upload/download
 * tuning), so it can be imported statically; set the environment before each call.
 */
import { DNS_OVERRIDE_ENV, installDnsOverride } from './dns-override.js';
import type { CacheService } from './service.js';

/**
 * Points process.env at `service` (plus `extra`; an undefined value deletes the variable) and, for
 * the `azure` blob host style, installs the DNS override. Returns a function that undoes it all.
 * NODE_OPTIONS from service.env is left out: it is meant for child processes.
 */
export function applyClientEnv(
  service: Pick<CacheService, 'env' | 'unsetEnv'>,
  extra: Record<string, string | undefined> = {},
): () => void {
  const changes: Record<string, string | undefined> = {};
  for (const key of service.unsetEnv) changes[key] = undefined;
  for (const [key, value] of Object.entries(service.env)) if (key !== 'NODE_OPTIONS') changes[key] = value;
  Object.assign(changes, extra);

  const previous = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(changes)) {
    previous.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const dnsHosts = service.env[DNS_OVERRIDE_ENV];
  const removeDns = dnsHosts ? installDnsOverride(dnsHosts.split(',')) : undefined;
  return () => {
    removeDns?.();
    for (const [key, value] of previous) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

export interface CapturedRun<T> {
  value: T;
  /** Everything written to stdout (the client logs through @actions/core and @actions/exec). */
  output: string;
  /** Messages of `::warning::` commands, unescaped. */
  warnings: string[];
  /** Messages of `::error::` commands, unescaped. */
  errors: string[];
}

function commandMessages(output: string, command: 'warning' | 'error'): string[] {
  const prefix = new RegExp(`^::${command}(?: [^:]*)?::`);
  return output
    .split(/\r?\n/)
    .filter((line) => prefix.test(line))
    .map((line) => line.replace(prefix, '').replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'));
}

/**
 * Runs `fn` with process.stdout captured (echoed too when CACHE_SERVICE_ECHO=1), so a test can
 * check the client's warnings and keep the log quiet.
 */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<CapturedRun<T>> {
  const echo = process.env['CACHE_SERVICE_ECHO'] === '1';
  const originalWrite = process.stdout.write;
  let output = '';
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (echo) return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    if (callback) process.nextTick(callback);
    return true;
  } as typeof process.stdout.write;
  try {
    const value = await fn();
    return { value, output, warnings: commandMessages(output, 'warning'), errors: commandMessages(output, 'error') };
  } finally {
    process.stdout.write = originalWrite;
  }
}

/**
 * Divides every global setTimeout of at least `minMs` by `factor` until the returned function is
 * called: the client's fixed retry back-offs (v2 twirp: 3 s × 1.5ⁿ over 5 attempts, ~30 s in all;
 * v1: 5 s) then take milliseconds. Socket timeouts (`socket.setTimeout`, e.g. the 5 s download
 * idle timeout) are not affected, nor are vitest's timers or `timers/promises`.
 */
export function accelerateTimers(factor = 100, minMs = 500): () => void {
  const original = globalThis.setTimeout;
  const fast = (handler: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    original(handler, ms !== undefined && ms >= minMs ? Math.ceil(ms / factor) : ms, ...args);
  globalThis.setTimeout = Object.assign(fast, original) as typeof setTimeout;
  return () => {
    globalThis.setTimeout = original;
  };
}
