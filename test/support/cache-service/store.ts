/** Cache entries and GitHub's lookup rules. */
import type { CacheEntry } from './types.js';

export interface StoredEntry extends CacheEntry {
  /** v2: blob name in the Azurite container. v1: archive file path. */
  location: string;
  /** v1: secret in the archive download URL. */
  secret: string;
}

/** Newest first: by creation time, then by id (ids grow with time). */
function newer(a: StoredEntry, b: StoredEntry): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id;
}

export class EntryStore {
  private readonly items: StoredEntry[] = [];
  private nextId = 1;

  /** `now`: the service's clock. */
  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Reserves a new entry, or returns undefined when key + version already exist in the scope. */
  reserve(
    key: string,
    version: string,
    scope: string,
    place: (id: number) => { location: string; secret: string },
  ): StoredEntry | undefined {
    if (this.items.some((e) => e.key === key && e.version === version && e.scope === scope)) return undefined;
    const id = this.nextId++;
    const now = this.now();
    const entry: StoredEntry = {
      id,
      key,
      version,
      scope,
      sizeBytes: 0,
      createdAt: now,
      lastAccessedAt: now,
      committed: false,
      ...place(id),
    };
    this.items.push(entry);
    return entry;
  }

  byId(id: number): StoredEntry | undefined {
    return this.items.find((e) => e.id === id);
  }

  pending(key: string, version: string, scope: string): StoredEntry | undefined {
    return this.items.find((e) => !e.committed && e.key === key && e.version === version && e.scope === scope);
  }

  /**
   * GitHub's lookup: in each readable scope in order, for the primary key and then each restore key,
   * an exact key match, else the newest entry whose key starts with it. Only committed entries of
   * exactly this version count. A hit counts as an access (the REST API's `last_accessed_at`).
   */
  lookup(scopes: readonly string[], keys: readonly string[], version: string): StoredEntry | undefined {
    for (const scope of scopes) {
      const candidates = this.items
        .filter((e) => e.committed && e.scope === scope && e.version === version)
        .sort(newer);
      for (const key of keys) {
        const hit = candidates.find((e) => e.key === key) ?? candidates.find((e) => e.key.startsWith(key));
        if (hit) {
          hit.lastAccessedAt = this.now();
          return hit;
        }
      }
    }
    return undefined;
  }

  /** Entries whose key starts with `prefix` in any scope/version (the v1 diagnostic listing). */
  withPrefix(prefix: string): StoredEntry[] {
    return this.items.filter((e) => e.committed && e.key.startsWith(prefix)).sort(newer);
  }

  all(): StoredEntry[] {
    return [...this.items].sort((a, b) => a.id - b.id);
  }

  remove(entry: StoredEntry): void {
    const index = this.items.indexOf(entry);
    if (index >= 0) this.items.splice(index, 1);
  }
}

export function publicView(entry: StoredEntry): CacheEntry {
  const { id, key, version, scope, sizeBytes, createdAt, lastAccessedAt, committed } = entry;
  return {
    id,
    key,
    version,
    scope,
    sizeBytes,
    createdAt: new Date(createdAt),
    lastAccessedAt: new Date(lastAccessedAt),
    committed,
  };
}
