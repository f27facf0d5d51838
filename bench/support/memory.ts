/**
 * The memory of a step and the cache workers it starts, read from /proc every 50 ms by the
 * benchmark's own process, so the reading allocates nothing in the process it measures: the
 * highest sum of the workers' resident sizes at one moment (at least one worker's VmHWM), and
 * the highest sum of the step's and theirs. tar and zstd, the workers' children, are not counted.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryPeaks {
  workersKiB: number;
  togetherKiB: number;
}

function kib(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0);
}

function readStatus(pid: string | number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined; // Gone meanwhile.
  }
}

function readCommand(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export function watchMemory(stepPid: number, workerCommand = 'cache-worker'): { stop: () => MemoryPeaks } {
  const peaks: MemoryPeaks = { workersKiB: 0, togetherKiB: 0 };
  const poll = () => {
    const step = readStatus(stepPid);
    if (!step) return;
    let workers = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      const status = readStatus(pid);
      if (!status || !new RegExp(`^PPid:\\s+${stepPid}$`, 'm').test(status)) continue;
      if (!readCommand(pid).includes(workerCommand)) continue;
      workers += kib(status, 'VmRSS');
      peaks.workersKiB = Math.max(peaks.workersKiB, kib(status, 'VmHWM'));
    }
    peaks.workersKiB = Math.max(peaks.workersKiB, workers);
    peaks.togetherKiB = Math.max(peaks.togetherKiB, workers + kib(step, 'VmRSS'));
  };
  const timer = setInterval(poll, 50);
  return {
    stop: () => {
      clearInterval(timer);
      return peaks;
    },
  };
}
