/** BB_NUMBER_THREADS and PARALLEL_MAKE from the cores and memory a build really has. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  containerResources,
  memoryBytes,
  PRESSURE_MAX_MEMORY,
  type Resources,
  runnerResources,
  sizeParallelism,
} from '../../src/host/sizing.js';

const GiB = 1024 ** 3;
const machine = (cpus: number, gib: number): Resources => ({ cpus, memoryBytes: gib * GiB, source: 'test' });

describe('sizeParallelism', () => {
  // The figures docs/runners.md and the README quote; a change here changes them.
  it.each([
    ['hosted Linux runner, public repository (4 cores, 16 GB; 15.6 GiB seen)', 4, 15.6, 4, '-j 2'],
    ['hosted Linux runner, private repository (2 cores, 7 GB)', 2, 6.8, 2, '-j 2'],
    ['2 cores, 8 GB', 2, 7.7, 2, '-j 2'],
    ['larger runner, 8 cores, 32 GB', 8, 31.4, 8, '-j 2'],
    ['larger runner, 16 cores, 64 GB', 16, 62.8, 16, '-j 2'],
    ['self-hosted 32 cores, 64 GB', 32, 62.8, 31, '-j 1'],
    ['self-hosted 16 cores, 128 GB', 16, 125.8, 16, '-j 4'],
  ])('%s: %i CPUs, %f GiB -> %i threads, %s', (_name, cpus, gib, threads, make) => {
    const p = sizeParallelism(machine(cpus, gib), {}, true);
    expect(p.bbNumberThreads).toBe(threads);
    expect(p.parallelMake).toBe(make);
    // About one compiler per 2 GiB: rounding may add a few, never half as many again.
    expect(threads * Number(make.slice(3))).toBeLessThanOrEqual(1.5 * Math.max(1, Math.round(gib / 2)));
  });

  it('never gives 4 x 4 compilers to a 4-core, 16 GB runner', () => {
    const p = sizeParallelism(machine(4, 15.6), {}, false);
    expect(p.bbNumberThreads * Number(p.parallelMake.slice(3))).toBeLessThan(16);
  });

  it('keeps what the config sets and sizes the other value around it', () => {
    expect(sizeParallelism(machine(4, 15.6), { bbNumberThreads: 2 }, false)).toMatchObject({
      bbNumberThreads: 2,
      parallelMake: '-j 4',
    });
    expect(sizeParallelism(machine(4, 15.6), { parallelMake: '-j8' }, false)).toMatchObject({
      bbNumberThreads: 1,
      parallelMake: '-j8',
    });
    expect(sizeParallelism(machine(4, 15.6), { bbNumberThreads: 8, parallelMake: '-j 8' }, false)).toMatchObject({
      bbNumberThreads: 8,
      parallelMake: '-j 8',
    });
  });

  it('gives at least one task and one job on a tiny machine', () => {
    expect(sizeParallelism(machine(1, 0.5), {}, false)).toMatchObject({ bbNumberThreads: 1, parallelMake: '-j 1' });
  });

  it('adds memory pressure regulation only where BitBake has it, and says why in one line', () => {
    const p = sizeParallelism(machine(4, 15.6), {}, true);
    expect(p.pressureMaxMemory).toBe(PRESSURE_MAX_MEMORY);
    expect(p.explanation).toBe(
      '4 CPUs and 15.6 GiB (test): BB_NUMBER_THREADS 4, PARALLEL_MAKE -j 2, at most 8 compilers at ~2 GiB each; ' +
        `BitBake holds new tasks under memory pressure (BB_PRESSURE_MAX_MEMORY ${PRESSURE_MAX_MEMORY})`,
    );
    expect(sizeParallelism(machine(4, 15.6), {}, false).pressureMaxMemory).toBeUndefined();
  });
});

describe('containerResources', () => {
  const runner = machine(4, 15.6);
  it("takes the container's limits, never more than the runner has", () => {
    expect(containerResources({ cpuCount: 2, memory: '8g' }, runner)).toEqual({
      cpus: 2,
      memoryBytes: 8 * GiB,
      source: 'container limits from the config',
    });
    expect(containerResources({ cpuCount: 16, memory: '64g' }, runner)).toMatchObject({
      cpus: 4,
      memoryBytes: 15.6 * GiB,
    });
    expect(containerResources({ memory: '4096m' }, runner)).toMatchObject({ cpus: 4, memoryBytes: 4 * GiB });
    expect(containerResources({}, runner)).toBe(runner);
  });

  it('reads docker memory sizes', () => {
    expect(memoryBytes('8g')).toBe(8 * GiB);
    expect(memoryBytes('512M')).toBe(512 * 1024 ** 2);
    expect(memoryBytes('1024')).toBe(1024);
    expect(() => memoryBytes('lots')).toThrow(/not a memory size/);
  });
});

describe('runnerResources', () => {
  it("uses the cgroup's limits when it sets them", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smidr-cgroup-'));
    writeFileSync(path.join(dir, 'cpu.max'), '100000 100000\n');
    writeFileSync(path.join(dir, 'memory.max'), `${2 * GiB}\n`);
    expect(runnerResources(dir)).toEqual({ cpus: 1, memoryBytes: 2 * GiB, source: "the runner's cgroup limits" });
  });

  it("uses the machine's figures without limits", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smidr-cgroup-'));
    writeFileSync(path.join(dir, 'cpu.max'), 'max 100000\n');
    writeFileSync(path.join(dir, 'memory.max'), 'max\n');
    expect(runnerResources(dir)).toEqual({
      cpus: os.availableParallelism(),
      memoryBytes: os.totalmem(),
      source: 'the runner',
    });
  });
});
