/**
 * Saving to the bucket: what this build created, whole, once. Candidates are complete files only
 * (sstate archives BitBake renamed into place, with their `.siginfo`/`.sig`; downloads with their
 * `.done` stamp, which includes git mirror tarballs when BB_GENERATE_MIRROR_TARBALLS is set, never
 * a clone directory, a lock or a partial file). What the endpoint served, or what the bucket
 * already holds, is skipped; the rest goes up a few at a time, companions before their archive,
 * each under its final, content-addressed key, which S3 shows only once the upload is whole.
 */
import * as path from 'node:path';

import { errorMessage } from '../../util/errors.js';
import { lstatOrUndefined } from '../../util/fs.js';
import { downloadNames } from '../downloads.js';
import { listSstate } from '../sstate.js';
import { objectKey, type RemoteKind, type RemoteSettings } from './location.js';
import type { ObjectStore } from './store.js';

/** One thing to save: an sstate archive with its companions, or one download. */
export interface UploadCandidate {
  kind: RemoteKind;
  /** Files relative to the kind's directory, the main one last. */
  files: string[];
  bytes: number;
}

export interface UploadResult {
  uploaded: string[];
  uploadedBytes: number;
  /** Already in the bucket (served to this build, or saved by another). */
  present: string[];
  failed: number;
  firstError?: string;
  /** The time limit ran out before every candidate was tried. */
  timedOut: boolean;
}

/** After this many failed objects in a row the store counts as down. */
const FAILURES_UNTIL_GIVING_UP = 5;

const SSTATE_COMPANIONS = ['.siginfo', '.sig'];

/** Completed sstate objects and downloads under the two directories, in a stable order. */
export async function uploadCandidates(dirs: { sstate: string; downloads: string }): Promise<UploadCandidate[]> {
  const out: UploadCandidate[] = [];
  for (const o of await listSstate(dirs.sstate)) {
    // Fetch stamps and locks stay local: they are the fetcher's, not the object's.
    const companions = o.companions.filter((c) => SSTATE_COMPANIONS.some((suffix) => c === o.path + suffix));
    const files = [...companions, o.path];
    out.push({ kind: 'sstate', files, bytes: sizeOf(dirs.sstate, files) });
  }
  for (const stamp of await downloadNames(dirs.downloads)) {
    const rel = stamp.slice(0, -'.done'.length);
    // A stamped directory is a VCS clone: its mirror tarball, if any, is the mirrorable form.
    const st = lstatOrUndefined(path.join(dirs.downloads, rel));
    if (st?.isFile()) out.push({ kind: 'downloads', files: [rel], bytes: st.size });
  }
  return out;
}

function sizeOf(dir: string, files: string[]): number {
  return files.reduce((n, f) => n + (lstatOrUndefined(path.join(dir, f))?.size ?? 0), 0);
}

export interface UploadOptions {
  settings: RemoteSettings;
  store: ObjectStore;
  dirs: { sstate: string; downloads: string };
  /** `kind/rel` of what the endpoint served this build: the bucket has those. */
  served: ReadonlySet<string>;
  concurrency?: number;
  deadlineMs?: number;
}

export async function uploadNew(candidates: UploadCandidate[], o: UploadOptions): Promise<UploadResult> {
  const result: UploadResult = { uploaded: [], uploadedBytes: 0, present: [], failed: 0, timedOut: false };
  const queue = [...candidates];
  const dirOf = (kind: RemoteKind) => (kind === 'sstate' ? o.dirs.sstate : o.dirs.downloads);

  async function one(c: UploadCandidate): Promise<void> {
    const main = c.files.at(-1)!;
    const id = `${c.kind}/${main}`;
    if (o.served.has(id) || (await o.store.head(objectKey(o.settings, c.kind, main)))) {
      result.present.push(id);
      return;
    }
    // Companions first: a reader that finds the archive finds its signature too.
    for (const f of c.files) await o.store.putFile(objectKey(o.settings, c.kind, f), path.join(dirOf(c.kind), f));
    result.uploaded.push(id);
    result.uploadedBytes += c.bytes;
  }

  let failuresInRow = 0;
  async function worker(): Promise<void> {
    for (let c = queue.shift(); c; c = queue.shift()) {
      if (o.deadlineMs !== undefined && Date.now() > o.deadlineMs) {
        result.timedOut = true;
        return;
      }
      // A store that fails again and again is down: trying the rest only makes the job slower.
      if (failuresInRow >= FAILURES_UNTIL_GIVING_UP) {
        result.failed += 1;
        continue;
      }
      try {
        await one(c);
        failuresInRow = 0;
      } catch (e) {
        failuresInRow += 1;
        result.failed += 1;
        result.firstError ??= errorMessage(e);
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, () => worker()));
  result.uploaded.sort();
  result.present.sort();
  return result;
}
