/** State the protocol handlers share. */
import type { IncomingMessage } from 'node:http';

import type { Azurite } from './azurite.js';
import { bearerToken, type DownloadFault } from './http-util.js';
import type { EntryStore, StoredEntry } from './store.js';
import { canRead, canWrite, scopesFromToken } from './token.js';
import type { ActionsPermission, CallName, FaultPlan, ScopeGrant } from './types.js';

export interface ServiceContext {
  readonly store: EntryStore;
  readonly defaultScopes: readonly ScopeGrant[];
  /** Where v1 archives live. */
  readonly archiveDir: string;
  /** v2 only. */
  readonly azurite: Azurite | undefined;
  faults(): FaultPlan;
  /** `http://127.0.0.1:<port>/` */
  baseUrl(): string;
  /** The signed URL of a v2 blob, in the configured host style. */
  blobUrl(blobName: string, sas: string): string;
  count(name: CallName): void;
  /** `owner/name` of the repository the REST endpoints serve. */
  readonly repository: string;
  /** What a REST token handed out by `githubToken` may do; undefined for any other token. */
  restPermission(token: string): ActionsPermission | undefined;
  /** Deletes an entry and its archive. */
  removeEntry(entry: StoredEntry): Promise<void>;
}

export interface RequestScopes {
  /** Readable scopes, in search order. */
  read: string[];
  /** Where a new entry goes: the first writable scope. */
  write: string | undefined;
}

export function requestScopes(ctx: ServiceContext, req: IncomingMessage): RequestScopes {
  const token = bearerToken(req) ?? '';
  const grants = scopesFromToken(token) ?? ctx.defaultScopes;
  const plan = ctx.faults();
  return {
    read: plan.readDenied ? [] : grants.filter(canRead).map((g) => g.scope),
    write: plan.writeDenied ? undefined : grants.find(canWrite)?.scope,
  };
}

export function downloadFault(plan: FaultPlan): DownloadFault | undefined {
  if (plan.truncateDownload) return 'truncate';
  if (plan.corruptDownload) return 'corrupt';
  if (plan.stallDownload) return 'stall';
  return undefined;
}

export const WRITE_DENIED_MESSAGE = 'cache write denied: token has no writable scopes';
export const READ_DENIED_MESSAGE = 'cache read denied: token has no readable scopes';
/** The client turns any error whose message contains `insufficient usage` into its UsageError. */
export const QUOTA_MESSAGE =
  'insufficient usage to create cache entry: the repository cache storage quota is exhausted';
