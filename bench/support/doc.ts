/**
 * docs/benchmarks.md: each benchmark owns one section between markers and replaces only that, so
 * a benchmark run alone, or sections others add (real-BitBake figures), are kept.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT } from '../../test/support/run-action.js';

export const DOC = path.join(REPO_ROOT, 'docs', 'benchmarks.md');

const HEADER = `# Benchmarks

Measured with \`npm run bench\` (\`./scripts/bench.sh\`; one benchmark alone:
\`./scripts/bench.sh roundtrip|warm|growth\`, see [bench/README.md](../bench/README.md)). Every figure is
a median over several runs, and every comparison is against a baseline measured in the same run,
interleaved with it, so load on the machine hits both. Each section names the machine, its load and
the date it was measured on. Nothing here is asserted by the test suite.

Each benchmark writes its own section between \`<!-- bench:<name>:start -->\` and
\`<!-- bench:<name>:end -->\` and replaces only that on its next run; everything outside the markers
is kept, so sections measured otherwise (real BitBake, say) go after the last marker.
`;

/** When a section was measured, to the second, as every section's header shows it. */
export function measuredAt(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Cores, memory, the disk under \`dir\`, Node, kernel, and the load when measured. */
export function describeMachine(dir: string): string {
  const cpus = os.cpus();
  let disk: string;
  try {
    const [, line] = execFileSync('df', ['-hT', dir], { encoding: 'utf8' }).trim().split('\n');
    const [dev, fs, size, , avail] = line!.split(/\s+/);
    const block = path.basename(dev!).replace(/\d+$/, '');
    const rot = readFileSync(`/sys/block/${block}/queue/rotational`, 'utf8').trim();
    // A virtual disk (virtio) often reports rotational whatever backs it: say what the kernel says.
    disk = `${dev} (${fs}, ${size}, ${avail} free, kernel's rotational flag ${rot})`;
  } catch {
    disk = 'unknown';
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return [
    `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `disk ${disk}`,
    `Node ${process.version}, Linux ${os.release()}`,
    `load average at the start ${load}`,
  ].join('; ');
}

export interface Section {
  /** Marker id, e.g. `roundtrip`. */
  id: string;
  /** Markdown, starting with its own `##` heading. */
  body: string;
}

/** Writes the section into docs/benchmarks.md, in place of its previous version or at the end of ours. */
export function writeSection(s: Section, order: string[]): void {
  const start = `<!-- bench:${s.id}:start -->`;
  const end = `<!-- bench:${s.id}:end -->`;
  const block = `${start}\n${s.body.trim()}\n${end}`;
  let text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : HEADER;
  const at = text.indexOf(start);
  if (at >= 0) {
    text = text.slice(0, at) + block + text.slice(text.indexOf(end, at) + end.length);
  } else {
    // Keep the sections in `order`: after the one before it, else before the one after it, else last.
    const before = order
      .slice(0, order.indexOf(s.id))
      .reverse()
      .map((id) => `<!-- bench:${id}:end -->`)
      .find((m) => text.includes(m));
    const after = order
      .slice(order.indexOf(s.id) + 1)
      .map((id) => `<!-- bench:${id}:start -->`)
      .find((m) => text.includes(m));
    const pos = before ? text.indexOf(before) + before.length : after ? text.indexOf(after) : text.length;
    text = `${text.slice(0, pos).trimEnd()}\n\n${block}\n\n${text.slice(pos).trimStart()}`;
  }
  writeFileSync(DOC, `${text.trimEnd()}\n`);
}
