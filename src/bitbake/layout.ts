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
} as const;

/** The action's own files in the build directory: the build user's HOME and the script that starts BitBake. */
const OWN_DIR = '.smidr';

/** The host side of one build: its layer checkouts, build directory (TOPDIR) and cache directories. */
export interface HostDirs {
  layers: { name: string; dir: string }[];
  buildDir: string;
  caches: CacheDirs;
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
      ]
    : [];
  return {
    build: seen.build,
    downloads: seen.downloads,
    sstate: seen.sstate,
    hashserv: seen.hashserv,
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

/** The BitBake layer directories (BBLAYERS) and cache paths the conf files name. */
export function confPaths(layout: BitbakeLayout, layers: { name: string; sublayers: string[] }[]): BitbakePaths {
  const sub = (root: string, s: string) => (s === '.' ? root : `${root}/${s}`);
  return {
    topdir: layout.build,
    downloads: layout.downloads,
    sstate: layout.sstate,
    hashserv: layout.hashserv,
    layers: layers.flatMap((l) => l.sublayers.map((s) => sub(layout.layer(l.name), s))),
  };
}
