// initializationOptions -> ServerOptions. Anything malformed is dropped (the
// default applies) rather than failing the server start: a bad setting must not
// turn into a restart loop.
import { Pool } from '../pool';
import type { AffinityMode, ServerOptions } from '../protocol/lsp';

const AFFINITIES: readonly AffinityMode[] = ['strict_queue', 'strict_fail_fast', 'hint'];

export function parseServerOptions(raw: unknown): ServerOptions {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  const nonNeg = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const out: ServerOptions = {};
  if (typeof o.python === 'string' && o.python.trim()) out.python = o.python.trim();
  out.poolSize = posInt(o.poolSize);
  out.warm = typeof o.warm === 'number' && Number.isInteger(o.warm) && o.warm >= 0 ? o.warm : undefined;
  if (Array.isArray(o.preload)) out.preload = o.preload.filter((m): m is string => typeof m === 'string' && /^[\w.]+$/.test(m));
  // Below the pool's minimum a worker cannot start: treated as malformed (no limit), not a start failure.
  const minMb = Pool.MIN_MEMORY_LIMIT_BYTES / 2 ** 20;
  if (o.memoryLimitMB === 0 || (typeof o.memoryLimitMB === 'number' && Number.isFinite(o.memoryLimitMB) && o.memoryLimitMB >= minMb)) {
    out.memoryLimitMB = o.memoryLimitMB;
  }
  if (Array.isArray(o.launcher) && o.launcher.length > 0 && o.launcher.every(a => typeof a === 'string' && a.length > 0)) {
    out.launcher = [...o.launcher] as string[];
  }
  if (AFFINITIES.includes(o.affinity as AffinityMode)) out.affinity = o.affinity as AffinityMode;
  if (o.ipython === 'auto' || o.ipython === 'off') out.ipython = o.ipython;
  if (o.refTtlSeconds === null) out.refTtlSeconds = null;
  else out.refTtlSeconds = nonNeg(o.refTtlSeconds);
  out.maxRefsPerSession = posInt(o.maxRefsPerSession);
  out.outputMaxBytes = posInt(o.outputMaxBytes);
  out.streamCoalesceMs = nonNeg(o.streamCoalesceMs);
  const idle = nonNeg(o.idleShutdownMinutes);
  if (idle !== undefined) out.idleShutdownMinutes = idle;
  return out;
}
