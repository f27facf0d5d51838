/**
 * The artifact service beside cache v2 (@actions/artifact 6.x): twirp JSON on
 * `POST /twirp/github.actions.results.api.v1.ArtifactService/<Method>`, proto field names
 * (`workflow_run_backend_id`, `signed_upload_url`, `size` and `database_id` as int64 strings).
 * The client uploads the zip to the signed URL through the Azure SDK (Put Block + Put Block List)
 * and finalizes with the size it sent; the blob lives in the same Azurite as cache archives.
 * Artifacts belong to the run and job named in the token's `scp` claim (token.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ServiceContext } from './context.js';
import { sendJson } from './http-util.js';
import { readTwirpBody, stringField, twirpError } from './twirp.js';

export const ARTIFACT_TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.ArtifactService/';

export const ARTIFACT_METHODS = [
  'CreateArtifact',
  'FinalizeArtifact',
  'ListArtifacts',
  'GetSignedArtifactURL',
] as const;
export type ArtifactMethod = (typeof ARTIFACT_METHODS)[number];

export function isArtifactMethod(name: string): name is ArtifactMethod {
  return (ARTIFACT_METHODS as readonly string[]).includes(name);
}

/** One artifact as the service keeps it; `location` is its blob in Azurite. */
export interface StoredArtifact {
  id: number;
  runId: string;
  jobId: string;
  name: string;
  location: string;
  mimeType?: string;
  sizeBytes: number;
  /** `sha256:<hex>`, as the client finalizes it. */
  digest?: string;
  createdAt: Date;
  finalized: boolean;
}

export class ArtifactStore {
  private readonly list: StoredArtifact[] = [];
  private nextId = 1;

  create(runId: string, jobId: string, name: string, mimeType?: string): StoredArtifact | undefined {
    if (this.list.some((a) => a.runId === runId && a.name === name)) return undefined;
    const id = this.nextId++;
    const artifact: StoredArtifact = {
      id,
      runId,
      jobId,
      name,
      location: `artifacts/${id}/${name}.zip`,
      ...(mimeType !== undefined && { mimeType }),
      sizeBytes: 0,
      createdAt: new Date(),
      finalized: false,
    };
    this.list.push(artifact);
    return artifact;
  }

  find(runId: string, name: string): StoredArtifact | undefined {
    return this.list.find((a) => a.runId === runId && a.name === name);
  }

  /** Finalized artifacts of a run, oldest first. */
  ofRun(runId: string): StoredArtifact[] {
    return this.list.filter((a) => a.runId === runId && a.finalized);
  }

  all(): StoredArtifact[] {
    return [...this.list];
  }
}

/** A protobuf wrapper (StringValue, Int64Value) in JSON is the bare value. */
function wrapped(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export async function handleArtifactTwirp(
  ctx: ServiceContext,
  artifacts: ArtifactStore,
  req: IncomingMessage,
  res: ServerResponse,
  method: ArtifactMethod,
): Promise<void> {
  const azurite = ctx.azurite;
  if (!azurite) throw new Error('the artifact service needs blob storage (protocol v2)');
  const body = await readTwirpBody(req, res);
  if (!body) return;
  const runId = stringField(body, 'workflow_run_backend_id');
  const jobId = stringField(body, 'workflow_job_run_backend_id');
  if (!runId || !jobId) return twirpError(res, 'invalid_argument', 'workflow run and job backend ids are required');
  const name = stringField(body, 'name');

  switch (method) {
    case 'CreateArtifact': {
      if (!name) return twirpError(res, 'invalid_argument', 'name is required');
      const created = artifacts.create(runId, jobId, name, wrapped(body, 'mime_type'));
      if (!created) return twirpError(res, 'already_exists', `an artifact named ${name} already exists in this run`);
      return sendJson(res, 200, {
        ok: true,
        signed_upload_url: ctx.blobUrl(created.location, azurite.sas(created.location, 'cw')),
      });
    }
    case 'FinalizeArtifact': {
      const artifact = artifacts.find(runId, name);
      if (!artifact || artifact.finalized) return twirpError(res, 'not_found', `no artifact ${name} is being uploaded`);
      const declared = Number(body['size'] ?? 0);
      const stored = await azurite.blobSize(artifact.location);
      if (stored === undefined) return twirpError(res, 'failed_precondition', 'the artifact was not uploaded');
      if (stored !== declared)
        return twirpError(
          res,
          'invalid_argument',
          `size mismatch: uploaded ${stored} bytes, finalized with ${declared}`,
        );
      artifact.sizeBytes = stored;
      const digest = wrapped(body, 'hash');
      if (digest !== undefined) artifact.digest = digest;
      artifact.finalized = true;
      return sendJson(res, 200, { ok: true, artifact_id: String(artifact.id) });
    }
    case 'ListArtifacts': {
      const byName = wrapped(body, 'name_filter');
      const byId = wrapped(body, 'id_filter');
      const found = artifacts
        .ofRun(runId)
        .filter((a) => (byName === undefined || a.name === byName) && (byId === undefined || String(a.id) === byId));
      return sendJson(res, 200, {
        artifacts: found.map((a) => ({
          workflow_run_backend_id: a.runId,
          workflow_job_run_backend_id: a.jobId,
          database_id: String(a.id),
          name: a.name,
          size: String(a.sizeBytes),
          created_at: a.createdAt.toISOString(),
          ...(a.digest !== undefined && { digest: a.digest }),
        })),
      });
    }
    case 'GetSignedArtifactURL': {
      const artifact = artifacts.find(runId, name);
      if (!artifact?.finalized) return twirpError(res, 'not_found', `no artifact named ${name}`);
      return sendJson(res, 200, { signed_url: ctx.blobUrl(artifact.location, azurite.sas(artifact.location, 'r')) });
    }
  }
}
