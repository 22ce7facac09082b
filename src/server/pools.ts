// The server's pools, one per Python interpreter (a notebook's environment). Owns:
//  - which pool a request goes to: no `python` (or the default's own) = the default
//    environment's pool (key ''), started when the server starts so the first cell is
//    instant; any other interpreter gets its own pool, started lazily at first use;
//  - the lifetime of each pool: while notebooks are bound it keeps its warm spares;
//    with no bound notebook for `idleShutdownMinutes` (default 10) it is closed
//    (shrinks to zero) and the next bind starts it again;
//  - per-pool stats (payloads for pyctx/pools); `poolSize` caps each pool alone.
// An environment other than the default that cannot start fails with
// `environment_unavailable` (its entry is dropped, so a later request tries again).
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from '../pool';
import type { PoolStatsPayload, ServerOptions, ServerStatusParams } from '../protocol/lsp';
import { PyctxServerError } from './errors';
import { PoolHost } from './poolHost';
import { statsPayload } from './queries';

export const DEFAULT_IDLE_SHUTDOWN_MINUTES = 10;
export const DEFAULT_KEY = '';

export interface PoolsHooks {
  /** The default pool's server status (pyctx/serverStatus). */
  onStatus(s: ServerStatusParams): void;
  /** A pool is up: attach its event listeners. */
  onStarted(pool: Pool, key: string): void;
  /** A pool started, stopped or failed: views should refresh. */
  onChanged(): void;
}

interface Entry {
  readonly key: string;
  readonly host: PoolHost;
  bound: number;
  idleTimer?: NodeJS.Timeout;
  /** Closed by the idle countdown (not merely never started). */
  shrunk?: boolean;
}

export class PoolRegistry {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly options: ServerOptions, private readonly hooks: PoolsHooks) {
    this.entries.set(DEFAULT_KEY, this.makeEntry(DEFAULT_KEY));
  }

  /** The pool key of a requested interpreter ('' = the default environment's pool). */
  keyOf(python?: string): string {
    const p = python?.trim();
    if (!p) return DEFAULT_KEY;
    const def = this.entries.get(DEFAULT_KEY)!.host;
    if (p === this.options.python || p === def.current?.python) return DEFAULT_KEY;
    return p;
  }

  /** The default environment's host (the server's status follows it). */
  get defaultHost(): PoolHost { return this.entries.get(DEFAULT_KEY)!.host; }

  /** The pool of a key if it is up right now (cheap paths: completion, stats). */
  current(key: string): Pool | undefined { return this.entries.get(key)?.host.current; }

  /** Every running pool. */
  running(): Pool[] { return [...this.entries.values()].flatMap(e => (e.host.current ? [e.host.current] : [])); }

  /** The pool for a key, started if needed. */
  async get(key: string): Promise<Pool> {
    if (this.closed) throw new PyctxServerError('internal_error', 'the server is shutting down');
    let entry = this.entries.get(key);
    if (key !== DEFAULT_KEY && path.isAbsolute(key) && !existsSync(key)) {
      // Removed since its pool started (a deleted venv): its warm workers must not serve new binds.
      if (entry && entry.bound === 0) { this.entries.delete(key); void entry.host.stop().finally(() => this.hooks.onChanged()); }
      throw new PyctxServerError('environment_unavailable',
        `The Python environment ${key} cannot start: ${key} no longer exists. Select another environment for this notebook, or recreate this one.`);
    }
    if (!entry) { entry = this.makeEntry(key); this.entries.set(key, entry); }
    const e = entry;
    const wasStarted = e.host.wasStarted;
    e.shrunk = false;
    try {
      const pool = await e.host.get();
      if (!wasStarted) this.armIdle(e);
      return pool;
    } catch (err) {
      if (key === DEFAULT_KEY) throw err;
      if (this.entries.get(key) === e && e.bound === 0) { this.entries.delete(key); this.hooks.onChanged(); }
      const why = e.host.error?.replace(/^.*Details: /, '') ?? (err as Error).message;
      throw new PyctxServerError('environment_unavailable',
        `The Python environment ${key} cannot start: ${why}. Select another environment for this notebook, or recreate this one.`);
    }
  }

  /** Starts the default pool (server start). */
  startDefault(): Promise<Pool | undefined> {
    const e = this.entries.get(DEFAULT_KEY)!;
    return e.host.start().then(pool => { if (pool) this.armIdle(e); return pool; });
  }

  /** A notebook bound to the pool: it stays up. */
  retain(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.bound++;
    if (e.idleTimer) { clearTimeout(e.idleTimer); e.idleTimer = undefined; }
  }

  /** A notebook left the pool: with none left, the idle countdown starts. */
  release(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.bound = Math.max(0, e.bound - 1);
    this.armIdle(e);
  }

  /** Stats of every pool, the default first; stopped pools with zero workers. */
  payloads(): PoolStatsPayload[] {
    return [...this.entries.values()].map(e => this.payload(e));
  }

  /** The default pool's stats: starts it only if it never started (a first request before init). */
  async defaultPayload(): Promise<PoolStatsPayload> {
    const e = this.entries.get(DEFAULT_KEY)!;
    if (e.shrunk) return this.payload(e);
    if (!e.host.wasStarted) await this.get(DEFAULT_KEY);
    else await e.host.start();
    if (!e.host.current && e.host.error) await this.get(DEFAULT_KEY);   // throws no_python
    return this.payload(e);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.entries.values()) if (e.idleTimer) clearTimeout(e.idleTimer);
    await Promise.all([...this.entries.values()].map(e => e.host.close().catch(() => undefined)));
  }

  private payload(e: Entry): PoolStatsPayload {
    const pool = e.host.current;
    if (pool) return { ...statsPayload(pool), environment: e.key, state: 'running', bound: e.bound };
    const error = e.host.error;
    return {
      size: this.options.poolSize ?? 4, numWorkers: 0, availableWorkers: 0, checkedOut: 0, pendingRequests: 0, workers: [],
      python: e.host.status.python ?? (e.key || this.options.python || 'python3'), environment: e.key, bound: e.bound,
      state: error ? 'error' : e.host.wasStarted ? 'starting' : 'stopped', ...(error ? { error } : {}),
    };
  }

  private makeEntry(key: string): Entry {
    const isDefault = key === DEFAULT_KEY;
    const host = new PoolHost(isDefault ? this.options : { ...this.options, python: key }, s => {
      if (isDefault) this.hooks.onStatus(s);
      if (s.state === 'ready' && host.current) this.hooks.onStarted(host.current, key);
      if (s.state !== 'starting') this.hooks.onChanged();
    });
    return { key, host, bound: 0 };
  }

  private armIdle(e: Entry): void {
    if (e.bound > 0 || e.idleTimer || this.closed) return;
    const minutes = this.options.idleShutdownMinutes ?? DEFAULT_IDLE_SHUTDOWN_MINUTES;
    if (!(minutes > 0)) return;
    e.idleTimer = setTimeout(() => {
      e.idleTimer = undefined;
      if (e.bound > 0 || !e.host.current) return;
      e.shrunk = true;
      void e.host.stop().finally(() => this.hooks.onChanged());
    }, minutes * 60_000);
    e.idleTimer.unref?.();
  }
}
