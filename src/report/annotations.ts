/**
 * Failures and warnings as GitHub annotations: each failed task and parse error an error, placed
 * at its file and line when that file is the repository's (so it shows on the pull request's
 * diff); BitBake's warnings as warnings, deduplicated and capped.
 */
import type { BitbakeSummary } from '../bitbake/output.js';
import { log } from '../util/log.js';
import type { FailedTask } from './failures.js';
import type { PathMapper } from './paths.js';

export interface Annotation {
  level: 'error' | 'warning';
  title: string;
  message: string;
  file?: string;
  line?: number;
}

/**
 * GitHub shows at most 10 error and 10 warning annotations per step. One error is left for the
 * step's own failure message; the last shown of each kind counts the rest when there are more.
 */
export const MAX_ERRORS = 9;
export const MAX_WARNINGS = 10;
/** Lines of the task log quoted in a failed task's annotation. */
const MESSAGE_LOG_LINES = 10;

// `/path/file.bb:12: text` or `/path/file.bb: text`, as BitBake prefixes parse-time warnings.
const PATH_PREFIX = /^(\/[^\s:]+)(?::(\d+))?: /;
// `<pn>-<pv>-<pr> do_<task>: text`, as a task's warnings are prefixed.
const TASK_PREFIX = /^(\S+) (do_\S+): /;

export function buildAnnotations(s: BitbakeSummary, failed: FailedTask[], paths: PathMapper): Annotation[] {
  const errors: Annotation[] = [
    ...failed.map((f): Annotation => ({
      level: 'error',
      title: `Task ${f.label} failed`,
      message: [
        f.logFile ? `Log: ${f.failure.logFile}` : 'BitBake printed no log file for this task.',
        ...(f.logTail ? ['', ...f.logTail.slice(-MESSAGE_LOG_LINES)] : []),
      ].join('\n'),
      ...f.location,
    })),
    ...s.parseErrors.map((p): Annotation => {
      const file = paths.toRepo(p.file);
      return file
        ? { level: 'error', title: 'BitBake parse error', message: p.message, file, line: p.line }
        : { level: 'error', title: 'BitBake parse error', message: `${p.file}:${p.line}: ${p.message}` };
    }),
  ];
  const warnings = [...new Set(s.warnings)].map((w): Annotation => ({
    level: 'warning',
    title: 'BitBake warning',
    message: w,
    ...warningLocation(w, s, paths),
  }));
  return [...capped(errors, MAX_ERRORS, 'errors'), ...capped(warnings, MAX_WARNINGS, 'warnings')];
}

function warningLocation(w: string, s: BitbakeSummary, paths: PathMapper): { file?: string; line?: number } {
  let m = PATH_PREFIX.exec(w);
  if (m) {
    const file = paths.toRepo(m[1]!);
    return file ? { file, line: m[2] ? Number(m[2]) : undefined } : {};
  }
  m = TASK_PREFIX.exec(w);
  const recipe = m ? s.recipeFiles[m[1]!] : undefined;
  const file = recipe ? paths.toRepo(recipe) : undefined;
  return file ? { file } : {};
}

function capped(list: Annotation[], max: number, what: string): Annotation[] {
  if (list.length <= max) return list;
  const shown = list.slice(0, max - 1);
  const rest = list.length - shown.length;
  return [
    ...shown,
    {
      level: list[0]!.level,
      title: `${rest} more BitBake ${what}`,
      message: `${rest} more BitBake ${what} are not shown as annotations; see the build log and the job summary.`,
    },
  ];
}

export function emitAnnotations(list: Annotation[]): void {
  for (const a of list) {
    const place = { title: a.title, file: a.file, line: a.line };
    if (a.level === 'error') log.error(a.message, place);
    else log.warning(a.message, place);
  }
}
