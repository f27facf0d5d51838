/**
 * ACTIONS_RUNTIME_TOKEN as the cache services see it: a JWT whose `ac` claim is a JSON string
 * listing the refs the job may use, e.g. `[{"Scope":"refs/heads/main","Permission":3}]`
 * (Permission bits: 1 read, 2 write). The first writable scope is where entries are saved; lookups
 * search the readable scopes in order. A pull request's token lists its merge ref first, then the
 * base branch read-only, so a PR restores its base branch's entries but never writes them.
 *
 * Tokens made here are unsigned; the loopback service never checks signatures.
 */
import type { ScopeGrant, ScopePermission } from './types.js';

const PERMISSION_BITS: Record<ScopePermission, number> = { read: 1, write: 2, readwrite: 3 };

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** `main` → `refs/heads/main`; refs pass through. */
export function toRef(branchOrRef: string): string {
  return branchOrRef.startsWith('refs/') ? branchOrRef : `refs/heads/${branchOrRef}`;
}

/**
 * The run and job the artifact service files artifacts under: @actions/artifact reads them from
 * the token's `scp` claim (`Actions.Results:<run backend id>:<job backend id>`).
 */
export const RESULTS_BACKEND_IDS = { run: 'run-backend-1000', job: 'job-backend-build' } as const;

/** A runtime token granting `scopes`, in order. */
export function runtimeToken(scopes: readonly ScopeGrant[]): string {
  const ac = JSON.stringify(scopes.map((s) => ({ Scope: s.scope, Permission: PERMISSION_BITS[s.permission] })));
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const scp = `Actions.Results:${RESULTS_BACKEND_IDS.run}:${RESULTS_BACKEND_IDS.job}`;
  const payload = base64url(JSON.stringify({ ac, iat: now, exp: now + 6 * 3600, scp }));
  return `${header}.${payload}.${base64url('unsigned')}`;
}

/** Scopes of a `push` run on `ref`: read/write there, plus read on the default branch. */
export function pushScopes(ref: string, defaultBranch = 'main'): ScopeGrant[] {
  const own = toRef(ref);
  const def = toRef(defaultBranch);
  const scopes: ScopeGrant[] = [{ scope: own, permission: 'readwrite' }];
  if (def !== own) scopes.push({ scope: def, permission: 'read' });
  return scopes;
}

/** Scopes of a `pull_request` run: its merge ref read/write, the base and default branches read-only. */
export function pullRequestScopes(pr: number, baseBranch: string, defaultBranch = 'main'): ScopeGrant[] {
  const scopes: ScopeGrant[] = [{ scope: `refs/pull/${pr}/merge`, permission: 'readwrite' }];
  for (const ref of [toRef(baseBranch), toRef(defaultBranch)]) {
    if (!scopes.some((s) => s.scope === ref)) scopes.push({ scope: ref, permission: 'read' });
  }
  return scopes;
}

function permissionFromBits(bits: number): ScopePermission | undefined {
  if ((bits & 3) === 3) return 'readwrite';
  if (bits & 1) return 'read';
  if (bits & 2) return 'write';
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The scopes a token grants, or undefined when it is not a JWT with a well-formed `ac` claim. */
export function scopesFromToken(token: string): ScopeGrant[] | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!isRecord(claims) || typeof claims['ac'] !== 'string') return undefined;
    const ac: unknown = JSON.parse(claims['ac']);
    if (!Array.isArray(ac)) return undefined;
    const scopes: ScopeGrant[] = [];
    for (const item of ac) {
      if (!isRecord(item) || typeof item['Scope'] !== 'string' || typeof item['Permission'] !== 'number') continue;
      const permission = permissionFromBits(item['Permission']);
      if (permission) scopes.push({ scope: item['Scope'], permission });
    }
    return scopes;
  } catch {
    return undefined;
  }
}

export function canRead(grant: ScopeGrant): boolean {
  return grant.permission === 'read' || grant.permission === 'readwrite';
}

export function canWrite(grant: ScopeGrant): boolean {
  return grant.permission === 'write' || grant.permission === 'readwrite';
}
