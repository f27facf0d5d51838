/**
 * What the report says about each failed task: its name, the end of its log (read at the host
 * path of the log BitBake printed) and where in the repository under test it failed.
 */
import { promises as fs } from 'node:fs';

import { type BitbakeSummary, type TaskFailure, taskLabel } from '../bitbake/output.js';
import type { PathMapper } from './paths.js';

export const LOG_TAIL_LINES = 50;
/** Enough bytes for 50 long lines; a compile log can be hundreds of megabytes. */
const TAIL_BYTES = 64 * 1024;

export interface SourceLocation {
  /** Relative to the repository under test. */
  file: string;
  line?: number;
}

export interface FailedTask {
  /** `recipe_1.0:do_compile`. */
  label: string;
  failure: TaskFailure;
  /** The log's host path, when BitBake printed one. */
  logFile?: string;
  /** Its last lines, when it could be read. */
  logTail?: string[];
  location?: SourceLocation;
}

export async function describeFailures(s: BitbakeSummary, paths: PathMapper): Promise<FailedTask[]> {
  return Promise.all(
    s.failures.map(async (f) => {
      const logFile = f.logFile ? paths.toHost(f.logFile) : undefined;
      return {
        label: taskLabel(f),
        failure: f,
        logFile,
        logTail: logFile ? await tail(logFile, LOG_TAIL_LINES) : undefined,
        location: await locate(f, paths),
      };
    }),
  );
}

/**
 * The innermost backtrace frame in the repository; else the task's definition in a recipe of the
 * repository; else the recipe itself. A task defined in a class has no line in the recipe.
 */
async function locate(f: TaskFailure, paths: PathMapper): Promise<SourceLocation | undefined> {
  for (const frame of f.frames) {
    const file = paths.toRepo(frame.file);
    if (file) return { file, line: frame.line };
  }
  const file = paths.toRepo(f.recipeFile);
  if (!file) return undefined;
  const text = await fs.readFile(paths.toHost(f.recipeFile), 'utf8').catch(() => '');
  return { file, line: definitionLine(text, f.task) };
}

/** The 1-based line defining `do_task` (shell or python, with or without `fakeroot`). */
export function definitionLine(recipe: string, task: string): number | undefined {
  const def = new RegExp(`^\\s*(?:fakeroot\\s+)?(?:python\\s+)?${task.replace(/[^A-Za-z0-9_]/g, '\\$&')}\\s*\\(\\)`);
  const i = recipe.split('\n').findIndex((l) => def.test(l));
  return i < 0 ? undefined : i + 1;
}

/** The last `n` lines of a file, or undefined when it cannot be read. */
export async function tail(file: string, n: number): Promise<string[] | undefined> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await handle.read(buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // Cut mid-line.
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}
