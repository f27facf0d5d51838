/** `smidr clean-remote`: removes objects of a remote cache that no build used for N days. */
import { parseArgs } from 'node:util';

import { parsePositive, remoteSettings } from '../action/inputs.js';
import { cleanBucket } from '../cache/remote/cleanup.js';
import { S3Store } from '../cache/remote/store.js';
import { ConfigError } from '../util/errors.js';
import { formatBytes } from '../util/format.js';

export const CLEAN_REMOTE_USAGE = `smidr clean-remote: removes objects of a remote cache that no build used for N days
      --remote URL           the bucket and prefix, s3://bucket/prefix
      --days N               remove objects unused for N days (default: 30)
      --dry-run              list what would be removed, remove nothing
      --endpoint URL         S3-compatible store (MinIO, Ceph RGW, R2); default: AWS S3
      --region NAME          region (default: AWS_REGION, else us-east-1)
      --path-style           path-style addressing (default with --endpoint)
  Credentials: the AWS SDK's standard sources (environment, profile, web identity).
`;

export async function cleanRemote(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      remote: { type: 'string' },
      days: { type: 'string', default: '30' },
      'dry-run': { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'path-style': { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.remote) throw new ConfigError('--remote is required: the bucket and prefix, e.g. s3://my-bucket/yocto');
  const settings = remoteSettings({
    url: values.remote,
    endpoint: values.endpoint,
    region: values.region,
    pathStyle: values['path-style'],
    where: { url: '--remote', endpoint: '--endpoint' },
  });
  const days = parsePositive(values.days, '--days', 'days', 30);
  const dryRun = values['dry-run'];
  const store = new S3Store(settings);
  try {
    const plan = await cleanBucket(store, settings, days, dryRun);
    for (const o of plan.remove) console.log(`${dryRun ? 'would remove' : 'removed'} ${o.key}`);
    console.log(
      `${dryRun ? 'Would remove' : 'Removed'} ${plan.remove.length} objects (${formatBytes(plan.removeBytes)}) unused for ${days} days and ${plan.oldRecords.length} old usage records; ${plan.keep} objects kept`,
    );
  } finally {
    store.close();
  }
  return 0;
}
