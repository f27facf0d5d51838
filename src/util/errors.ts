/**
 * The kinds of error the action tells apart, and the one way to print anything thrown.
 * A ConfigError is the user's to fix (a config file, an input or a flag): shown as is, exit 2,
 * never a stack. Anything else is the action's or the environment's: its stack goes to debug.
 */

/** A bad config, input or flag: the message names where (file and line, input or flag) and what is expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** git failed: the message in git's own words, stderr kept for callers that classify it. */
export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** A cache transfer ran past its time limit and was killed. */
export class TransferTimeout extends Error {
  override name = 'TransferTimeout';
}

/** The message of anything thrown: an Error's message, else its string form (never "undefined"). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The stack of anything thrown, for debug output. */
export function errorStack(e: unknown): string {
  return e instanceof Error && e.stack ? e.stack : String(e);
}

/** The errno code of a failed system call (`ENOENT`, `EACCES`, …), undefined for anything else. */
export function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}
