/** Markdown for the job summary: tables, inline code and fences that text cannot break out of. */

/** A GFM table; cells are markdown, with pipes and line breaks made safe. */
export function table(header: string[], rows: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line), ''].join('\n');
}

/** Inline code that survives backticks in the text. */
export function code(text: string): string {
  const longest = longestBacktickRun(text);
  const ticks = '`'.repeat(longest + 1);
  return longest > 0 ? `${ticks} ${text} ${ticks}` : `${ticks}${text}${ticks}`;
}

/** A fenced block longer than any backtick run in the text, so a log cannot close it. */
export function fence(text: string): string {
  const ticks = '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
  return `${ticks}text\n${text}\n${ticks}`;
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
}

export function link(url: string): string {
  return /^https?:\/\//.test(url) ? `[${escapeText(url)}](${url.replace(/[()\s]/g, encodeURIComponent)})` : code(url);
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text from BitBake or a config as plain markdown text: no HTML, no emphasis, no links. */
export function escapeText(text: string): string {
  return escapeHtml(text).replace(/([\\`*_[\]#|])/g, '\\$1');
}
