// Pool: the public entry of the library. Owns the set of workers and the policy
// around them: warm spares, binding to contexts (explicit handles and implicit
// AsyncLocalStorage scopes), stateless calls on free workers, affinity modes,
// recycling of workers that ran user code, replacement after crashes, sessions
// and refs routing, runtime context, and stats/refs events. Process-level work
// (framing, timeouts, input) is in worker.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DEFAULT_MAX_FRAME_BYTES, type WireRefInfo } from '../protocol/wire';
import { Context, type ContextBackend } from './context';
import { PyCtxError } from './errors';
import { findPythonDir, loadExeca, resolvePython } from './python';
import { findRef, isRef, toRefInfo } from './refs';
import type {
  AffinityMode, BindOptions, CallOptions, ContextLostEvent, ExecuteOptions, ExecuteResult,
  PoolOptions, PoolStats, Ref, RefInfo, WorkerState,
} from './types';
import { Worker, type WorkerExit } from './worker';

/** The pool's view of one worker process. */
interface Slot {
  worker: Worker;
  ready: boolean;
  ctx: Context | null;          // bound context (reserved as soon as chosen)
  dirty: boolean;               // ran user code or was configured for someone: never bound again
  leased: boolean;              // running a stateless request
  stopping: boolean;            // we are ending it; its exit is not a crash
  statelessSession: string;     // session of refs made by stateless calls on it
  readyPromise: Promise<void>;
}

interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (e: unknown) => void;
  timers: NodeJS.Timeout[];
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Implicit binding of an async scope. */
interface Holder { ctx: Context | null }

type RequestOpts = CallOptions & { userCode: boolean; stateless: boolean };

export interface PoolEvents {
  stats: [PoolStats];
  refs: [{ sessionId: string }];
  contextLost: [ContextLostEvent];
  error: [unknown];
}

const newSessionId = (): string => randomBytes(12).toString('hex');
const REF_OPS = new Set(['exec', 'eval', 'call', 'method', 'attr']);

export class Pool extends EventEmitter<PoolEvents> {
  /** Resolved interpreter (real sys.executable). */
  readonly python: string;
  readonly pythonVersion: string;
  /** Codec of the workers ('msgpack' C extension or the worker's own). */
  codec = '';
  readonly size: number;
  readonly warm: number;
  readonly affinity: AffinityMode;
  readonly maxFrameBytes: number;

  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private readonly sessions = new Map<string, Slot>();
  private readonly implicit = new AsyncLocalStorage<Holder>();
  private readonly runtime = new AsyncLocalStorage<Record<string, unknown>>();
  private readonly finalizer = new FinalizationRegistry<Context>(ctx => { void ctx.unbind().catch(() => {}); });
  private readonly backend: ContextBackend;
  private readonly pythonDir: string;
  private closed = false;
  private statsScheduled = false;
  /** Callbacks waiting for any change of worker state (see reserveFresh). */
  private wakers: (() => void)[] = [];
  private startFailures = 0;

  private constructor(private readonly opts: PoolOptions, resolved: { executable: string; version: string }) {
    super();
    this.python = resolved.executable;
    this.pythonVersion = resolved.version;
    this.size = Math.max(1, opts.size ?? 4);
    this.warm = Math.min(this.size, Math.max(0, opts.warm ?? 1));
    this.affinity = opts.affinity ?? 'strict_queue';
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.pythonDir = findPythonDir();
    this.backend = this.makeBackend();
  }

  /** Resolve the interpreter once, start `warm` workers and wait until they answered hello. */
  static async start(opts: PoolOptions = {}): Promise<Pool> {
    if (opts.size !== undefined && (!Number.isInteger(opts.size) || opts.size < 1)) {
      throw new PyCtxError('invalid_argument', `size must be a positive integer, got ${opts.size}`);
    }
    await loadExeca();
    const resolved = await resolvePython(opts.python);
    const pool = new Pool(opts, resolved);
    const first = pool.spawn();
    try {
      await first.readyPromise;
    } catch (e) {
      await pool.close();
      throw e;
    }
    pool.codec = first.worker.hello.codec;
    pool.maintain();
    await Promise.all([...pool.slots].map(s => s.readyPromise.catch(() => {})));
    return pool;
  }

  // ---- binding -------------------------------------------------------------------

  /** Bind the current async scope (implicit) or, with 'new', return an explicit Context. */
  bind(mode: 'new', opts?: BindOptions): Promise<Context>;
  bind(opts?: BindOptions): Promise<void>;
  bind(a?: 'new' | BindOptions, b?: BindOptions): Promise<Context | void> {
    if (a === 'new') return this.bindNew(b ?? {});
    // Enter the holder synchronously so the caller's continuation sees it.
    let h = this.implicit.getStore();
    if (h?.ctx && h.ctx.state === 'bound') return Promise.resolve();
    if (!h || h.ctx) { h = { ctx: null }; this.implicit.enterWith(h); }
    const holder = h;
    return this.bindNew(a ?? {}).then(async ctx => {
      if (holder.ctx && holder.ctx.state === 'bound') { await ctx.unbind(); return; } // raced: keep the first
      holder.ctx = ctx;
      this.finalizer.register(holder, ctx, holder);
    });
  }

  /** True when the current async scope is implicitly bound to a live worker. */
  isBound(): boolean {
    const ctx = this.implicit.getStore()?.ctx;
    return !!ctx && ctx.state === 'bound';
  }

  /** The implicitly bound context of this scope, if any. */
  currentContext(): Context | undefined {
    return this.implicit.getStore()?.ctx ?? undefined;
  }

  /** Unbind the current async scope; a no-op when not bound. */
  async unbind(): Promise<void> {
    const h = this.implicit.getStore();
    if (!h?.ctx) return;
    const ctx = h.ctx;
    h.ctx = null;
    this.finalizer.unregister(h);
    await ctx.unbind();
  }

  /** Run fn bound: fn(ctx) gets an explicit context, fn() runs implicitly bound. Always unbinds. */
  async withContext<T>(fn: ((ctx: Context) => T | Promise<T>) | (() => T | Promise<T>), opts: BindOptions = {}): Promise<T> {
    if (fn.length >= 1) {
      const ctx = await this.bindNew(opts);
      try { return await (fn as (ctx: Context) => T | Promise<T>)(ctx); } finally { await ctx.unbind(); }
    }
    return this.implicit.run({ ctx: null }, async () => {
      await this.bind(opts);
      try { return await (fn as () => T | Promise<T>)(); } finally { await this.unbind(); }
    });
  }

  /** Run fn with request-scoped variables attached to every request made inside (merged over outer ones). */
  withRuntimeContext<T>(vars: Record<string, unknown>, fn: () => T): T {
    const outer = this.runtime.getStore();
    return this.runtime.run(outer ? { ...outer, ...vars } : { ...vars }, fn);
  }

  // ---- calls (bound scope or any free worker) ---------------------------------------

  call(module: string, fn: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<any> {
    return this.route('call', { module, fn, args, kwargs }, opts, [args, kwargs]);
  }

  eval(code: string, locals?: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    const fields: Record<string, unknown> = { code };
    if (locals !== undefined) fields.locals = locals;
    return this.route('eval', fields, opts, [locals]);
  }

  async exec(code: string, opts: CallOptions = {}): Promise<void> {
    await this.route('exec', { code, store_history: false }, opts, []);
  }

  /** ref.name(...) on the worker holding the ref (strict: never moved). */
  method(ref: Ref, name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<any> {
    return this.routeRef(ref, 'method', { ref, name, args, kwargs }, opts);
  }

  attr(ref: Ref, name: string, opts: CallOptions = {}): Promise<any> {
    return this.routeRef(ref, 'attr', { ref, name }, opts);
  }

  /** A notebook-style cell in the bound scope (see Context.execute). */
  execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const ctx = this.currentContext();
    if (!ctx) return Promise.reject(new PyCtxError('context_not_bound', 'execute() needs a bound scope: call pool.bind() first'));
    return ctx.execute(code, opts);
  }

  // ---- refs and sessions -------------------------------------------------------------

  /** Release one ref; false if it was already gone (released, expired, evicted, worker gone). */
  async releaseRef(ref: Ref): Promise<boolean> {
    if (!isRef(ref)) throw new PyCtxError('invalid_ref', 'releaseRef needs a ref handle ({__type__: "ref", __schema__: 1, id, session_id})');
    const slot = this.sessions.get(ref.session_id);
    if (!slot || slot.worker.exited) return false;
    const v = await slot.worker.request({ op: 'refs.release', fields: { ref, session: ref.session_id } }) as { released?: boolean };
    this.emitRefs(ref.session_id);
    return v?.released === true;
  }

  /** Release every ref of a session (its worker stays bound); returns how many were freed. */
  async releaseSession(sessionId: string): Promise<number> {
    const slot = this.sessions.get(sessionId);
    if (!slot || slot.worker.exited) return 0;
    const v = await slot.worker.request({ op: 'session.release', fields: { session: sessionId } }) as { count?: number };
    this.emitRefs(sessionId);
    return Number(v?.count ?? 0);
  }

  /** Refs of one session, or of every live session; served by the control channel, so it answers during a cell. */
  async refs(sessionId?: string, opts: { timeoutMs?: number } = {}): Promise<RefInfo[]> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    if (sessionId !== undefined) {
      const slot = this.sessions.get(sessionId);
      if (!slot || slot.worker.exited || !slot.ready) return [];
      const list = await slot.worker.control('refs.list', { session: sessionId }, timeoutMs) as WireRefInfo[];
      return (list ?? []).map(toRefInfo);
    }
    const out: RefInfo[] = [];
    for (const slot of this.slots) {
      if (!slot.ready || slot.worker.exited || slot.stopping) continue;
      const list = await slot.worker.control('refs.list', {}, timeoutMs).catch(() => []) as WireRefInfo[];
      out.push(...(list ?? []).map(toRefInfo));
    }
    return out;
  }

  /** Session ids known to the pool (bound contexts and stateless workers). */
  sessionIds(): string[] { return [...this.sessions.keys()]; }

  // ---- stats and lifecycle -----------------------------------------------------------

  stats(): PoolStats {
    let checkedOut = 0;
    let pending = this.waiters.length;
    const workers = [];
    for (const s of this.slots) {
      if (s.ctx) checkedOut++;
      pending += s.worker.queueLength;
      let state: WorkerState;
      if (s.stopping) state = 'stopping';
      else if (!s.ready) state = 'starting';
      else if (s.worker.running) state = 'busy';
      else if (s.ctx) state = 'bound';
      else state = 'idle';
      workers.push({
        pid: s.worker.pid, state, owner: s.ctx ? (s.ctx.owner ?? s.ctx.sessionId) : null,
        sessionId: s.ctx?.sessionId ?? null, rssBytes: s.worker.rssBytes(), startedAt: s.worker.startedAt,
      });
    }
    const numWorkers = [...this.slots].filter(s => !s.stopping).length;
    return { numWorkers, availableWorkers: Math.max(0, this.size - checkedOut), checkedOut, pendingRequests: pending, workers };
  }

  /** End every worker (no orphans); pending requests reject with pool_closed. */
  async close(): Promise<void> {
    if (this.closed && this.slots.size === 0) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) this.failWaiter(w, new PyCtxError('pool_closed', 'pool closed'));
    const exits: Promise<WorkerExit>[] = [];
    for (const s of this.slots) {
      s.stopping = true;
      if (s.ctx && s.ctx.state === 'bound') s.ctx.state = 'unbound';
      exits.push(s.worker.stop(500, { code: 'pool_closed', message: 'pool closed' }));
    }
    await Promise.all(exits);
    this.slots.clear();
    this.sessions.clear();
    this.emitStats();
  }

  // ---- internals: workers ------------------------------------------------------------

  private spawn(): Slot {
    const session = `pool-${newSessionId()}`;
    const worker = Worker.spawnSync({
      executable: this.python,
      pythonDir: this.pythonDir,
      cwd: this.opts.cwd ?? process.cwd(),
      env: { ...this.opts.env },
      maxFrameBytes: this.maxFrameBytes,
      preload: this.opts.preload ?? [],
      session,
      startTimeoutMs: this.opts.startTimeoutMs ?? 20000,
      interruptGraceMs: this.opts.interruptGraceMs ?? 2000,
    });
    const slot: Slot = {
      worker, ready: false, ctx: null, dirty: false, leased: false, stopping: false,
      statelessSession: session, readyPromise: Promise.resolve(),
    };
    this.slots.add(slot);
    this.sessions.set(session, slot);
    slot.readyPromise = worker.ready.then(() => {
      slot.ready = true;
      this.startFailures = 0;
      if (!this.codec) this.codec = worker.hello.codec;
      this.emitStats();
      this.serveWaiters();
    }, e => {
      this.startFailures++;
      throw e;
    });
    slot.readyPromise.catch(() => {});
    worker.on('busy', () => this.emitStats());
    worker.on('queue', () => this.emitStats());
    worker.on('exit', info => this.onWorkerExit(slot, info));
    this.emitStats();
    return slot;
  }

  /** Keep `warm` fresh idle workers (within size); recycle dirty idle ones to make room. */
  private maintain(): void {
    if (this.closed || this.startFailures >= 3) return;
    const live = [...this.slots].filter(s => !s.stopping);
    let fresh = live.filter(s => !s.ctx && !s.dirty).length;
    let total = live.length;
    while (fresh < this.warm) {
      if (total < this.size) {
        this.spawn(); fresh++; total++;
        continue;
      }
      const victim = live.find(s => !s.ctx && s.dirty && !s.leased && s.ready && !s.worker.busy);
      if (!victim) break;
      this.retire(victim);
      this.spawn(); fresh++;
    }
  }

  /** Stop a worker we no longer want (its exit is not a crash). */
  private retire(slot: Slot, reason?: { code: 'interrupted' | 'pool_closed' | 'context_not_bound'; message: string }): Promise<WorkerExit> {
    slot.stopping = true;
    this.emitStats();
    return slot.worker.stop(500, reason);
  }

  private onWorkerExit(slot: Slot, info: WorkerExit): void {
    this.slots.delete(slot);
    for (const [sid, s] of this.sessions) if (s === slot) this.sessions.delete(sid);
    const ctx = slot.ctx;
    slot.ctx = null;
    if (ctx && ctx.state === 'bound' && !slot.stopping) {
      ctx.state = 'lost';
      const ev: ContextLostEvent = {
        sessionId: ctx.sessionId, owner: ctx.owner, pid: slot.worker.pid,
        exitCode: info.exitCode, signal: info.signal,
        message: info.reason?.message ?? `worker ${slot.worker.pid} exited (code ${info.exitCode}, signal ${info.signal ?? 'none'})`,
      };
      ctx.emit('lost', ev);
      this.emit('contextLost', ev);
      this.emitRefs(ctx.sessionId);
    }
    this.emitStats();
    if (!this.closed) {
      this.maintain();
      this.serveWaiters();
    }
  }

  // ---- internals: acquiring workers ---------------------------------------------------

  private async bindNew(opts: BindOptions): Promise<Context> {
    if (this.closed) throw new PyCtxError('pool_closed', 'pool closed');
    const checkedOut = [...this.slots].filter(s => s.ctx).length;
    if (checkedOut >= this.size) {
      throw new PyCtxError('no_workers_available', `all ${this.size} workers are bound`);
    }
    const sessionId = opts.sessionId ?? newSessionId();
    if (this.sessions.has(sessionId)) {
      throw new PyCtxError('invalid_argument', `session ${sessionId} is already bound`);
    }
    const ctx = new Context(sessionId, opts.owner ?? null, opts.cwd, this.backend, this);
    (ctx as unknown as { bindOpts: BindOptions }).bindOpts = opts;
    await this.attach(ctx, opts);
    return ctx;
  }

  /** Give ctx a fresh worker: reserve it synchronously, wait until ready, configure the session. */
  private async attach(ctx: Context, opts: BindOptions): Promise<void> {
    const slot = await this.reserveFresh(ctx);
    try {
      await slot.readyPromise;
      const fields: Record<string, unknown> = {
        session: ctx.sessionId,
        max_refs_per_session: opts.maxRefsPerSession ?? this.opts.maxRefsPerSession ?? 10000,
      };
      const ttl = opts.refTtlSeconds !== undefined ? opts.refTtlSeconds : this.opts.refTtlSeconds;
      if (ttl !== undefined && ttl !== null) fields.ref_ttl_seconds = ttl;
      if (opts.cwd) { fields.cwd = opts.cwd; fields.sys_path0 = opts.cwd; slot.dirty = true; }
      await slot.worker.request({ op: 'configure', fields, timeoutMs: 10000 });
    } catch (e) {
      if (slot.ctx === ctx) slot.ctx = null;
      this.sessions.delete(ctx.sessionId);
      if (!slot.worker.exited) this.retire(slot);
      this.maintain();
      throw e;
    }
    this.sessions.set(ctx.sessionId, slot);
    this.maintain();
    this.emitStats();
  }

  /** A fresh (never used) worker for ctx, spawning or recycling as needed. */
  private async reserveFresh(ctx: Context): Promise<Slot> {
    for (;;) {
      if (this.closed) throw new PyCtxError('pool_closed', 'pool closed');
      const live = [...this.slots].filter(s => !s.stopping);
      const fresh = live.filter(s => !s.ctx && !s.dirty && !s.leased && !s.worker.busy);
      const pick = fresh.find(s => s.ready) ?? fresh[0];
      if (pick) { pick.ctx = ctx; this.emitStats(); return pick; }
      if (live.length < this.size) {
        const s = this.spawn();
        s.ctx = ctx;
        return s;
      }
      const victim = live.find(s => !s.ctx && s.dirty && !s.leased && !s.worker.busy);
      if (victim) {
        this.retire(victim);
        const s = this.spawn();
        s.ctx = ctx;
        return s;
      }
      // Every unbound worker is busy with stateless work: wait for one to finish.
      await new Promise<void>(r => this.wakers.push(r));
    }
  }

  /** A free unbound worker for a stateless request (prefers already-used ones, keeping fresh ones for binds). */
  private takeFree(): Slot | undefined {
    let fresh: Slot | undefined;
    for (const s of this.slots) {
      if (s.stopping || s.ctx || s.leased || !s.ready || s.worker.busy) continue;
      if (s.dirty) { s.leased = true; return s; }
      fresh ??= s;
    }
    if (fresh) { fresh.leased = true; return fresh; }
    return undefined;
  }

  private acquireFree(opts: CallOptions, mode: AffinityMode): Promise<Slot> {
    if (this.closed) return Promise.reject(new PyCtxError('pool_closed', 'pool closed'));
    const s = this.takeFree();
    if (s) return Promise.resolve(s);
    const live = [...this.slots].filter(x => !x.stopping).length;
    if (live < this.size) this.spawn();
    else if (mode === 'strict_fail_fast') {
      return Promise.reject(new PyCtxError('worker_busy', 'no free worker for a stateless request (strict_fail_fast)'));
    }
    if (this.waiters.length >= (this.opts.maxQueueLength ?? 1000)) {
      return Promise.reject(new PyCtxError('pool_saturated', `${this.waiters.length} requests already wait for a free worker (maxQueueLength)`));
    }
    return new Promise<Slot>((resolve, reject) => {
      const w: Waiter = { resolve, reject, timers: [] };
      const qt = this.opts.queueTimeoutMs;
      if (qt !== undefined && Number.isFinite(qt)) {
        w.timers.push(setTimeout(() => this.dropWaiter(w, new PyCtxError('pool_saturated', `no free worker within ${qt} ms (queueTimeoutMs)`)), qt));
      }
      const t = opts.timeoutMs ?? this.opts.requestTimeoutMs;
      if (t !== undefined && Number.isFinite(t)) {
        w.timers.push(setTimeout(() => this.dropWaiter(w, new PyCtxError('timeout', `timed out after ${t} ms while waiting for a worker; it never ran`)), t));
      }
      if (opts.signal) {
        w.signal = opts.signal;
        w.onAbort = () => this.dropWaiter(w, new PyCtxError('interrupted', 'request aborted while waiting for a worker; it never ran'));
        opts.signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.emitStats();
    });
  }

  private dropWaiter(w: Waiter, err: unknown): void {
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    this.failWaiter(w, err);
    this.emitStats();
  }

  private failWaiter(w: Waiter, err: unknown): void {
    for (const t of w.timers) clearTimeout(t);
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    w.reject(err);
  }

  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const s = this.takeFree();
      if (!s) return;
      const w = this.waiters.shift()!;
      for (const t of w.timers) clearTimeout(t);
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.resolve(s);
    }
  }

  // ---- internals: routing requests -----------------------------------------------------

  private route(op: string, fields: Record<string, unknown>, opts: CallOptions, argValues: unknown[]): Promise<unknown> {
    const ctx = this.implicit.getStore()?.ctx;
    if (ctx && ctx.state !== 'unbound') {
      return this.backend.request(ctx, op, fields, { ...opts, userCode: true, stateless: true });
    }
    const ref = findRef(argValues);
    if (ref) return this.routeRef(ref, op, fields, opts);
    return this.stateless(op, fields, opts, opts.affinity ?? this.affinity);
  }

  /** A request that must run where `ref` lives. */
  private routeRef(ref: Ref, op: string, fields: Record<string, unknown>, opts: CallOptions): Promise<unknown> {
    const bound = this.implicit.getStore()?.ctx;
    if (bound && bound.state !== 'unbound') return this.backend.request(bound, op, fields, { ...opts, userCode: true, stateless: false });
    if (!isRef(ref)) return Promise.reject(new PyCtxError('invalid_ref', 'not a ref handle'));
    const slot = this.sessions.get(ref.session_id);
    if (!slot || slot.worker.exited || slot.stopping) {
      return Promise.reject(new PyCtxError('session_worker_unavailable', `no live worker holds session ${ref.session_id}`));
    }
    if (slot.ctx) return this.backend.request(slot.ctx, op, fields, { ...opts, userCode: true, stateless: false });
    return this.send(slot, slot.statelessSession, op, fields, opts);
  }

  private async stateless(op: string, fields: Record<string, unknown>, opts: CallOptions, mode: AffinityMode): Promise<unknown> {
    const started = Date.now();
    const slot = await this.acquireFree(opts, mode);
    slot.dirty = true;
    try {
      const total = opts.timeoutMs ?? this.opts.requestTimeoutMs;
      const left = total === undefined ? undefined : Math.max(1, total - (Date.now() - started));
      return await this.send(slot, slot.statelessSession, op, fields, { ...opts, timeoutMs: left });
    } finally {
      slot.leased = false;
      this.serveWaiters();
      this.emitStats();
    }
  }

  /** Put one request on a worker's queue with session and runtime context attached. */
  private send(slot: Slot, session: string, op: string, fields: Record<string, unknown>, opts: CallOptions,
    extra: { onEvent?: (ev: Record<string, unknown>) => void; onInput?: ExecuteOptions['onInput']; queueTimeoutMs?: number } = {}): Promise<unknown> {
    const rc = this.runtime.getStore();
    const runtimeContext = rc && opts.runtimeContext ? { ...rc, ...opts.runtimeContext } : (opts.runtimeContext ?? rc);
    const f: Record<string, unknown> = { ...fields, session };
    if (runtimeContext && op !== 'attr') f.runtime_context = runtimeContext;
    const p = slot.worker.request({
      op, fields: f,
      timeoutMs: opts.timeoutMs ?? this.opts.requestTimeoutMs,
      queueTimeoutMs: extra.queueTimeoutMs,
      signal: opts.signal,
      onEvent: extra.onEvent,
      onInput: extra.onInput,
    });
    if (REF_OPS.has(op) && this.listenerCount('refs') > 0) {
      const after = (): void => this.emitRefs(session);
      p.then(after, after);
    }
    return p;
  }

  private makeBackend(): ContextBackend {
    const pool = this;
    const slotOf = (ctx: Context): Slot | undefined => {
      const s = pool.sessions.get(ctx.sessionId);
      return s && s.ctx === ctx ? s : undefined;
    };
    const liveSlot = async (ctx: Context): Promise<Slot> => {
      if (ctx.pendingWorker) await ctx.pendingWorker.catch(() => {});
      if (ctx.state === 'unbound') throw new PyCtxError('context_not_bound', `context ${ctx.sessionId} is not bound`);
      const s = slotOf(ctx);
      if (ctx.state === 'lost' || !s || s.worker.exited || s.stopping) {
        throw new PyCtxError('session_worker_unavailable', `the worker of session ${ctx.sessionId} is gone; bind again`);
      }
      return s;
    };
    /** Affinity decision for a bound context; returns undefined to go to another worker (hint). */
    const admit = (ctx: Context, s: Slot, opts: RequestOpts): 'here' | 'elsewhere' => {
      if (!s.worker.busy) return 'here';
      const mode = opts.affinity ?? pool.affinity;
      if (mode === 'strict_fail_fast') {
        throw new PyCtxError('worker_busy', `the worker of session ${ctx.sessionId} is busy (strict_fail_fast)`);
      }
      if (mode === 'hint' && opts.stateless) return 'elsewhere';
      const max = pool.opts.maxQueueLength ?? 1000;
      if (s.worker.queueLength >= max) {
        throw new PyCtxError('pool_saturated', `${s.worker.queueLength} requests already queued for session ${ctx.sessionId} (maxQueueLength)`);
      }
      return 'here';
    };

    return {
      async request(ctx, op, fields, opts) {
        let s: Slot;
        try {
          s = await liveSlot(ctx);
        } catch (e) {
          // hint: stateless work may run anywhere, even when the session's worker is gone.
          if ((e as PyCtxError).code === 'session_worker_unavailable' && (opts.affinity ?? pool.affinity) === 'hint' && opts.stateless && !findRef([fields])) {
            return pool.stateless(op, fields, opts, 'hint');
          }
          throw e;
        }
        if (admit(ctx, s, opts) === 'elsewhere' && !findRef([fields])) {
          const free = pool.takeFree();
          if (free) {
            free.dirty = true;
            try { return await pool.send(free, free.statelessSession, op, fields, opts); } finally {
              free.leased = false; pool.serveWaiters(); pool.emitStats();
            }
          }
        }
        if (opts.userCode) s.dirty = true;
        const v = await pool.send(s, ctx.sessionId, op, fields, opts, { queueTimeoutMs: pool.opts.queueTimeoutMs });
        if (op === 'exec') {
          const r = v as { status?: string; error?: { ename: string; evalue: string; traceback: string[] } };
          if (r && r.status === 'error' && r.error) {
            throw new PyCtxError('python_error', `${r.error.ename}: ${r.error.evalue}`, { ...r.error, pid: s.worker.pid });
          }
          return undefined;
        }
        return v;
      },

      async execute(ctx, code, opts) {
        const s = await liveSlot(ctx);
        const mode = opts.affinity ?? pool.affinity;
        if (s.worker.busy && mode === 'strict_fail_fast') {
          throw new PyCtxError('worker_busy', `the worker of session ${ctx.sessionId} is busy (strict_fail_fast)`);
        }
        s.dirty = true;
        const onEvent = (ev: Record<string, unknown>): void => {
          switch (ev.event) {
            case 'stream':
              opts.onStream?.({ name: ev.name === 'stderr' ? 'stderr' : 'stdout', text: String(ev.text ?? '') });
              break;
            case 'display':
            case 'update_display': {
              const transient = (ev.transient ?? undefined) as { display_id?: string } | undefined;
              opts.onDisplay?.({
                data: (ev.data ?? {}) as Record<string, unknown>,
                metadata: (ev.metadata ?? {}) as Record<string, unknown>,
                transient, update: ev.event === 'update_display', displayId: transient?.display_id,
              });
              break;
            }
            case 'clear_output':
              opts.onClearOutput?.({ wait: ev.wait === true });
              break;
          }
        };
        const fields: Record<string, unknown> = { code };
        if (opts.storeHistory === false) fields.store_history = false;
        try {
          const r = await pool.send(s, ctx.sessionId, 'exec', fields, opts,
            { onEvent, onInput: opts.onInput, queueTimeoutMs: pool.opts.queueTimeoutMs }) as Record<string, unknown>;
          const out: ExecuteResult = {
            status: r.status === 'error' ? 'error' : 'ok',
            executionCount: Number(r.execution_count ?? 0),
          };
          if (r.result) out.result = r.result as ExecuteResult['result'];
          if (r.error) out.error = r.error as ExecuteResult['error'];
          return out;
        } catch (e) {
          // A Python-level failure reported as a wire error is still a normal cell outcome.
          const err = e as PyCtxError;
          if (err instanceof PyCtxError && (err.code === 'python_error' || err.code === 'interrupted') && err.ename) {
            return { status: 'error', executionCount: 0, error: { ename: err.ename, evalue: err.evalue ?? '', traceback: err.traceback ?? [] } };
          }
          throw e;
        }
      },

      interrupt(ctx) {
        const s = slotOf(ctx);
        return !!s && s.worker.interrupt();
      },

      async unbind(ctx) {
        if (ctx.pendingWorker) await ctx.pendingWorker.catch(() => {});
        if (ctx.state === 'unbound') return;
        const s = slotOf(ctx);
        ctx.state = 'unbound';
        pool.sessions.delete(ctx.sessionId);
        ctx.emit('unbound');
        if (!s) { pool.emitStats(); return; }
        s.ctx = null;
        if (s.dirty || s.worker.busy) {
          const reason = { code: 'context_not_bound' as const, message: `context ${ctx.sessionId} was unbound while the request was pending` };
          if (s.worker.busy) { s.stopping = true; s.worker.kill(reason); await s.worker.closed; }
          else await pool.retire(s, reason);
        } else {
          // Never ran user code: back to the fresh idle set under its own session.
          pool.sessions.set(s.statelessSession, s);
          pool.serveWaiters();
        }
        pool.emitStats();
        pool.maintain();
      },

      async restart(ctx) {
        if (ctx.state === 'unbound') throw new PyCtxError('context_not_bound', `context ${ctx.sessionId} is not bound`);
        const run = async (): Promise<void> => {
          const old = slotOf(ctx);
          if (old) {
            old.ctx = null;
            old.stopping = true;
            pool.sessions.delete(ctx.sessionId);
            const reason = { code: 'interrupted' as const, message: `context ${ctx.sessionId} was restarted while the request was pending` };
            if (old.worker.busy) old.worker.kill(reason);
            else void old.worker.stop(500, reason);
            await old.worker.closed;
          }
          ctx.state = 'bound';
          try {
            await pool.attach(ctx, (ctx as unknown as { bindOpts: BindOptions }).bindOpts ?? {});
          } catch (e) {
            ctx.state = 'lost';
            throw e;
          }
          ctx.emit('restarted', { pid: ctx.pid });
          pool.emitRefs(ctx.sessionId);
        };
        const p = run();
        ctx.pendingWorker = p;
        try { await p; } finally { if (ctx.pendingWorker === p) ctx.pendingWorker = null; }
      },

      async control(ctx, op, fields, timeoutMs) {
        const s = await liveSlot(ctx);
        if (!s.ready) await s.readyPromise;
        return s.worker.control(op, fields, timeoutMs);
      },

      refs(sessionId) { return pool.refs(sessionId); },
      busy(ctx) { return !!slotOf(ctx)?.worker.busy; },
      pid(ctx) { return slotOf(ctx)?.worker.pid ?? -1; },
    };
  }

  // ---- internals: events -----------------------------------------------------------------

  private emitStats(): void {
    if (this.wakers.length > 0) {
      const w = this.wakers;
      this.wakers = [];
      for (const f of w) queueMicrotask(f);
    }
    if (this.statsScheduled || this.listenerCount('stats') === 0) return;
    this.statsScheduled = true;
    setImmediate(() => {
      this.statsScheduled = false;
      this.emit('stats', this.stats());
    });
  }

  private emitRefs(sessionId: string): void {
    if (this.listenerCount('refs') > 0) this.emit('refs', { sessionId });
  }
}
