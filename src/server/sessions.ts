// Notebook URI -> bound pool context. Owns the server's session rules:
//  - bind is idempotent (a second bind, or one racing the first, gets the same
//    context, `fresh: false`); the notebook's folder becomes the worker's cwd and
//    sys.path[0];
//  - unbind (request or notebookDocument/didClose) returns the worker to the pool;
//  - restart replaces the context (the old worker is killed even if busy or deaf
//    to SIGINT) and keeps the cwd;
//  - a lost context (worker crashed) is dropped once, and the client is told with
//    one pyctx/sessionLost; the notebook's next execute binds fresh;
//  - each session lives in the pool of its notebook's environment (pools.ts); a
//    request naming another environment ends the old context and binds anew there.
//  - a bind into a full pool waits for a free worker (the pool's waitForWorker), announced
//    with pyctx/waitingForWorker; interrupt or unbind of the notebook cancels the wait.
import { randomUUID } from 'node:crypto';
import type { Context, ContextLostEvent, LateOutputEvent } from '../pool';
import type { BindResult, SessionInfo, SessionLostParams, WaitingForWorkerParams } from '../protocol/lsp';
import type { OutputSink } from './outputs';
import type { PoolRegistry } from './pools';
import { PyctxServerError } from './errors';

export type EndReason = 'unbound' | 'restarted' | 'crashed';

export interface NotebookSession {
  readonly notebookUri: string;
  readonly sessionId: string;
  readonly cwd: string | undefined;
  readonly ctx: Context;
  readonly pid: number;
  /** The pool's key (pools.ts) and its interpreter (sys.executable). */
  readonly poolKey: string;
  readonly python: string;
  readonly boundAt: number;
  /** Last run or bind (least recently used = smallest). */
  lastActiveAt: number;
  executionCount: number;
  running: number;
  /** The last cell run (not silent): late output (lateOutput events) is tagged with it. */
  lastExecution?: { executionId: string; cellIndex?: number };
  /** Its late output's coalescer/cap (execute.ts routeLateOutput); replaced per execution. */
  lateSink?: OutputSink;
  /** The worker's completer has been warmed (language.ts). */
  liveWarmed?: boolean;
  /** Set once the session is over; in-flight executes report it. */
  ended?: { reason: EndReason; exitCode: number | null; signal: string | null; message: string };
}

export interface SessionHooks {
  onLost(params: SessionLostParams): void;
  onChanged(): void;
  /** The session is over (unbound, restarted, crashed): its refs are gone. */
  onEnded(session: NotebookSession): void;
  /** Output of the session's worker after a request had finished (pool 'lateOutput'). */
  onLateOutput?(session: NotebookSession, ev: LateOutputEvent): void;
  /** A bind waits for a free worker (all bound), or its wait ended. */
  onWaiting?(params: WaitingForWorkerParams): void;
  /** Ref limits for a new session (the live settings, see liveConfig.ts); default: the pool's. */
  refLimits?(): { refTtlSeconds: number | null; maxRefsPerSession: number };
}

export class NotebookSessions {
  // Current binding per notebook: pending until the pool answers, then settled.
  private readonly byUri = new Map<string, { key: string; promise: Promise<NotebookSession>; session?: NotebookSession }>();
  private readonly bySessionId = new Map<string, NotebookSession>();
  /** Binds waiting for a free worker, by notebook: aborting one cancels its wait. */
  private readonly waits = new Map<string, AbortController>();

  constructor(private readonly pools: PoolRegistry, private readonly hooks: SessionHooks) {}

  /** The notebook's live session in the pool of `python` (absent: the default), binding one if needed. */
  async ensure(notebookUri: string, cwd?: string, python?: string): Promise<{ session: NotebookSession; fresh: boolean }> {
    const key = this.pools.keyOf(python);
    const existing = this.byUri.get(notebookUri);
    if (existing && existing.key === key) {
      const session = await existing.promise;
      session.lastActiveAt = Date.now();
      return { session, fresh: false };
    }
    if (existing) {
      // The notebook switched environments: its old context ends (and its worker is recycled).
      this.byUri.delete(notebookUri);
      const old = await existing.promise.catch(() => undefined);
      if (old) await this.end(old, { reason: 'restarted', exitCode: null, signal: null, message: 'the notebook switched to another Python environment' });
      if (this.byUri.has(notebookUri)) return this.ensure(notebookUri, cwd, python);
    }
    const entry: { key: string; promise: Promise<NotebookSession>; session?: NotebookSession } = { key, promise: this.bindNew(notebookUri, cwd, key) };
    this.byUri.set(notebookUri, entry);
    try {
      entry.session = await entry.promise;
      this.hooks.onChanged();
      return { session: entry.session, fresh: true };
    } catch (err) {
      if (this.byUri.get(notebookUri) === entry) this.byUri.delete(notebookUri);
      throw err;
    }
  }

  async bind(notebookUri: string, cwd?: string, python?: string): Promise<BindResult> {
    const { session, fresh } = await this.ensure(notebookUri, cwd, python);
    return { sessionId: session.sessionId, pid: session.pid, fresh };
  }

  /** A bound, settled session (no binding as a side effect). */
  get(notebookUri: string): NotebookSession | undefined { return this.byUri.get(notebookUri)?.session; }
  bySession(sessionId: string): NotebookSession | undefined { return this.bySessionId.get(sessionId); }
  /** Every bound, settled session. */
  all(): NotebookSession[] { return [...this.byUri.values()].flatMap(e => (e.session ? [e.session] : [])); }

  /** Cancels the notebook's wait for a free worker, if it waits; true when it did. */
  cancelWait(notebookUri: string): boolean {
    const w = this.waits.get(notebookUri);
    w?.abort();
    return w !== undefined;
  }

  async unbind(notebookUri: string, message = 'the notebook was unbound'): Promise<boolean> {
    if (this.cancelWait(notebookUri)) return false;
    const entry = this.byUri.get(notebookUri);
    if (!entry) return false;
    this.byUri.delete(notebookUri);
    let session: NotebookSession;
    try { session = await entry.promise; } catch { return false; }
    await this.end(session, { reason: 'unbound', exitCode: null, signal: null, message });
    return true;
  }

  /** Fresh context for the notebook (same cwd); the old worker is recycled even if busy. */
  async restart(notebookUri: string, cwd?: string, python?: string): Promise<BindResult> {
    const entry = this.byUri.get(notebookUri);
    let oldCwd = cwd;
    let env = python;
    if (entry) {
      this.byUri.delete(notebookUri);
      const old = await entry.promise.catch(() => undefined);
      if (old) {
        oldCwd ??= old.cwd;
        env ??= old.poolKey || undefined;
        await this.end(old, { reason: 'restarted', exitCode: null, signal: null, message: 'the notebook was restarted' });
      }
    }
    const { session } = await this.ensure(notebookUri, oldCwd, env);
    return { sessionId: session.sessionId, pid: session.pid, fresh: true };
  }

  list(): SessionInfo[] {
    const workers = this.pools.running().flatMap(p => p.stats().workers);
    return this.all().map(s => ({
      notebookUri: s.notebookUri,
      sessionId: s.sessionId,
      pid: s.pid,
      state: s.ended ? 'crashed' : s.running > 0 ? 'running' : 'idle',
      rssBytes: workers.find(w => w.pid === s.pid)?.rssBytes ?? 0,
      boundAt: s.boundAt,
      executionCount: s.executionCount,
      python: s.python,
      environment: s.poolKey,
      lastActiveAt: s.lastActiveAt,
    }));
  }

  /** Called when an execute saw the worker die; idempotent with the pool's lost event. */
  markLost(session: NotebookSession, info: { exitCode: number | null; signal: string | null; message: string }): void {
    if (session.ended) return;
    session.ended = { reason: 'crashed', ...info };
    this.forget(session);
    this.hooks.onLost({ notebookUri: session.notebookUri, reason: 'crashed', ...info });
  }

  /** Ends every session (server shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.byUri.keys()];
    const why = 'the pool server shut down (a restart, a settings change or the window closing)';
    await Promise.all(all.map(uri => this.unbind(uri, why).catch(() => false)));
  }

  private async bindNew(notebookUri: string, cwd: string | undefined, poolKey: string): Promise<NotebookSession> {
    const pool = await this.pools.get(poolKey);
    const sessionId = randomUUID().replace(/-/g, '');
    this.pools.retain(poolKey);
    // A full pool: wait for a free worker (announced to the client), never fail at once.
    const abort = new AbortController();
    this.waits.set(notebookUri, abort);
    const announce = (waiting: boolean) => {
      const holders = this.all().filter(s => s.poolKey === poolKey)
        .sort((a, b) => a.lastActiveAt - b.lastActiveAt).map(s => s.notebookUri);
      this.hooks.onWaiting?.({ notebookUri, waiting, bound: pool.stats().checkedOut, size: pool.size, holders });
    };
    // The pool's own waiting bind (fair: served before queued stateless calls, woken by
    // any unbind, crash or recycle). Only a wait for a *bound* pool is announced: a bind
    // also queues briefly while a free worker finishes starting.
    let announced = false;
    let ctx: Context;
    try {
      ctx = await pool.bind('new', {
        sessionId, cwd, owner: notebookUri, ...this.hooks.refLimits?.(),
        waitForWorker: true, signal: abort.signal,
        onWait: () => { if (pool.stats().checkedOut >= pool.size) { announced = true; announce(true); } },
      });
    } catch (err) {
      this.pools.release(poolKey);
      if (abort.signal.aborted) throw new PyctxServerError('wait_cancelled', 'the wait for a free worker was cancelled');
      throw err;
    } finally {
      if (announced) announce(false);
      if (this.waits.get(notebookUri) === abort) this.waits.delete(notebookUri);
    }
    const now = Date.now();
    const session: NotebookSession = {
      notebookUri, sessionId, cwd, ctx, pid: ctx.pid, boundAt: now, lastActiveAt: now, executionCount: 0, running: 0,
      poolKey, python: pool.python,
    };
    this.bySessionId.set(sessionId, session);
    ctx.on('lateOutput', (ev: LateOutputEvent) => { if (!session.ended) this.hooks.onLateOutput?.(session, ev); });
    ctx.on('lost', (ev: ContextLostEvent) => this.markLost(session, { exitCode: ev.exitCode, signal: ev.signal, message: ev.message }));
    return session;
  }

  private async end(session: NotebookSession, ended: NonNullable<NotebookSession['ended']>): Promise<void> {
    if (!session.ended) session.ended = ended;
    session.lateSink?.flush();
    this.forget(session);
    await session.ctx.unbind().catch(() => undefined);
  }

  private forget(session: NotebookSession): void {
    if (!this.bySessionId.has(session.sessionId)) return;   // already forgotten (lost, then unbound)
    this.pools.release(session.poolKey);
    this.hooks.onEnded(session);
    // Only this session's own entry: a newer binding of the same notebook stays.
    if (this.byUri.get(session.notebookUri)?.session === session) this.byUri.delete(session.notebookUri);
    this.bySessionId.delete(session.sessionId);
    this.hooks.onChanged();
  }
}
