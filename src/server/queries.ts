// Read-only answers built from the pool: stats with the interpreter's identity,
// and a session's refs sorted by size (largest first) and paged.
import type { Pool, RefInfo } from '../pool';
import type { PoolStatsPayload, RefInfoPayload, RefsResult } from '../protocol/lsp';

export function statsPayload(pool: Pool): PoolStatsPayload {
  const s = pool.stats();
  return {
    numWorkers: s.numWorkers,
    availableWorkers: s.availableWorkers,
    checkedOut: s.checkedOut,
    pendingRequests: s.pendingRequests,
    workers: s.workers.map(w => ({ pid: w.pid, state: w.state, owner: w.owner, rssBytes: w.rssBytes, startedAt: w.startedAt })),
    python: pool.python,
    pythonVersion: pool.pythonVersion,
    codec: pool.codec,
  };
}

const toPayload = (r: RefInfo): RefInfoPayload => ({
  id: r.id, sessionId: r.sessionId, kind: r.kind, name: r.name, typeName: r.typeName, pythonModule: r.pythonModule,
  sizeBytes: r.sizeBytes, repr: r.repr, createdAt: r.createdAt, lastAccess: r.lastAccess, executionCount: r.executionCount,
});

export async function refsPage(pool: Pool, sessionId: string, offset = 0, limit?: number): Promise<RefsResult> {
  const all = (await pool.refs(sessionId)).sort((a, b) => b.sizeBytes - a.sizeBytes);
  const start = Math.max(0, Math.floor(offset));
  const end = limit === undefined ? undefined : start + Math.max(0, Math.floor(limit));
  return { total: all.length, refs: all.slice(start, end).map(toPayload) };
}
