/**
 * Where the remote cache keeps things in its bucket, and the settings that reach it. Pure: no
 * client, no network. Keys are the objects' own relative paths under a fixed folder per kind, so
 * a key names its content (an sstate name carries the task's unihash; a download's name is its
 * version, checked against SRC_URI's checksum by whoever fetches it) and two runners saving the
 * same object write the same thing.
 */
import { ConfigError } from '../../util/errors.js';

export interface RemoteSettings {
  /** The URL as given, `s3://bucket/prefix`, for messages. */
  url: string;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  /** For stores other than AWS S3 (MinIO, Ceph RGW, R2, GCS interop). */
  endpoint?: string;
  region?: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`: MinIO and most self-hosted stores. */
  pathStyle: boolean;
}

/** The folders of the bucket, below the prefix. */
export const REMOTE_FOLDERS = { sstate: 'sstate-cache/', downloads: 'downloads/', usage: 'usage/' } as const;
export type RemoteKind = 'sstate' | 'downloads';

/** S3 bucket names (the DNS-compatible rules every S3-compatible store accepts). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket[/prefix]`: the bucket and a prefix that ends in '/' (or is empty). */
export function parseBucketUrl(url: string, where: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  if (!m) throw new ConfigError(`${where}: "${url}" is not a bucket URL; expected s3://bucket/prefix`);
  const bucket = m[1]!;
  if (!BUCKET.test(bucket))
    throw new ConfigError(
      `${where}: "${bucket}" is not a bucket name; expected 3-63 lower-case letters, digits, dots and hyphens`,
    );
  const parts = (m[2] ?? '').split('/').filter(Boolean);
  if (parts.some((p) => p === '.' || p === '..'))
    throw new ConfigError(`${where}: the prefix of "${url}" may not contain . or .. segments`);
  return { bucket, prefix: parts.length ? `${parts.join('/')}/` : '' };
}

/**
 * A path as BitBake or the endpoint names it, relative and '/'-separated, or undefined when it
 * could leave its folder or is not a plain relative path.
 */
export function safeRelPath(rel: string): string | undefined {
  if (!rel || rel.startsWith('/') || rel.includes('\\') || rel.includes('\0')) return undefined;
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return rel;
}

export function objectKey(s: Pick<RemoteSettings, 'prefix'>, kind: RemoteKind, rel: string): string {
  return `${s.prefix}${REMOTE_FOLDERS[kind]}${rel}`;
}

/** The kind and relative path of a key, or undefined for a key outside the two folders. */
export function parseObjectKey(
  s: Pick<RemoteSettings, 'prefix'>,
  key: string,
): { kind: RemoteKind; rel: string } | undefined {
  if (!key.startsWith(s.prefix)) return undefined;
  const rest = key.slice(s.prefix.length);
  for (const kind of ['sstate', 'downloads'] as const) {
    if (rest.startsWith(REMOTE_FOLDERS[kind])) {
      const rel = safeRelPath(rest.slice(REMOTE_FOLDERS[kind].length));
      return rel ? { kind, rel } : undefined;
    }
  }
  return undefined;
}

/** Key of one build's usage record: the day first, so cleanup lists only the days it needs. */
export function usageKey(s: Pick<RemoteSettings, 'prefix'>, day: string, buildId: string): string {
  return `${s.prefix}${REMOTE_FOLDERS.usage}${day}/${buildId}.json`;
}

/** The day of a usage key (`YYYY-MM-DD`), or undefined. */
export function usageDay(s: Pick<RemoteSettings, 'prefix'>, key: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})\//.exec(key.slice(s.prefix.length + REMOTE_FOLDERS.usage.length));
  return key.startsWith(`${s.prefix}${REMOTE_FOLDERS.usage}`) && m ? m[1] : undefined;
}
