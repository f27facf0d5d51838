/**
 * Runs the benchmarks and writes their sections of docs/benchmarks.md:
 *   ./scripts/bench.sh [roundtrip] [warm] [growth] [remote] [--size=1G,3G] [--objects=10000] [--rounds=3]
 *     [--warm-cycles=3] [--task-seconds=3] [--growth-runs=10] [matrix] [--matrix-runs=10] [--matrix-size=60M]
 *     [--note=<text>]
 * No names: all five. Scratch data goes under $SMIDR_BENCH_DIR (default /var/tmp/smidr-bench);
 * the generated sstate tree is kept there for the next run, everything else is removed.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { cacheGrowth } from './cache-growth.js';
import { cacheMatrix } from './cache-matrix.js';
import { cacheRoundTrip } from './cache-roundtrip.js';
import { remoteFetch } from './remote-fetch.js';
import { writeSection } from './support/doc.js';
import { mib, parseSize } from './support/stats.js';
import { warmRebuild } from './warm-rebuild.js';

const ORDER = ['roundtrip', 'warm', 'growth', 'remote', 'matrix'];
const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [k, ...v] = a.slice(2).split('=');
      return [k!, v.join('=')];
    }),
);
/** A usage error: the message alone, no stack. */
function usage(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}
for (const n of names) if (!ORDER.includes(n)) usage(`unknown benchmark '${n}': choose from ${ORDER.join(', ')}`);
const known = [
  'size',
  'objects',
  'rounds',
  'warm-cycles',
  'task-seconds',
  'growth-runs',
  'matrix-runs',
  'matrix-size',
  'note',
];
for (const k of Object.keys(flags))
  if (!known.includes(k)) usage(`unknown option --${k}: choose from ${known.map((x) => `--${x}`).join(', ')}`);
const int = (k: string, d: number) => {
  const v = flags[k] === undefined ? d : Number(flags[k]);
  if (!Number.isInteger(v) || v < 1) usage(`--${k} must be a whole number of at least 1, not '${flags[k]}'`);
  return v;
};

const root = process.env.SMIDR_BENCH_DIR ?? '/var/tmp/smidr-bench';
mkdirSync(root, { recursive: true });
const log = (m: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);
const note = flags.note ? `\n${flags.note}\n` : '';

for (const name of names.length ? ORDER.filter((n) => names.includes(n)) : ORDER) {
  log(`${name}: start`);
  let body: string;
  if (name === 'roundtrip') {
    // Several sizes, largest last: --objects is the largest tree's, the others' scale with their size.
    let sizes: number[] = [];
    try {
      sizes = (flags.size ?? '1G,3G').split(',').map(parseSize);
    } catch (e) {
      usage(`--size: ${(e as Error).message}`);
    }
    const largest = Math.max(...sizes);
    const parts: string[] = [];
    for (const totalBytes of sizes) {
      const objects = Math.max(1, Math.round((int('objects', 10000) * totalBytes) / largest));
      const part = await cacheRoundTrip({ root, totalBytes, objects, rounds: int('rounds', 3), log });
      parts.push(parts.length ? part.replace(/^## (.*)/, `### $1: ${mib(totalBytes)}`) : part);
    }
    body = parts.join('\n');
  } else if (name === 'warm') {
    const taskSeconds = Number(flags['task-seconds'] ?? 3);
    if (!(taskSeconds >= 0)) usage(`--task-seconds must be a number of seconds, not '${flags['task-seconds']}'`);
    body = await warmRebuild({ root, cycles: int('warm-cycles', 3), taskSeconds, log });
  } else if (name === 'growth') {
    body = await cacheGrowth({ root, runs: int('growth-runs', 10), log });
  } else if (name === 'matrix') {
    let workingSetBytes = 0;
    try {
      workingSetBytes = parseSize(flags['matrix-size'] ?? '60M');
    } catch (e) {
      usage(`--matrix-size: ${(e as Error).message}`);
    }
    body = await cacheMatrix({ root, runs: int('matrix-runs', 10), workingSetBytes, log });
  } else {
    let totalBytes = 0;
    try {
      totalBytes = parseSize(flags.size ?? '3G');
    } catch (e) {
      usage(`--size: ${(e as Error).message}`);
    }
    body = await remoteFetch({ root, totalBytes, objects: int('objects', 10000), rounds: int('rounds', 3), log });
  }
  writeSection({ id: name, body: body.replace(/\n/, `\n${note}`) }, ORDER);
  log(`${name}: written to ${path.relative(process.cwd(), 'docs/benchmarks.md')}`);
}
