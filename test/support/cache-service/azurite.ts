/**
 * Azurite (Microsoft's Azure Storage emulator, npm `azurite`) as a child process: blob service only,
 * on a free loopback port, data in a temp directory, telemetry off, one storage account with a
 * random key (AZURITE_ACCOUNTS) so SAS signatures are real and checked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';

export const AZURITE_ACCOUNT = 'smidrcache';
export const AZURITE_CONTAINER = 'actions-cache';

export interface Azurite {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  readonly account: string;
  readonly container: string;
  /** SAS query string (no `?`) for one blob. */
  sas(blobName: string, permissions: 'r' | 'cw', ttlSeconds?: number): string;
  /** Size of a committed blob, undefined when there is none. */
  blobSize(blobName: string): Promise<number | undefined>;
  readBlob(blobName: string): Promise<Buffer>;
  deleteBlob(blobName: string): Promise<void>;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;

function azuriteBlobMain(): string {
  return createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
}

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`Azurite did not start within ${STARTUP_TIMEOUT_MS} ms:\n${output}`)),
      STARTUP_TIMEOUT_MS,
    );
    const onData = (data: Buffer): void => {
      output += data.toString();
      const m = /successfully listens on (http:\/\/\S+)/.exec(output);
      if (m?.[1]) done(m[1]);
    };
    const onExit = (code: number | null): void =>
      fail(new Error(`Azurite exited (${code}) during startup:\n${output}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    }
    function done(origin: string): void {
      cleanup();
      resolve(origin);
    }
    function fail(error: Error): void {
      cleanup();
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startAzurite(location: string): Promise<Azurite> {
  const key = randomBytes(64).toString('base64');
  const child = spawn(
    process.execPath,
    [
      azuriteBlobMain(),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--location',
      location,
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AZURITE_ACCOUNTS: `${AZURITE_ACCOUNT}:${key}` } },
  );
  // A test process that dies without stop() must not leave Azurite behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let origin: string;
  try {
    origin = await waitForListening(child);
  } catch (error) {
    process.off('exit', killOnExit);
    await stopChild(child);
    throw error;
  }
  child.stdout?.resume();
  child.stderr?.resume();

  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, key);
  const container: ContainerClient = new BlobServiceClient(
    `${origin}/${AZURITE_ACCOUNT}`,
    credential,
  ).getContainerClient(AZURITE_CONTAINER);
  await container.createIfNotExists();

  return {
    origin,
    port: Number(new URL(origin).port),
    account: AZURITE_ACCOUNT,
    container: AZURITE_CONTAINER,
    sas(blobName, permissions, ttlSeconds = 3600) {
      return generateBlobSASQueryParameters(
        {
          containerName: AZURITE_CONTAINER,
          blobName,
          permissions: BlobSASPermissions.parse(permissions),
          startsOn: new Date(Date.now() - 60_000),
          expiresOn: new Date(Date.now() + ttlSeconds * 1000),
        },
        credential,
      ).toString();
    },
    async blobSize(blobName) {
      try {
        return (await container.getBlobClient(blobName).getProperties()).contentLength;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      }
    },
    async readBlob(blobName) {
      return container.getBlobClient(blobName).downloadToBuffer();
    },
    async deleteBlob(blobName) {
      await container.getBlobClient(blobName).deleteIfExists();
    },
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}
