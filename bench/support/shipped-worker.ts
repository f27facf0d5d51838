import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { REPO_ROOT } from '../../test/support/run-action.js';

/**
 * The cache worker as it ships, dist/'s bundle, in place of lib/'s (tsc's output, which the
 * benchmarks import the step's cache code from): that one loads @actions/cache file by file from
 * node_modules, 20 MiB heavier and about half a second slower to start, a cost no runner pays.
 */
export async function useShippedWorker(): Promise<void> {
  await fs.copyFile(path.join(REPO_ROOT, 'dist', 'cache-worker.js'), path.join(REPO_ROOT, 'lib', 'cache-worker.js'));
}
