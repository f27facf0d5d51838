/** Parses BitBake's knotty output, line by line, into what the report needs. Pure. */

export interface SstateSummary {
  wanted: number;
  local: number;
  mirrors: number;
  missed: number;
  current: number;
  matchPercent: number;
  completePercent: number;
}

export interface TaskFailure {
  /** Recipe file as BitBake printed it (a path inside the container). */
  recipeFile: string;
  task: string;
  logFile?: string;
  /**
   * Where in the metadata it failed, innermost first: BitBake's "Backtrace (metadata-relative
   * locations)" of a shell task, or the `File: '…', lineno: N` frames of a python task's traceback.
   */
  frames: SourceFrame[];
}

export interface SourceFrame {
  file: string;
  line: number;
}

export interface TaskProgress {
  phase: 'setscene' | 'task';
  current: number;
  total: number;
  /** `recipe.bb:do_task` as printed, for the log. */
  what: string;
}

export interface BitbakeSummary {
  sstate?: SstateSummary;
  tasksAttempted?: number;
  tasksReused?: number;
  tasksFailed: number;
  /** noexec tasks (do_build): BitBake counts them as completed although nothing ran. */
  noexecTasks: number;
  failures: TaskFailure[];
  parseErrors: { file: string; line: number; message: string }[];
  warnings: string[];
  errors: string[];
  /** OE's host tool check (HOSTTOOLS) found these missing from PATH: BitBake stops before parsing. */
  missingHostTools?: string[];
  lastProgress?: TaskProgress;
  /** Tasks finished so far (succeeded or failed), per phase; noexec tasks count as real tasks. */
  done: { setscene: number; task: number };
  /** `<pn>-<pv>-<pr>` → recipe file, from "Running task" and the "recipe …: Started" note after it. */
  recipeFiles: Record<string, string>;
}

const SSTATE =
  /Sstate summary: Wanted (\d+) Local (\d+) Mirrors (\d+) Missed (\d+) Current (\d+) \((\d+)% match, (\d+)% complete\)/;
const TASKS_SUMMARY =
  /^NOTE: Tasks Summary: Attempted (\d+) tasks of which (\d+) didn't need to be rerun and (?:all succeeded|(\d+) failed)\./;
const RUNNING = /^NOTE: Running (setscene )?task (\d+) of (\d+) \((.*)\)$/;
const NOEXEC = /^NOTE: Running noexec task \d+ of \d+ /;
const TASK_FAILED = /^ERROR: Task \((.+):(do_[A-Za-z0-9_+-]+)\) failed with exit code '(\d+)'/;
const LOGFILE = /^ERROR: Logfile of failure stored in: (.+)$/;
// Knotty prints recipe parse errors after its progress text: `Parsing recipes...ERROR: ParseError at …`.
const PARSE_ERROR = /ERROR: ParseError at ([^:]+):(\d+): (.*)$/;
const STARTED = /^NOTE: recipe (\S+): task (do_\S+): Started$/;
const FINISHED = /^NOTE: recipe \S+: task do_\S+?(_setscene)?: (?:Succeeded|Failed)$/;
// A shell task's backtrace (knotty may prefix log lines with "| ") and a python traceback frame.
const METADATA_FRAME = /^(?:\| )?\s*#\d+: \S+, (.+), line (\d+)$/;
const PYTHON_FRAME = /^(?:\| )?File: '(.+)', lineno: (\d+), function: \S+$/;
const ERROR = /^(?:[A-Za-z ]+\.\.\.)?ERROR: (.*)$/;
// base.bbclass setup_hosttools_dir(); the tools follow on the next line, indented.
const HOSTTOOLS_MISSING =
  /ERROR: The following required tools \(as specified by HOSTTOOLS\) appear to be unavailable in PATH, please install them in order to proceed:\s*(.*)$/;
const WARNING = /^(?:[A-Za-z ]+\.\.\.)?WARNING: (.*)$/;

export class BitbakeOutputParser {
  readonly summary: BitbakeSummary = {
    tasksFailed: 0,
    noexecTasks: 0,
    failures: [],
    parseErrors: [],
    warnings: [],
    errors: [],
    done: { setscene: 0, task: 0 },
    recipeFiles: {},
  };
  /** Logfile and backtrace lines precede the Task line they belong to. */
  private pendingLogFile?: string;
  private pendingFrames: SourceFrame[] = [];
  private inMetadataBacktrace = false;
  private lastRecipeFile?: string;
  private hostToolsNext = false;

  /** Feeds one line (without its newline); returns progress when the line reports some. */
  line(text: string): TaskProgress | undefined {
    const s = this.summary;
    if (this.hostToolsNext) {
      this.hostToolsNext = false;
      addMissing(s, text);
      return undefined;
    }
    let m = HOSTTOOLS_MISSING.exec(text);
    if (m) {
      if (m[1]!.trim()) addMissing(s, m[1]!);
      else this.hostToolsNext = true;
    }
    m = SSTATE.exec(text);
    if (m) {
      const [wanted, local, mirrors, missed, current, match, complete] = m.slice(1).map(Number) as number[];
      s.sstate = {
        wanted: wanted!,
        local: local!,
        mirrors: mirrors!,
        missed: missed!,
        current: current!,
        matchPercent: match!,
        completePercent: complete!,
      };
      return undefined;
    }
    if ((m = RUNNING.exec(text))) {
      s.lastProgress = { phase: m[1] ? 'setscene' : 'task', current: Number(m[2]), total: Number(m[3]), what: m[4]! };
      this.lastRecipeFile = recipeFileOf(m[4]!);
      return s.lastProgress;
    }
    if (NOEXEC.test(text)) {
      s.noexecTasks += 1;
      s.done.task += 1;
      return undefined;
    }
    if ((m = STARTED.exec(text))) {
      if (this.lastRecipeFile && !m[2]!.endsWith('_setscene')) s.recipeFiles[m[1]!] ??= this.lastRecipeFile;
      return undefined;
    }
    if ((m = FINISHED.exec(text))) {
      s.done[m[1] ? 'setscene' : 'task'] += 1;
      return undefined;
    }
    if (/Backtrace \(metadata-relative locations\):$/.test(text)) {
      this.inMetadataBacktrace = true;
      return undefined;
    }
    if (this.inMetadataBacktrace && (m = METADATA_FRAME.exec(text))) {
      // The same backtrace may come twice: in the ERROR message and in "Log data follows".
      const frame = { file: m[1]!, line: Number(m[2]) };
      if (!this.pendingFrames.some((f) => f.file === frame.file && f.line === frame.line))
        this.pendingFrames.push(frame);
      return undefined;
    }
    this.inMetadataBacktrace = false;
    if ((m = PYTHON_FRAME.exec(text))) {
      // A python traceback runs outermost first.
      this.pendingFrames.unshift({ file: m[1]!, line: Number(m[2]) });
      return undefined;
    }
    if ((m = TASKS_SUMMARY.exec(text))) {
      s.tasksAttempted = Number(m[1]);
      s.tasksReused = Number(m[2]);
      s.tasksFailed = m[3] ? Number(m[3]) : 0;
      return undefined;
    }
    if ((m = LOGFILE.exec(text))) {
      this.pendingLogFile = m[1]!.trim();
    } else if ((m = TASK_FAILED.exec(text))) {
      // Frames of generated code ("exec_func_python() autogenerated") name no file.
      s.failures.push({
        recipeFile: m[1]!,
        task: m[2]!,
        logFile: this.pendingLogFile,
        frames: this.pendingFrames.filter((f) => f.file.startsWith('/')),
      });
      this.pendingLogFile = undefined;
      this.pendingFrames = [];
    } else if ((m = PARSE_ERROR.exec(text))) {
      s.parseErrors.push({ file: m[1]!, line: Number(m[2]), message: m[3]! });
    }
    if ((m = ERROR.exec(text))) s.errors.push(m[1]!);
    else if ((m = WARNING.exec(text))) s.warnings.push(m[1]!);
    return undefined;
  }
}

/** BitBake prints the check's error once per server start attempt: each tool is named once. */
function addMissing(s: BitbakeSummary, words: string): void {
  const tools = (s.missingHostTools ??= []);
  for (const t of words.trim().split(/\s+/)) if (t && !tools.includes(t)) tools.push(t);
}

/** `virtual:native:/x/zlib_1.3.1.bb:do_compile` → `/x/zlib_1.3.1.bb`. */
function recipeFileOf(what: string): string {
  const file = what.replace(/:do_[^:]+$/, '');
  const slash = file.indexOf('/');
  return slash > 0 ? file.slice(slash) : file;
}

/** Tasks that really ran: attempted minus those covered by sstate, already current, or noexec. */
export function tasksRun(s: BitbakeSummary): number | undefined {
  if (s.tasksAttempted === undefined || s.tasksReused === undefined) return undefined;
  return s.tasksAttempted - s.tasksReused - s.noexecTasks;
}

/** `recipe_1.0.bb:do_compile` → `recipe_1.0:do_compile`, as people name a task. */
export function taskLabel(f: TaskFailure): string {
  const base = f.recipeFile.split('/').pop() ?? f.recipeFile;
  return `${base.replace(/\.bb(append)?$/, '')}:${f.task}`;
}
