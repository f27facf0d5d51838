/**
 * The paths BitBake sees, and the host directory behind each. In the container every directory
 * has a fixed path (docs/architecture.md, "Paths BitBake sees"), so a conf file never holds a host
 * path and the same conf works on every host; with `container-engine: none` BitBake sees the
 * host's own paths. The conf files, the container's mounts and environment, and the report's
 * reading back of printed paths all ask this one function.
 */
import * as path from 'node:path';

import type { BitbakePaths } from './conf.js';
import type { CacheDirs } from './workspace.js';

const IN_CONTAINER = {
  layers: '/smidr/layers',
  build: '/smidr/build',
  downloads: '/smidr/downloads',
  sstate: '/smidr/sstate',
  hashserv: '/smidr/hashserv',
  tmpRoot: '/smidr/tmpdir',
} as const;

/** The action's own files in the build directory: the build user's HOME and the script that starts BitBake. */
const OWN_DIR = '.smidr';

/** The host side of one build: its layer checkouts, build directory (TOPDIR) and cache directories. */
export interface HostDirs {
  layers: { name: string; dir: string }[];
  buildDir: string;
  caches: CacheDirs;
  /**
   * The build's own directory under smidr.yaml's directories.tmp, holding its TMPDIR; unset: the
   * build directory holds it. TMPDIR is `<this>/tmp`, not the directory itself, so that a libc
   * suffix (scarthgap's `tmp-glibc`) still lands inside what the container mounts.
   */
  tmpRoot?: string;
}

/** A directory as BitBake sees it, and where it is on the host. */
export interface Bind {
  seen: string;
  host: string;
  readonly: boolean;
}

export interface BitbakeLayout {
  /** TOPDIR. */
  build: string;
  downloads: string;
  sstate: string;
  hashserv: string;
  /** TMPDIR: one per build, under the build directory or the build's own directory under directories.tmp. */
  tmpdir: string;
  /** The root of a layer checkout, by layer name. */
  layer(name: string): string;
  /** The build user's HOME. */
  home: string;
  /** The fixed script that sets up BitBake's environment and runs it (RUN_BITBAKE_SH). */
  script: string;
  /** What the container mounts; none when BitBake runs on the host. */
  binds: Bind[];
}

export function bitbakeLayout(dirs: HostDirs, inContainer: boolean): BitbakeLayout {
  const seen = inContainer
    ? { ...IN_CONTAINER, layer: (name: string) => `${IN_CONTAINER.layers}/${name}` }
    : { ...dirs.caches, build: dirs.buildDir, layer: (name: string) => layerDir(dirs, name) };
  const binds: Bind[] = inContainer
    ? [
        ...dirs.layers.map((l) => ({ seen: seen.layer(l.name), host: l.dir, readonly: true })),
        { seen: seen.build, host: dirs.buildDir, readonly: false },
        { seen: seen.downloads, host: dirs.caches.downloads, readonly: false },
        { seen: seen.sstate, host: dirs.caches.sstate, readonly: false },
        { seen: seen.hashserv, host: dirs.caches.hashserv, readonly: false },
        ...(dirs.tmpRoot ? [{ seen: IN_CONTAINER.tmpRoot, host: dirs.tmpRoot, readonly: false }] : []),
      ]
    : [];
  const tmpRoot = !dirs.tmpRoot ? seen.build : inContainer ? IN_CONTAINER.tmpRoot : dirs.tmpRoot;
  return {
    build: seen.build,
    downloads: seen.downloads,
    sstate: seen.sstate,
    hashserv: seen.hashserv,
    tmpdir: path.join(tmpRoot, 'tmp'),
    layer: seen.layer,
    home: path.join(seen.build, OWN_DIR, 'home'),
    script: path.join(seen.build, OWN_DIR, 'run-bitbake.sh'),
    binds,
  };
}

function layerDir(dirs: HostDirs, name: string): string {
  const layer = dirs.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`no layer named ${name}`);
  return layer.dir;
}

/** A layer checkout as BBLAYERS lists it: its sublayers, and kas include priorities of some. */
export interface BblayersEntry {
  name: string;
  sublayers: string[];
  /** Higher comes earlier in BBLAYERS. */
  priorities?: Record<string, number>;
}

/** The BitBake layer directories (BBLAYERS) and cache paths the conf files name. */
export function confPaths(layout: BitbakeLayout, layers: BblayersEntry[]): BitbakePaths {
  return {
    topdir: layout.build,
    tmpdir: layout.tmpdir,
    downloads: layout.downloads,
    sstate: layout.sstate,
    hashserv: layout.hashserv,
    layers: bblayersDirs(layers, (l) => layout.layer(l.name)),
  };
}

/**
 * The BBLAYERS entries, each layer's sublayers under the root BitBake sees it at. kas orders them
 * by priority (higher first) across repositories; without priorities the order is as listed.
 */
export function bblayersDirs<L extends BblayersEntry>(layers: L[], rootOf: (l: L) => string): string[] {
  const sub = (root: string, s: string) => (s === '.' ? root : `${root}/${s}`);
  return layers
    .flatMap((l) => l.sublayers.map((s) => ({ dir: sub(rootOf(l), s), prio: l.priorities?.[s] ?? 0 })))
    .sort((a, b) => b.prio - a.prio)
    .map((x) => x.dir);
}
