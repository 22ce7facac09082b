// Refs on the Node side: recognising the wire handle (isRef), finding the refs
// inside request arguments (to route a call to the worker holding them), and
// converting the worker's RefInfo to the library's camelCase shape.
import { REF_SCHEMA, REF_TYPE, type WireRefInfo } from '../protocol/wire';
import type { Ref, RefInfo } from './types';

/** True for a well-formed ref handle `{__type__: 'ref', __schema__: 1, id, session_id, ...}`. */
export function isRef(x: unknown): x is Ref {
  if (x === null || typeof x !== 'object') return false;
  const r = x as Record<string, unknown>;
  return r.__type__ === REF_TYPE && r.__schema__ === REF_SCHEMA
    && typeof r.id === 'string' && typeof r.session_id === 'string';
}

/** First ref found anywhere in `values` (depth-limited walk of arrays and plain objects). */
export function findRef(values: unknown[], depth = 8): Ref | undefined {
  for (const v of values) {
    const r = walk(v, depth);
    if (r) return r;
  }
  return undefined;
}

function walk(v: unknown, depth: number): Ref | undefined {
  if (v === null || typeof v !== 'object' || depth < 0) return undefined;
  if (isRef(v)) return v;
  if (ArrayBuffer.isView(v)) return undefined;
  const items = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
  for (const item of items) {
    const r = walk(item, depth - 1);
    if (r) return r;
  }
  return undefined;
}

export function toRefInfo(w: WireRefInfo): RefInfo {
  const info: RefInfo = {
    id: w.id,
    sessionId: w.session_id,
    kind: w.kind,
    typeName: w.type_name,
    pythonModule: w.python_module,
    sizeBytes: Number(w.size_bytes ?? 0),
    repr: w.repr ?? '',
    createdAt: Math.round(Number(w.created_at ?? 0) * 1000),
    lastAccess: Math.round(Number(w.last_access ?? 0) * 1000),
  };
  if (w.name !== undefined && w.name !== null) info.name = w.name;
  if (w.execution_count !== undefined && w.execution_count !== null) info.executionCount = w.execution_count;
  if (w.ttl_seconds !== undefined) info.ttlSeconds = w.ttl_seconds;
  return info;
}
