/** Medians, ratios and the units the benchmark tables print. */

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

export function seconds(s: number): string {
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

export function mib(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

export function ratio(x: number, base: number): string {
  return `${(x / base).toFixed(2)}x`;
}

export function throughput(bytes: number, s: number): string {
  return `${(bytes / MiB / s).toFixed(0)} MiB/s`;
}

/** A Markdown table; the first row is the header. */
export function table(rows: string[][]): string {
  const [head, ...body] = rows;
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(head!), line(head!.map(() => '---')), ...body.map(line)].join('\n');
}

/** Parses sizes like 300M, 3G, 3000000. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: '${text}' (write e.g. 300M or 3G)`);
  return Math.round(Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase()));
}

/** The middle half of a sample, from its first quartile to its third, as `lo–hi` in `format`. */
export function middleHalf(xs: number[], format: (x: number) => string): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.round(q * (s.length - 1)))]!;
  return `${format(at(0.25))}–${format(at(0.75))}`;
}
