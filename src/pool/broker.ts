// WorkerBroker: who gets which worker of the WorkerSet. A bind reserves a fresh
// worker (at once or in line) and attach() hands it over configured; a stateless
// call takes a free unbound one (or queues). Waiting binds are served before queued
// stateless calls; the `size` cap is never exceeded.
import { Op } from '../protocol/wire';
import type { Context } from './context';
import { PyCtxError } from './errors';
import type { AffinityMode, BindOptions, CallOptions, PoolOptions } from './types';
import { WaitQueue } from './wait-queue';
import { killedFromOutside, type WorkerSet } from './workers';
import type { Slot } from './backend';

// Who gets a worker that frees up (a stateless call ends, a context unbinds, a
// worker is recycled, crashes or finishes starting): waiting binds first, in
// order, then queued stateless calls. So a bind waits at most for one call to
// end, however steady the stateless traffic. A bind that cannot be served at once
// waits in `bindWaiters`; it fails fast (no_workers_available) only when every
// worker is bound and the caller did not ask to wait (BindOptions.waitForWorker).
export class WorkerBroker {
  /** Stateless requests waiting for a free unbound worker. */
  private readonly waiters: WaitQueue<Slot>;
  /** Binds waiting for a fresh worker, in order; served before `waiters` (see serveWaiters). */
  private readonly bindWaiters: WaitQueue<Slot, Context>;
  private serving = false;
  private serveScheduled = false;

  /** changed: the number of waiters or a worker's state changed (stats). */
  constructor(
    private readonly workers: WorkerSet,
    private readonly opts: PoolOptions,
    private readonly size: number,
    private readonly changed: () => void,
  ) {
    this.waiters = new WaitQueue<Slot>(() => this.changed());
    this.bindWaiters = new WaitQueue<Slot, Context>(() => this.changed());
  }

  /** Stateless requests waiting for a worker. */
  get waitingCalls(): number { return this.waiters.length; }
  /** Binds waiting for a worker. */
  get waitingBinds(): number { return this.bindWaiters.length; }

  /** Reject every waiter (pool closing). */
  failAll(): void {
    this.waiters.failAll(new PyCtxError('pool_closed', 'pool closed'));
    this.bindWaiters.failAll(new PyCtxError('pool_closed', 'pool closed while the bind waited for a worker'));
  }

  boundCount(except?: Context): number {
    let n = 0;
    for (const s of this.workers.slots) if (s.ctx && s.ctx !== except) n++;
    return n;
  }

  allBound(): PyCtxError {
    return new PyCtxError('no_workers_available',
      `all ${this.size} workers are bound to other contexts; unbind one, or bind with waitForWorker to wait for one`);
  }

  /**
   * Give ctx a fresh worker: reserve one (or wait in line), wait until it is ready,
   * configure the session. A worker killed from outside before it was handed over
   * (before its hello, or during configure) is not the caller's failure: the bind
   * takes the next worker.
   */
  async attach(ctx: Context, opts: BindOptions, replacing = false): Promise<void> {
    const workers = this.workers;
    let how: 'new' | 'retry' | 'replace' = replacing ? 'replace' : 'new';
    for (;;) {
      const slot = await this.reserve(ctx, opts, how);
      slot.attaching = true;
      let configured = false;
      try {
        await untilReady(slot, opts.signal);
        const fields: Record<string, unknown> = {
          session: ctx.sessionId,
          max_refs_per_session: opts.maxRefsPerSession ?? this.opts.maxRefsPerSession ?? 10000,
        };
        const ttl = opts.refTtlSeconds !== undefined ? opts.refTtlSeconds : this.opts.refTtlSeconds;
        if (ttl !== undefined && ttl !== null) fields.ref_ttl_seconds = ttl;
        if (opts.cwd) { fields.cwd = opts.cwd; fields.sys_path0 = opts.cwd; slot.dirty = true; }
        configured = true;
        await slot.worker.request({ op: Op.configure, fields, timeoutMs: 10000 });
      } catch (e) {
        slot.attaching = false;
        if (slot.ctx === ctx) slot.ctx = null;
        if (workers.sessions.get(ctx.sessionId) === slot) workers.sessions.delete(ctx.sessionId);
        if (workers.closed) throw new PyCtxError('pool_closed', 'pool closed while the bind was starting its worker');
        // Cancelled before configure: the worker is as fresh as it was; keep it.
        if (!slot.worker.exited && configured) workers.retire(slot);
        if (slot.worker.exited && killedFromOutside(slot.worker) && !opts.signal?.aborted) {
          if (how === 'new') how = 'retry';   // it had its turn: take the next worker before later binds
          continue;
        }
        workers.maintain();
        this.serveWaiters();
        throw e;
      }
      slot.attaching = false;
      workers.sessions.set(ctx.sessionId, slot);
      // Topping up the warm set spawns a process whose start-up takes a core for a while:
      // not on the bind's path, and not while its first cell runs and renders (refillDelayMs).
      workers.maintainSoon();
      this.changed();
      return;
    }
  }

  /**
   * A fresh worker reserved for ctx: at once when one can be had without overtaking
   * waiting binds, else in line. A bind retrying after its worker was killed, and a
   * restart's replacement (it keeps its context's place), go ahead of waiting binds;
   * a restart never fails for lack of workers (its old one just left).
   */
  private reserve(ctx: Context, opts: BindOptions, how: 'new' | 'retry' | 'replace'): Promise<Slot> {
    if (this.workers.closed) return Promise.reject(new PyCtxError('pool_closed', 'pool closed'));
    const now = how !== 'new' || this.bindWaiters.length === 0 ? this.tryReserve(ctx) : undefined;
    if (now) return Promise.resolve(now);
    if (!opts.waitForWorker && how !== 'replace' && this.boundCount(ctx) >= this.size) return Promise.reject(this.allBound());
    const t = opts.waitTimeoutMs;
    const p = this.bindWaiters.wait({
      maxLength: Infinity,
      timeoutMs: t,
      signal: opts.signal,
      errors: {
        timeout: () => new PyCtxError('no_workers_available', `no worker became free within ${t} ms (waitTimeoutMs)`),
        aborted: () => new PyCtxError('interrupted', 'bind cancelled while it waited for a free worker'),
      },
    }, ctx);
    try { opts.onWait?.({ position: this.bindWaiters.length }); } catch { /* the caller's callback */ }
    return p;
  }

  /**
   * Claim a fresh (never used) worker for ctx now, if the cap allows: an idle or
   * starting fresh one, else spawn within size, else recycle an idle used one.
   * Synchronous, so nothing else can take it between the choice and the claim.
   */
  private tryReserve(ctx: Context): Slot | undefined {
    const workers = this.workers;
    if (workers.closed) return undefined;
    const live = workers.live();
    let starting: Slot | undefined;
    for (const s of live) {
      if (s.ctx || s.dirty || s.leased) continue;
      if (!s.ready) { starting ??= s; continue; }   // busy only with its hello
      if (s.worker.busy) continue;
      s.ctx = ctx; this.changed(); return s;
    }
    if (starting) { starting.ctx = ctx; this.changed(); return starting; }
    if (live.length >= this.size) {
      const victim = workers.recyclable(live);
      if (!victim) return undefined;
      workers.retire(victim);
    }
    const s = workers.spawn();
    s.ctx = ctx;
    return s;
  }

  /** A free unbound worker for a stateless request (prefers already-used ones, keeping fresh ones for binds). */
  takeFree(): Slot | undefined {
    let fresh: Slot | undefined;
    for (const s of this.workers.slots) {
      if (s.stopping || s.ctx || s.leased || !s.ready || s.worker.busy) continue;
      if (s.dirty) { s.leased = true; return s; }
      fresh ??= s;
    }
    if (fresh) { fresh.leased = true; return fresh; }
    return undefined;
  }

  /** A free unbound worker for a stateless request, leased to it: at once, or in line. */
  acquireFree(opts: CallOptions, mode: AffinityMode): Promise<Slot> {
    if (this.workers.closed) return Promise.reject(new PyCtxError('pool_closed', 'pool closed'));
    // Waiting binds go first (a free worker never sits idle while a bind waits, but be sure).
    if (this.bindWaiters.length > 0) this.serveWaiters();
    const s = this.takeFree();
    if (s) return Promise.resolve(s);
    if (this.workers.live().length < this.size) this.workers.spawn();
    else if (mode === 'strict_fail_fast') {
      return Promise.reject(new PyCtxError('worker_busy', 'no free worker for a stateless request (strict_fail_fast)'));
    }
    return this.waiters.wait({
      maxLength: this.opts.maxQueueLength ?? 1000,
      queueTimeoutMs: this.opts.queueTimeoutMs,
      timeoutMs: opts.timeoutMs ?? this.opts.requestTimeoutMs,
      signal: opts.signal,
    });
  }

  /** Hand freed workers out: waiting binds first, then queued stateless calls. */
  serveWaiters(): void {
    if (this.serving) return;   // re-entered through retire/spawn: the outer pass continues
    this.serving = true;
    try {
      if (this.bindWaiters.length > 0) this.bindWaiters.serve(ctx => this.tryReserve(ctx));
      // Stateless calls only once no bind waits for the worker they would take.
      if (this.waiters.length > 0 && this.bindWaiters.length === 0) this.waiters.serve(() => this.takeFree());
    } finally {
      this.serving = false;
    }
  }

  /** serveWaiters after the current synchronous step (from places that change state mid-way). */
  serveSoon(): void {
    if (this.serveScheduled || (this.bindWaiters.length === 0 && this.waiters.length === 0)) return;
    this.serveScheduled = true;
    queueMicrotask(() => { this.serveScheduled = false; if (!this.workers.closed) this.serveWaiters(); });
  }
}

/** The slot's worker is ready (hello done); rejects early when the bind is cancelled. */
function untilReady(slot: Slot, signal?: AbortSignal): Promise<void> {
  if (!signal) return slot.readyPromise;
  const cancelled = (): PyCtxError => new PyCtxError('interrupted', 'bind cancelled while its worker was starting');
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    slot.readyPromise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
