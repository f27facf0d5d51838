/** DL_DIR as files: what counts as a completed download, and what never enters an archive. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** BitBake's fetcher writes `<file>` and then `<file>.done`: the stamp is the proof of a whole file. */
export async function downloadNames(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  return entries.filter((e) => e.endsWith('.done')).sort();
}

/** Lock files anywhere, and top-level files without their `.done` stamp (interrupted downloads). */
export async function removeUnarchivableDownloads(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = new Set(entries.map((e) => e.name));
  for (const e of entries) {
    const partial = e.isFile() && !e.name.endsWith('.done') && !names.has(`${e.name}.done`);
    if (e.name.endsWith('.lock') || partial) {
      await fs.rm(path.join(dir, e.name), { recursive: true, force: true });
      removed.push(e.name);
    }
  }
  async function locksBelow(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) await locksBelow(r);
      else if (e.name.endsWith('.lock')) {
        await fs.rm(path.join(dir, r), { force: true });
        removed.push(r);
      }
    }
  }
  for (const e of entries) if (e.isDirectory()) await locksBelow(e.name);
  return removed;
}
