/**
 * smidr.yaml's `artifacts:`: file name patterns selecting files of the deploy directory, for the
 * `artifacts` output and, when the upload-artifacts input asks, a workflow artifact.
 */
import * as path from 'node:path';

import { DefaultArtifactClient } from '@actions/artifact';

import { errorMessage } from '../util/errors.js';
import { walk } from '../util/fs.js';
import { log } from '../util/log.js';

/**
 * A pattern as a test on a path relative to the deploy directory: `*` and `?` stay within one
 * directory, `[…]` is a character class. A pattern without `/` matches a file's name at any depth
 * (`*.wic` finds images/<machine>/x.wic), one with `/` the whole relative path.
 */
export function artifactMatcher(pattern: string): (rel: string) => boolean {
  const body = pattern.replace(/[.+^${}()|\\]|\*|\?/g, (c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : `\\${c}`));
  const re = new RegExp(`^${body}$`);
  return pattern.includes('/') ? (rel) => re.test(rel) : (rel) => re.test(path.posix.basename(rel));
}

/** Files (and symlinks to files, as deploy/images holds) under deployDir matching any pattern, sorted. */
export function selectArtifacts(deployDir: string, patterns: readonly string[]): string[] {
  if (patterns.length === 0) return [];
  const tests = patterns.map(artifactMatcher);
  const out: string[] = [];
  walk(deployDir, ({ rel, dirent }) => {
    if (dirent.isDirectory()) return;
    if (tests.some((t) => t(rel))) out.push(path.join(deployDir, rel));
  });
  return out.sort();
}

/** Uploads the files as one workflow artifact; a failed upload is a warning, never a failed build. */
export async function uploadArtifacts(name: string, files: string[], deployDir: string): Promise<void> {
  if (files.length === 0) {
    log.warning(`artifacts: no file in ${deployDir} matches the patterns; nothing uploaded`);
    return;
  }
  try {
    const { id, size } = await new DefaultArtifactClient().uploadArtifact(name, files, deployDir);
    log.info(`Uploaded ${files.length} files as the artifact ${name} (id ${id}, ${size ?? '?'} bytes)`);
  } catch (e) {
    log.warning(`could not upload the artifact ${name}: ${errorMessage(e)}`);
  }
}
