/** What a build left for the workflow: its deploy directory and the image files in it. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { readDirents } from '../util/fs.js';

/** TMPDIR may carry a libc suffix (scarthgap's tmp-glibc): take the deploy dir that exists. */
export function findDeployDir(buildDir: string): string {
  const tmpdirs = readDirents(buildDir)
    .filter((e) => /^tmp(-[A-Za-z0-9]+)?$/.test(e.name))
    .map((e) => e.name);
  const found = tmpdirs.find((t) => readDirents(path.join(buildDir, t)).some((e) => e.name === 'deploy'));
  return path.join(buildDir, found ?? 'tmp', 'deploy');
}

/**
 * smidr.yaml's directories.deploy: a copy of a finished build's deploy directory at
 * `<deploy>/<build id>`, so builds never overwrite each other's output. Links stay links
 * (deploy/images holds the `<image>-<machine>.ext4` → `…rootfs.ext4` ones). Returns the copy.
 */
export async function copyDeployDir(deployDir: string, into: string, buildId: string): Promise<string> {
  const copy = path.join(into, buildId);
  await fs.mkdir(into, { recursive: true });
  await fs.cp(deployDir, copy, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
  return copy;
}

/** The files (and links) BitBake deployed for the machine, sorted. */
export function listImages(dir: string): string[] {
  return readDirents(dir)
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(dir, e.name))
    .sort();
}
