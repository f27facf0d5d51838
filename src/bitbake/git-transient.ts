/**
 * Which git failures are the network's passing fault and worth another attempt, in git's and
 * curl's own words. Anything else (no such repository, no such revision, refused credentials,
 * an unknown message) is final: retrying it would only delay the error a user must fix.
 */

/** Final whatever else the message says: the answer will not change on a second ask. */
const PERMANENT: readonly RegExp[] = [
  /repository '[^']*' not found|Repository not found/i,
  /does not appear to be a git repository/i,
  /Authentication failed|could not read (Username|Password)|terminal prompts disabled|Permission denied/i,
  /The requested URL returned error: (4\d\d)/i,
  /couldn't find remote ref|not our ref|no such remote ref|unadvertised object/i,
];

/** Passing trouble between the runner and the server, with a short name for the log. */
const TRANSIENT: readonly [RegExp, string][] = [
  [/The requested URL returned error: (5\d\d)/i, 'server error'],
  [/returned error: 429|Too Many Requests/i, 'rate limited'],
  [/Connection reset|ECONNRESET|Connection refused|Failed to connect|Couldn't connect to server/i, 'connection failed'],
  [/timed out|Operation too slow|Timeout was reached/i, 'timeout'],
  [/Could not resolve host|Temporary failure in name resolution/i, 'name resolution failed'],
  [
    /remote end hung up unexpectedly|early EOF|unexpected disconnect|RPC failed|Empty reply from server/i,
    'connection dropped',
  ],
  [
    /transfer closed with outstanding read data|HTTP\/2 stream \d+ was not closed cleanly|SSL_ERROR_SYSCALL/i,
    'connection dropped',
  ],
  [/gnutls_handshake\(\) failed|TLS connection was non-properly terminated|unexpected eof while reading/i, 'TLS error'],
];

/** A short reason when git's stderr shows a transient network failure, else undefined. */
export function transientGitFailure(stderr: string): string | undefined {
  if (PERMANENT.some((p) => p.test(stderr))) return undefined;
  return TRANSIENT.find(([p]) => p.test(stderr))?.[1];
}

/** Pauses between attempts: 4 attempts over about half a minute, enough for a server to come back. */
export const GIT_RETRY_DELAYS_MS: readonly number[] = [2_000, 8_000, 20_000];
