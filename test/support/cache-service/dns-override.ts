/**
 * Resolves chosen host names to 127.0.0.1 inside this process by wrapping `dns.lookup`, which is
 * what `net`/`http`/`fetch` call at connect time. With it, signed URLs on
 * `<account>.blob.core.windows.net:<port>` reach the loopback service, and @actions/cache takes its
 * Azure SDK download path (it checks only the host suffix).
 *
 * In-process: `installDnsOverride([host])` (or `applyClientEnv`, which does it for you).
 * In a child process: preload this file, as `service.env` does for the `azure` host style:
 *   NODE_OPTIONS=--import=<file URL of this file>  CACHE_SERVICE_DNS_OVERRIDE=<host>[,<host>...]
 * Node 24 strips the types itself, so this file must stay self-contained (no relative imports)
 * and use only erasable TypeScript syntax.
 */
import type * as DnsModule from 'node:dns';
import { createRequire } from 'node:module';

export const DNS_OVERRIDE_ENV = 'CACHE_SERVICE_DNS_OVERRIDE';

type Lookup = typeof DnsModule.lookup;
type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | DnsModule.LookupAddress[],
  family?: number,
) => void;

// The CommonJS exports object: net reads `dns.lookup` from it on every connect.
const dns = createRequire(import.meta.url)('node:dns') as typeof DnsModule;
const hosts = new Map<string, number>();
let original: Lookup | undefined;

function patchedLookup(hostname: string, options: unknown, callback?: unknown): void {
  if (!hosts.has(hostname.toLowerCase())) {
    (original as unknown as (...args: unknown[]) => void).call(dns, hostname, options, callback);
    return;
  }
  const done = (typeof options === 'function' ? options : callback) as LookupCallback;
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
  process.nextTick(() => (all ? done(null, [{ address: '127.0.0.1', family: 4 }]) : done(null, '127.0.0.1', 4)));
}

/** Resolves `names` to 127.0.0.1 until the returned function is called. Nests and stacks. */
export function installDnsOverride(names: readonly string[]): () => void {
  const added = names.map((n) => n.toLowerCase()).filter((n) => n !== '');
  for (const name of added) hosts.set(name, (hosts.get(name) ?? 0) + 1);
  if (!original && hosts.size > 0) {
    original = dns.lookup;
    dns.lookup = patchedLookup as unknown as Lookup;
  }
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    for (const name of added) {
      const count = (hosts.get(name) ?? 1) - 1;
      if (count > 0) hosts.set(name, count);
      else hosts.delete(name);
    }
    if (original && hosts.size === 0) {
      dns.lookup = original;
      original = undefined;
    }
  };
}

const fromEnv = process.env[DNS_OVERRIDE_ENV];
if (fromEnv) installDnsOverride(fromEnv.split(',').map((s) => s.trim()));
