/**
 * Paths BitBake prints are the paths it sees: inside the container (`/smidr/...`), or the host's
 * with `container-engine: none`. The report needs them as host paths (to read a task log) and as
 * paths relative to the repository under test (to annotate a file on the pull request's diff).
 */
import * as path from 'node:path';

import type { ResolvedLayer } from '../bitbake/layers.js';
import { bitbakeLayout } from '../bitbake/layout.js';

export interface PathMapper {
  /** The host path of a path BitBake printed. */
  toHost(printed: string): string;
  /** The printed path relative to the repository under test, or undefined when it lies outside. */
  toRepo(printed: string): string | undefined;
}

export interface PathMapInput {
  layers: Pick<ResolvedLayer, 'name' | 'kind' | 'dir'>[];
  buildDir: string;
  caches: { downloads: string; sstate: string; hashserv: string };
  /** The build's own directory under directories.tmp, when TMPDIR lives there. */
  tmpRoot?: string;
  inContainer: boolean;
  /** The checked-out repository (GITHUB_WORKSPACE). */
  repository: string;
}

export function pathMapper(m: PathMapInput): PathMapper {
  // Longest first, so /smidr/layers/a-b is not taken for /smidr/layers/a.
  const binds = bitbakeLayout(m, m.inContainer).binds.sort((a, b) => b.seen.length - a.seen.length);
  const toHost = (printed: string): string => {
    const p = path.posix.normalize(printed);
    for (const { seen, host } of binds) {
      if (p === seen || p.startsWith(`${seen}/`)) return path.join(host, p.slice(seen.length));
    }
    return p;
  };
  // Only files of a path layer are the repository's: a git layer is someone else's checkout.
  const repoLayers = m.layers.filter((l) => l.kind === 'path').map((l) => l.dir);
  const toRepo = (printed: string): string | undefined => {
    const host = toHost(printed);
    if (!repoLayers.some((d) => host === d || host.startsWith(`${d}/`))) return undefined;
    const rel = path.relative(m.repository, host);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : undefined;
  };
  return { toHost, toRepo };
}
