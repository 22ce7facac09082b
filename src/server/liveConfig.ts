// pyctx/configure: the settings a running server applies without a new pool, so a
// settings change never drops a notebook's state. The output cap is read by each
// execute; the ref limits go to new sessions' binds and, through the worker's
// `configure` op, to every bound session's worker (its refs are pruned to the new
// limits at once).
import type { Context } from '../pool';
import type { LiveOptions } from '../protocol/lsp';
import { PyctxServerError } from './errors';

/** Strict: a present field with a bad value is a `bad_request` (nothing is applied). */
export function parseLiveOptions(raw: unknown): LiveOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PyctxServerError('bad_request', 'pyctx/configure needs an object of options');
  const o = raw as Record<string, unknown>;
  const bad = (field: string, what: string): never => { throw new PyctxServerError('bad_request', `${field} must be ${what}, got ${JSON.stringify(o[field])}`); };
  const posInt = (field: string): number | undefined => {
    const v = o[field];
    if (v === undefined) return undefined;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : bad(field, 'a positive integer');
  };
  const ttl = o.refTtlSeconds;
  const refTtlSeconds = ttl === null || ttl === undefined ? ttl
    : typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0 ? ttl : bad('refTtlSeconds', 'a number >= 0 or null');
  // Every key is set (undefined = the default), so spreading this over the options replaces all three.
  return { outputMaxBytes: posInt('outputMaxBytes'), refTtlSeconds, maxRefsPerSession: posInt('maxRefsPerSession') };
}

/** The ref limits a session gets, defaults resolved (the pool's: no TTL, 10,000 refs). */
export interface RefLimits { refTtlSeconds: number | null; maxRefsPerSession: number }
export const DEFAULT_MAX_REFS = 10_000;
export function refLimits(o: LiveOptions): RefLimits {
  return { refTtlSeconds: o.refTtlSeconds ? o.refTtlSeconds : null, maxRefsPerSession: o.maxRefsPerSession ?? DEFAULT_MAX_REFS };
}

/** New ref limits for a bound session, enforced in its worker (queued behind a running cell). */
export function configureWorker(ctx: Context, limits: RefLimits): Promise<void> {
  return ctx.configure(limits);
}
