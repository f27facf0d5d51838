/**
 * Where the action's words go. On a runner they are workflow commands through @actions/core
 * (annotations, groups, debug lines shown with ACTIONS_STEP_DEBUG); in the `smidr` CLI they are
 * plain text for a terminal. Modules log through `log`; an entry point picks the logger once.
 */
import { randomBytes } from 'node:crypto';

import * as core from '@actions/core';

/** Where an annotation points: a file of the repository and a line in it. */
export interface Place {
  title?: string;
  file?: string;
  line?: number;
}

/** Lines of a child process copied verbatim (BitBake's output). */
export interface Passthrough {
  line(text: string): void;
  end(): void;
}

export interface Logger {
  info(message: string): void;
  /** Shown only when asked for: ACTIONS_STEP_DEBUG on a runner, SMIDR_DEBUG=1 in a terminal. */
  debug(message: string): void;
  notice(message: string, place?: Place): void;
  warning(message: string, place?: Place): void;
  error(message: string, place?: Place): void;
  group<T>(title: string, body: () => Promise<T>): Promise<T>;
  /** A value no later line may show: the runner masks it (a terminal shows what its user typed). */
  secret(value: string): void;
  /** Starts copying a child's output; workflow commands in it must not take effect. */
  passthrough(): Passthrough;
}

function annotation(place?: Place): core.AnnotationProperties | undefined {
  return place && { title: place.title, file: place.file, startLine: place.line };
}

/** The runner's logger: workflow commands through @actions/core. */
export const actionLogger: Logger = {
  info: (m) => core.info(m),
  debug: (m) => core.debug(m),
  notice: (m, p) => core.notice(m, annotation(p)),
  warning: (m, p) => core.warning(m, annotation(p)),
  error: (m, p) => core.error(m, annotation(p)),
  group: (title, body) => core.group(title, body),
  secret: (value) => core.setSecret(value),
  passthrough() {
    // A line of BitBake's output that looks like `::error::` must stay text: stop-commands with a
    // token no output can guess turns workflow commands off until the token is echoed back.
    const token = randomBytes(16).toString('hex');
    process.stdout.write(`::stop-commands::${token}\n`);
    return {
      line: (text) => process.stdout.write(`${text}\n`),
      end: () => process.stdout.write(`::${token}::\n`),
    };
  },
};

function where(place?: Place): string {
  if (!place?.file) return '';
  return place.line ? `${place.file}:${place.line}: ` : `${place.file}: `;
}

/**
 * A terminal shows workflow commands as text, but the CLI's output may still land on a runner (a
 * workflow step running `smidr build`): a line that begins with `::` gets a marker in front, so
 * no BitBake line or message of ours can turn into one.
 */
function plain(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.trimStart().startsWith('::') ? `(text) ${l}` : l))
    .join('\n');
}

const out = (text: string) => void process.stdout.write(`${plain(text)}\n`);
const err = (text: string) => void process.stderr.write(`${plain(text)}\n`);

/** The CLI's logger: plain lines, problems on stderr, debug lines with SMIDR_DEBUG=1. */
export const terminalLogger: Logger = {
  info: (m) => out(m),
  debug: (m) => {
    if (process.env.SMIDR_DEBUG) err(`debug: ${m}`);
  },
  notice: (m, p) => err(`note: ${where(p)}${m}`),
  warning: (m, p) => err(`warning: ${where(p)}${m}`),
  error: (m, p) => err(`error: ${where(p)}${m}`),
  async group(title, body) {
    out(`\n=== ${title}`);
    return body();
  },
  secret: () => undefined,
  passthrough: () => ({ line: out, end: () => undefined }),
};

let current: Logger = actionLogger;

/** Chosen once by an entry point: the CLI calls it with terminalLogger, tests with their own. */
export function setLogger(logger: Logger): void {
  current = logger;
}

/** The logger every module uses; it forwards to the one the entry point chose. */
export const log: Logger = {
  info: (m) => current.info(m),
  debug: (m) => current.debug(m),
  notice: (m, p) => current.notice(m, p),
  warning: (m, p) => current.warning(m, p),
  error: (m, p) => current.error(m, p),
  group: (title, body) => current.group(title, body),
  secret: (value) => current.secret(value),
  passthrough: () => current.passthrough(),
};
