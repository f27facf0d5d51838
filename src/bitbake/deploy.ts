/** What a build left for the workflow: its deploy directory and the image files in it. */
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

/** The files (and links) BitBake deployed for the machine, sorted. */
export function listImages(dir: string): string[] {
  return readDirents(dir)
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(dir, e.name))
    .sort();
}
