/**
 * The bucket, through the official AWS SDK. Credentials come from the SDK's standard chain
 * (environment, shared profile, web identity / OIDC, instance or container roles): the action
 * never reads, stores or passes them on. Nothing here logs a request's signature or headers.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';

import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import type { RemoteSettings } from './location.js';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** What the endpoint, the upload and the cleanup need of a bucket; tests may give their own. */
export interface ObjectStore {
  /** The object's body, or undefined when there is none. Throws when the store fails. */
  get(key: string): Promise<{ body: Readable; size?: number } | undefined>;
  head(key: string): Promise<StoredObject | undefined>;
  /** Visible under `key` only once whole: S3 publishes a PUT or a multipart upload at its end. */
  putFile(key: string, file: string): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  list(prefix: string): AsyncIterable<StoredObject>;
  delete(keys: string[]): Promise<void>;
  close(): void;
}

/** Parts above this size go up as a multipart upload, four parts at a time. */
const PART_BYTES = 16 * 1024 * 1024;

export function s3Client(s: RemoteSettings): S3Client {
  return new S3Client({
    region: s.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: s.endpoint,
    forcePathStyle: s.pathStyle,
    // A store that does not answer is a store that is down: the build must not wait minutes for it.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    maxAttempts: 3,
    // Checksums only where S3 demands them: the SDK's default trailing checksums (aws-chunked
    // bodies) are not understood by every S3-compatible store, and each object's name already
    // says what it holds.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function notFound(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === 'NoSuchKey');
}

export class S3Store implements ObjectStore {
  constructor(
    private readonly settings: RemoteSettings,
    private readonly client: S3Client = s3Client(settings),
  ) {}

  async get(key: string): Promise<{ body: Readable; size?: number } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return { body: out.Body as Readable, size: out.ContentLength };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async putFile(key: string, file: string): Promise<void> {
    const { size } = await fs.stat(file);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: key, Body: createReadStream(file), ContentLength: size },
      partSize: PART_BYTES,
      queueSize: 4,
      // A failed multipart upload is aborted, so no parts are left behind to be billed.
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async putText(key: string, text: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: text, ContentType: 'application/json' }),
    );
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? [])
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: string[]): Promise<void> {
    // DeleteObjects takes at most 1000 keys.
    for (let i = 0; i < keys.length; i += 1000) {
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.settings.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0)
        throw new Error(`could not delete ${failed.length} objects, e.g. ${failed[0]!.Key}: ${failed[0]!.Message}`);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
