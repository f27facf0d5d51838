/** A Logger that keeps what it is given, in order, for unit tests to read back. */
import type { Logger, Place } from '../../src/util/log.js';

export interface Entry {
  kind: 'info' | 'debug' | 'notice' | 'warning' | 'error' | 'group' | 'output' | 'secret';
  message: string;
  place?: Place;
}

export function recordingLogger(): Logger & { entries: Entry[]; lines(kind: Entry['kind']): string[] } {
  const entries: Entry[] = [];
  const add = (kind: Entry['kind']) => (message: string, place?: Place) => void entries.push({ kind, message, place });
  return {
    entries,
    lines: (kind) => entries.filter((e) => e.kind === kind).map((e) => e.message),
    info: add('info'),
    debug: add('debug'),
    notice: add('notice'),
    warning: add('warning'),
    error: add('error'),
    async group(title, body) {
      entries.push({ kind: 'group', message: title });
      return body();
    },
    secret: add('secret'),
    passthrough: () => ({ line: add('output'), end: () => undefined }),
  };
}
