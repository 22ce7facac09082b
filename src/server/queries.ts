// Read-only answers built from the pool: stats with the interpreter's identity,
// and a session's refs sorted by size (largest first) and paged.
//
// Listing refs asks the worker for every entry of the session (10,000 variables
// take seconds on a loaded machine), so the sorted listing is cached per session
// and reused by every page until the session's refs change: a pool 'refs' event,
// a run, a release, or the session's end invalidates it. Changes no event reports
// (TTL expiry in the worker) are bounded by a maximum age.
import type { Pool, RefInfo } from '../pool';
import type { PoolStatsPayload, RefInfoPayload, RefsResult } from '../protocol/lsp';

export const REFS_CACHE_MAX_AGE_MS = 5000;
const LIST_TIMEOUT_MS = 30_000;

export function statsPayload(pool: Pool): PoolStatsPayload {
  const s = pool.stats();
  return {
    size: pool.size,
    numWorkers: s.numWorkers,
    availableWorkers: s.availableWorkers,
    checkedOut: s.checkedOut,
    pendingRequests: s.pendingRequests,
    workers: s.workers.map(w => ({ pid: w.pid, state: w.state, owner: w.owner, rssBytes: w.rssBytes, startedAt: w.startedAt })),
    python: pool.python,
    pythonVersion: pool.pythonVersion,
    codec: pool.codec,
    shell: pool.shell,
    ipythonVersion: pool.ipythonVersion,
    shellNote: pool.shellNote,
  };
}

const toPayload = (r: RefInfo): RefInfoPayload => ({
  id: r.id, sessionId: r.sessionId, kind: r.kind, name: r.name, typeName: r.typeName, pythonModule: r.pythonModule,
  sizeBytes: r.sizeBytes, repr: r.repr, createdAt: r.createdAt, lastAccess: r.lastAccess, executionCount: r.executionCount,
});

interface Listing { version: number; at: number; refs: Promise<RefInfo[]> }

export class RefsCache {
  private readonly listings = new Map<string, Listing>();
  private readonly versions = new Map<string, number>();

  constructor(private readonly maxAgeMs = REFS_CACHE_MAX_AGE_MS) {}

  /** The session's refs changed: the next page lists them again. */
  invalidate(sessionId: string): void {
    this.versions.set(sessionId, (this.versions.get(sessionId) ?? 0) + 1);
    this.listings.delete(sessionId);
  }

  /** The session is over: drop everything kept for it. */
  forget(sessionId: string): void {
    this.listings.delete(sessionId);
    this.versions.delete(sessionId);
  }

  async page(pool: Pool, sessionId: string, offset = 0, limit?: number): Promise<RefsResult> {
    const all = await this.sorted(pool, sessionId);
    const start = Math.max(0, Math.floor(offset));
    const end = limit === undefined ? undefined : start + Math.max(0, Math.floor(limit));
    return { total: all.length, refs: all.slice(start, end).map(toPayload) };
  }

  private sorted(pool: Pool, sessionId: string): Promise<RefInfo[]> {
    const version = this.versions.get(sessionId) ?? 0;
    const hit = this.listings.get(sessionId);
    if (hit && hit.version === version && Date.now() - hit.at < this.maxAgeMs) return hit.refs;   // in flight: at = Infinity
    // Concurrent pages share one listing; a failed listing is not kept.
    const listing: Listing = { version, at: Infinity, refs: Promise.resolve([]) };
    // The age counts from when the listing arrived (a big one can take seconds).
    const refs = pool.refs(sessionId, { timeoutMs: LIST_TIMEOUT_MS }).then(list => {
      listing.at = Date.now();
      return list.sort((a, b) => b.sizeBytes - a.sizeBytes);
    });
    listing.refs = refs;
    this.listings.set(sessionId, listing);
    refs.catch(() => { if (this.listings.get(sessionId) === listing) this.listings.delete(sessionId); });
    return refs;
  }
}
