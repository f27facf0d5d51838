/**
 * How many BitBake tasks and compiler jobs a build gets, from the cores and the memory it really
 * has: the container's limits when it has them, else the runner's (its cgroup, else the machine).
 * BitBake's defaults follow the core count alone, and BB_NUMBER_THREADS × PARALLEL_MAKE compilers
 * can run at once: 4 × 4 on a 4-core, 16 GB hosted runner, each compiler of a large C++ recipe
 * wanting 1–2 GB, is how builds meet the OOM killer. The rule: about 2 GiB per concurrent compiler;
 * tasks first (most tasks are single-threaded), up to one per core, then make jobs share the rest.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

/** The memory one concurrent compiler job is given (the usual Yocto rule of thumb). */
export const BYTES_PER_JOB = 2 * 1024 ** 3;

/**
 * BitBake's memory pressure limit, in microseconds per second stalled on memory (the `total` of
 * /proc/pressure/memory): above 1% of the time, BitBake starts no new task until it falls.
 */
export const PRESSURE_MAX_MEMORY = 10_000;

/** BitBake reads BB_PRESSURE_MAX_* since 2.0 (kirkstone 4.0.4 onwards; earlier 2.0.x ignore it). */
export const PRESSURE_SINCE = '2.0';

export interface Resources {
  cpus: number;
  memoryBytes: number;
  /** Where the figures come from, for the log. */
  source: string;
}

export interface Parallelism {
  bbNumberThreads: number;
  parallelMake: string;
  /** Set when the BitBake in use regulates by memory pressure. */
  pressureMaxMemory?: number;
  /** One line for the log: the figures and why. */
  explanation: string;
}

/** What the config sets itself: those values are kept, the other is sized around them. */
export interface ParallelismSet {
  bbNumberThreads?: number;
  parallelMake?: string;
}

export function sizeParallelism(r: Resources, set: ParallelismSet, pressureSupported: boolean): Parallelism {
  const cpus = Math.max(1, Math.ceil(r.cpus));
  const jobs = Math.max(1, Math.round(r.memoryBytes / BYTES_PER_JOB));
  const setMake = set.parallelMake ? makeJobs(set.parallelMake) : undefined;
  const threads = set.bbNumberThreads ?? Math.min(cpus, Math.max(1, Math.round(jobs / (setMake ?? 1))));
  const make = setMake ?? Math.min(cpus, Math.max(1, Math.round(jobs / threads)));
  const memory = `${(r.memoryBytes / 1024 ** 3).toFixed(1)} GiB`;
  return {
    bbNumberThreads: threads,
    parallelMake: set.parallelMake ?? `-j ${make}`,
    pressureMaxMemory: pressureSupported ? PRESSURE_MAX_MEMORY : undefined,
    explanation:
      `${cpus} CPUs and ${memory} (${r.source}): BB_NUMBER_THREADS ${threads}${set.bbNumberThreads ? ' (set)' : ''}, ` +
      `PARALLEL_MAKE ${set.parallelMake ?? `-j ${make}`}${set.parallelMake ? ' (set)' : ''}, ` +
      `at most ${jobs} compilers at ~2 GiB each` +
      (pressureSupported
        ? `; BitBake holds new tasks under memory pressure (BB_PRESSURE_MAX_MEMORY ${PRESSURE_MAX_MEMORY})`
        : ''),
  };
}

/** The job count of a PARALLEL_MAKE value (`-j 8`, `-j8`, `-j 8 -l 20`); 1 when it names none. */
function makeJobs(value: string): number {
  const m = /-j\s*(\d+)/.exec(value);
  return m ? Math.max(1, Number(m[1])) : 1;
}

/** The limits a container gets from the config, the runner's figures where it sets none. */
export function containerResources(limits: { cpuCount?: number; memory?: string }, runner: Resources): Resources {
  const memory = limits.memory ? memoryBytes(limits.memory) : undefined;
  if (limits.cpuCount === undefined && memory === undefined) return runner;
  return {
    cpus: Math.min(limits.cpuCount ?? runner.cpus, runner.cpus),
    memoryBytes: Math.min(memory ?? runner.memoryBytes, runner.memoryBytes),
    source: 'container limits from the config',
  };
}

/** A docker-style memory size: bytes, or a number with b, k, m or g (binary units). */
export function memoryBytes(text: string): number {
  const m = /^(\d+)([bkmg]?)$/i.exec(text.trim());
  if (!m) throw new Error(`not a memory size: ${JSON.stringify(text)}`);
  return Number(m[1]) * 1024 ** Math.max(0, 'bkmg'.indexOf((m[2] || 'b').toLowerCase()));
}

/** The runner's cores and memory: its cgroup's limits (cgroup v2) when set, else the machine's. */
export function runnerResources(cgroupDir = '/sys/fs/cgroup'): Resources {
  const read = (file: string) => {
    try {
      return readFileSync(`${cgroupDir}/${file}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  let cpus = os.availableParallelism();
  let memory = os.totalmem();
  let limited = false;
  const [quota, period] = (read('cpu.max') ?? 'max').split(/\s+/);
  if (quota && quota !== 'max' && Number(period) > 0) {
    cpus = Math.min(cpus, Math.max(1, Math.floor(Number(quota) / Number(period))));
    limited = true;
  }
  const max = read('memory.max');
  if (max && max !== 'max' && Number(max) > 0 && Number(max) < memory) {
    memory = Number(max);
    limited = true;
  }
  return { cpus, memoryBytes: memory, source: limited ? "the runner's cgroup limits" : 'the runner' };
}
