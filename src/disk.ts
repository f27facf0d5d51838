/** Free space on the file systems a build writes to. */
import { promises as fs } from 'node:fs';
import type { Workspace } from './workspace.js';

export interface FileSystemSpace {
  /** What the build keeps there, as users know it. */
  what: string;
  dir: string;
  freeBytes: number;
  totalBytes: number;
}

/** Below this a build cannot be expected to get through even one large task. */
export const NEARLY_FULL_BYTES = 64 * 1024 ** 2;

/** The build directory (TMPDIR) and the caches, each with the space of the file system holding it. */
export async function buildSpace(ws: Workspace): Promise<FileSystemSpace[]> {
  const dirs: [string, string][] = [
    ['the build directory', ws.buildDir],
    ['DL_DIR', ws.caches.downloads],
    ['SSTATE_DIR', ws.caches.sstate],
  ];
  const out: FileSystemSpace[] = [];
  for (const [what, dir] of dirs) {
    const st = await fs.statfs(dir).catch(() => undefined);
    if (st) out.push({ what, dir, freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize });
  }
  return out;
}
