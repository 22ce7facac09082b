// Pool: the public entry of the library. Owns the set of workers and the policy
// around them: warm spares, binding to contexts (explicit handles and implicit
// AsyncLocalStorage scopes; a bind whose worker dies before it is handed over takes
// another; waiting binds are served before queued stateless calls), stateless
// calls on free workers, affinity modes, the `size` cap (never more live workers),
// recycling of workers that ran user code, replacement after crashes, sessions
// and refs routing, runtime context, and stats/refs events. What each Context
// method does is in backend.ts; process-level work (framing, timeouts, input) is
// in worker.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DEFAULT_MAX_FRAME_BYTES, Op, type WireRefInfo } from '../protocol/wire';
import { execReplyOrThrow, lateOutputEvent } from './cells';
import { Context, REF_CODE, STATELESS_CODE, type ContextBackend } from './context';
import { PyCtxError } from './errors';
import { checkLauncher } from './launch';
import { findPythonDir, loadExeca, resolvePython } from './python';
import { findRef, isRef, toRefInfo } from './refs';
import type {
  AffinityMode, BindOptions, CallOptions, ContextLostEvent, ExecuteOptions, ExecuteResult,
  HelloInfo, LateOutputEvent, PoolOptions, PoolStats, Ref, RefInfo, ShellMode, WorkerState, WorkerStatsEntry,
} from './types';
import { IPYTHON_MODES } from './types';
import { Worker, type WorkerExit } from './worker';
import { WaitQueue } from './wait-queue';
import { makeBackend, type SendExtra, type Slot } from './backend';

/** Implicit binding of an async scope. */
interface Holder { ctx: Context | null }

export interface PoolEvents {
  stats: [PoolStats];
  refs: [{ sessionId: string }];
  contextLost: [ContextLostEvent];
  /** Output of any worker's finished request (also emitted on its Context when bound). */
  lateOutput: [LateOutputEvent];
}

const newSessionId = (): string => randomBytes(12).toString('hex');
const REF_OPS = new Set<string>([Op.exec, Op.eval, Op.call, Op.method, Op.attr]);
/** PoolOptions.refillDelayMs default (see there). */
const DEFAULT_REFILL_DELAY_MS = 500;

export class Pool extends EventEmitter<PoolEvents> {
  /** Smallest memoryLimitBytes: below it a worker could not even start (an idle one maps ~30 MiB). */
  static readonly MIN_MEMORY_LIMIT_BYTES = 128 << 20;
  /** Resolved interpreter (real sys.executable). */
  readonly python: string;
  readonly pythonVersion: string;
  /** Codec of the workers ('msgpack' C extension or the worker's own). */
  codec = '';
  /** The layer the workers run cells with (first worker's hello): 'ipython' or 'builtin'. */
  shell: ShellMode | '' = '';
  /** IPython's version when shell is 'ipython'; why IPython was not used, when wanted. */
  ipythonVersion: string | null = null;
  shellNote: string | null = null;
  readonly size: number;
  readonly warm: number;
  readonly affinity: AffinityMode;
  readonly maxFrameBytes: number;

  private readonly slots = new Set<Slot>();
  /** Stateless requests waiting for a free unbound worker. */
  private readonly waiters = new WaitQueue<Slot>(() => this.emitStats());
  /** Binds waiting for a fresh worker, in order; served before `waiters` (see serveWaiters). */
  private readonly bindWaiters = new WaitQueue<Slot, Context>(() => this.emitStats());
  private readonly sessions = new Map<string, Slot>();
  private readonly implicit = new AsyncLocalStorage<Holder>();
  private readonly runtime = new AsyncLocalStorage<Record<string, unknown>>();
  private readonly finalizer = new FinalizationRegistry<Context>(ctx => { void ctx.unbind().catch(() => {}); });
  private readonly backend: ContextBackend;
  private readonly pythonDir: string;
  private closed = false;
  private statsScheduled = false;
  /** Consecutive workers that failed to start on their own (not killed from outside). */
  private startFailures = 0;
  private serving = false;
  private serveScheduled = false;

  private constructor(private readonly opts: PoolOptions, resolved: { executable: string; version: string }) {
    super();
    this.python = resolved.executable;
    this.pythonVersion = resolved.version;
    this.size = Math.max(1, opts.size ?? 4);
    this.warm = Math.min(this.size, Math.max(0, opts.warm ?? 1));
    this.affinity = opts.affinity ?? 'strict_queue';
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.pythonDir = findPythonDir();
    this.backend = makeBackend({
      sessions: this.sessions, affinity: this.affinity, opts: this.opts,
      takeFree: () => this.takeFree(),
      send: (slot, session, op, fields, opts, extra) => this.send(slot, session, op, fields, opts, extra),
      stateless: (op, fields, opts, mode) => this.stateless(op, fields, opts, mode),
      serveWaiters: () => this.serveWaiters(),
      emitStats: () => this.emitStats(),
      emitRefs: sessionId => this.emitRefs(sessionId),
      retire: (slot, reason) => this.retire(slot, reason),
      maintain: () => this.maintain(),
      attach: (ctx, opts, replacing) => this.attach(ctx, opts, replacing),
      refs: sessionId => this.refs(sessionId),
    });
  }

  /** Resolve the interpreter once, start `warm` workers and wait until they answered hello. */
  static async start(opts: PoolOptions = {}): Promise<Pool> {
    if (opts.size !== undefined && (!Number.isInteger(opts.size) || opts.size < 1)) {
      throw new PyCtxError('invalid_argument', `size must be a positive integer, got ${opts.size}`);
    }
    if (opts.ipython !== undefined && !IPYTHON_MODES.includes(opts.ipython)) {
      throw new PyCtxError('invalid_argument', `ipython must be 'auto' or 'off', got ${JSON.stringify(opts.ipython)}`);
    }
    const limit = opts.memoryLimitBytes;
    if (limit !== undefined && limit !== 0 && (!Number.isFinite(limit) || limit < Pool.MIN_MEMORY_LIMIT_BYTES)) {
      throw new PyCtxError('invalid_argument', `memoryLimitBytes must be 0 (no limit) or at least ${Pool.MIN_MEMORY_LIMIT_BYTES} (128 MiB), got ${limit}`);
    }
    const launcher = checkLauncher(opts.launcher);
    if (opts.heartbeatMs !== undefined && !(Number.isFinite(opts.heartbeatMs) && opts.heartbeatMs >= 0)) {
      throw new PyCtxError('invalid_argument', `heartbeatMs must be 0 (off) or a positive number of milliseconds, got ${opts.heartbeatMs}`);
    }
    await loadExeca();
    const resolved = await resolvePython(opts.python, launcher, opts.startTimeoutMs ?? 60000);
    const pool = new Pool({ ...opts, launcher }, resolved);
    const first = pool.spawn();
    try {
      await first.readyPromise;
    } catch (e) {
      await pool.close();
      throw e;
    }
    pool.learnShell(first.worker.hello);
    pool.maintain();
    await Promise.all([...pool.slots].map(s => s.readyPromise.catch(() => {})));
    return pool;
  }

  private learnShell(hello: HelloInfo): void {
    this.codec = hello.codec;
    this.shell = hello.shell ?? 'builtin';
    this.ipythonVersion = hello.ipython_version ?? null;
    this.shellNote = hello.shell_note ?? null;
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
    return this.route(Op.call, { module, fn, args, kwargs }, opts, [args, kwargs]);
  }

  eval(code: string, locals?: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    const fields: Record<string, unknown> = { code };
    if (locals !== undefined) fields.locals = locals;
    return this.route(Op.eval, fields, opts, [locals]);
  }

  async exec(code: string, opts: CallOptions = {}): Promise<void> {
    await this.route(Op.exec, { code, store_history: false }, opts, []);
  }

  /** ref.name(...) on the worker holding the ref (strict: never moved). */
  method(ref: Ref, name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<any> {
    return this.routeRef(ref, Op.method, { ref, name, args, kwargs }, opts);
  }

  attr(ref: Ref, name: string, opts: CallOptions = {}): Promise<any> {
    return this.routeRef(ref, Op.attr, { ref, name }, opts);
  }

  /** A notebook-style cell in the bound scope (see Context.execute). */
  execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const ctx = this.currentContext();
    if (!ctx) return Promise.reject(new PyCtxError('context_not_bound', 'execute() needs a bound scope: call pool.bind() first'));
    return ctx.execute(code, opts);
  }

  // ---- refs and sessions -------------------------------------------------------------

  /**
   * Release one ref (a handle, or { sessionId, refId } as listed by refs());
   * false if it was already gone (released, expired, evicted, worker gone).
   */
  async releaseRef(handle: Ref | { sessionId: string; refId: string }): Promise<boolean> {
    const ref: Ref = 'refId' in handle && typeof handle.refId === 'string'
      ? { __type__: 'ref', __schema__: 1, id: handle.refId, session_id: handle.sessionId, type_name: '', python_module: '' }
      : handle as Ref;
    if (!isRef(ref)) throw new PyCtxError('invalid_ref', 'releaseRef needs a ref handle ({__type__: "ref", __schema__: 1, id, session_id})');
    const slot = this.sessions.get(ref.session_id);
    if (!slot || slot.worker.exited) return false;
    const v = await slot.worker.request({ op: Op.refsRelease, fields: { ref, session: ref.session_id } }) as { released?: boolean };
    this.emitRefs(ref.session_id);
    return v?.released === true;
  }

  /** Release every ref of a session (its worker stays bound); returns how many were freed. */
  async releaseSession(sessionId: string): Promise<number> {
    const slot = this.sessions.get(sessionId);
    if (!slot || slot.worker.exited) return 0;
    const v = await slot.worker.request({ op: Op.sessionRelease, fields: { session: sessionId } }) as { count?: number };
    this.emitRefs(sessionId);
    return Number(v?.count ?? 0);
  }

  /** Refs of one session, or of every live session; served by the control channel, so it answers during a cell. */
  async refs(sessionId?: string, opts: { timeoutMs?: number } = {}): Promise<RefInfo[]> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    if (sessionId !== undefined) {
      const slot = this.sessions.get(sessionId);
      if (!slot || slot.worker.exited || !slot.ready) return [];
      const list = await slot.worker.control(Op.refsList, { session: sessionId }, timeoutMs) as WireRefInfo[];
      return (list ?? []).map(toRefInfo);
    }
    const out: RefInfo[] = [];
    for (const slot of this.slots) {
      if (!slot.ready || slot.worker.exited || slot.stopping) continue;
      const list = await slot.worker.control(Op.refsList, {}, timeoutMs).catch(() => []) as WireRefInfo[];
      out.push(...(list ?? []).map(toRefInfo));
    }
    return out;
  }

  /** Contexts currently bound (explicit and implicit), oldest first. */
  contexts(): Context[] {
    return [...this.slots].map(s => s.ctx).filter((c): c is Context => c !== null && c.state === 'bound')
      .sort((a, b) => a.boundAt - b.boundAt);
  }

  /** Session ids known to the pool (bound contexts and stateless workers). */
  sessionIds(): string[] { return [...this.sessions.keys()]; }

  // ---- stats and lifecycle -----------------------------------------------------------

  stats(): PoolStats { return this.snapshot(false); }

  /**
   * Pool stats; with lazyRss each worker's rssBytes is read from /proc only when
   * (first) accessed, so the 'stats' event costs no /proc reads on the request hot
   * path when its listeners only take it as a change signal.
   */
  private snapshot(lazyRss: boolean): PoolStats {
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
      const entry = {
        pid: s.worker.pid, state, owner: s.ctx ? (s.ctx.owner ?? s.ctx.sessionId) : null,
        sessionId: s.ctx?.sessionId ?? null, rssBytes: 0, startedAt: s.worker.startedAt,
      } as WorkerStatsEntry;
      if (lazyRss) {
        const w = s.worker;
        let rss: number | undefined;
        Object.defineProperty(entry, 'rssBytes', { enumerable: true, configurable: true, get: () => (rss ??= w.rssBytes()) });
      } else entry.rssBytes = s.worker.rssBytes();
      workers.push(entry);
    }
    const numWorkers = this.live().length;
    return {
      numWorkers, availableWorkers: Math.max(0, this.size - checkedOut), checkedOut, pendingRequests: pending,
      waitingBinds: this.bindWaiters.length, workers,
    };
  }

  /** End every worker (no orphans); pending requests reject with pool_closed. */
  async close(): Promise<void> {
    if (this.closed && this.slots.size === 0) return;
    this.closed = true;
    this.waiters.failAll(new PyCtxError('pool_closed', 'pool closed'));
    this.bindWaiters.failAll(new PyCtxError('pool_closed', 'pool closed while the bind waited for a worker'));
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
      env: {
        ...this.opts.env,
        PYCTX_IPYTHON: this.opts.ipython ?? 'auto',
        ...(this.opts.memoryLimitBytes ? { PYCTX_MEMORY_LIMIT: String(Math.floor(this.opts.memoryLimitBytes)) } : {}),
      },
      maxFrameBytes: this.maxFrameBytes,
      preload: this.opts.preload ?? [],
      session,
      startTimeoutMs: this.opts.startTimeoutMs ?? 60000,  // IPython's import (or a scheduler's queue) on a loaded machine takes seconds
      interruptGraceMs: this.opts.interruptGraceMs ?? 2000,
      launcher: this.opts.launcher,
      heartbeatMs: this.opts.heartbeatMs ?? 5000,
    });
    const slot: Slot = {
      worker, ready: false, ctx: null, attaching: false, dirty: false, leased: false, stopping: false,
      statelessSession: session, readyPromise: Promise.resolve(),
    };
    this.slots.add(slot);
    this.sessions.set(session, slot);
    slot.readyPromise = worker.ready.then(() => {
      slot.ready = true;
      this.startFailures = 0;
      if (!this.codec) this.learnShell(worker.hello);
      this.emitStats();
      this.serveWaiters();
    }, e => {
      // A worker killed from outside before its hello (a crash storm, the OOM killer)
      // says nothing about the interpreter: only failures of its own stop maintain().
      if (!killedFromOutside(worker)) this.startFailures++;
      throw e;
    });
    slot.readyPromise.catch(() => {});
    worker.on('busy', () => this.emitStats());
    worker.on('queue', () => this.emitStats());
    worker.on('exit', info => this.onWorkerExit(slot, info));
    worker.on('lateOutput', (ev: Record<string, unknown>) => this.onLateOutput(slot, ev));
    this.emitStats();
    return slot;
  }

  /** Workers that count against `size`: every one not being ended. */
  private live(): Slot[] {
    const out: Slot[] = [];
    for (const s of this.slots) if (!s.stopping) out.push(s);
    return out;
  }

  /** An idle worker that ran user code: recycling it makes room for a fresh one. */
  private recyclable(live: Slot[]): Slot | undefined {
    return live.find(s => !s.stopping && !s.ctx && s.dirty && !s.leased && s.ready && !s.worker.busy);
  }

  /** Keep `warm` fresh idle workers (within size); recycle dirty idle ones to make room. */
  private maintain(): void {
    if (this.closed || this.startFailures >= 3) return;
    const live = this.live();
    let fresh = live.filter(s => !s.ctx && !s.dirty).length;
    while (fresh < this.warm) {
      // Recount each round: a retired victim is `stopping` and no longer counts, and
      // is never picked twice (it once was, starting a worker too many).
      if (this.live().length >= this.size) {
        const victim = this.recyclable(live);
        if (!victim) break;
        this.retire(victim);
      }
      this.spawn(); fresh++;
    }
  }

  /** Stop a worker we no longer want (its exit is not a crash). */
  private retire(slot: Slot, reason?: { code: 'interrupted' | 'pool_closed' | 'context_not_bound'; message: string }): Promise<WorkerExit> {
    slot.stopping = true;
    this.emitStats();
    // Its place is free now (numWorkers counts live workers): a waiting bind may take it.
    this.serveSoon();
    return slot.worker.stop(500, reason);
  }

  private onWorkerExit(slot: Slot, info: WorkerExit): void {
    this.slots.delete(slot);
    for (const [sid, s] of this.sessions) if (s === slot) this.sessions.delete(sid);
    const ctx = slot.ctx;
    slot.ctx = null;
    // A context still being attached was never handed over: attach() takes another worker.
    if (ctx && ctx.state === 'bound' && !slot.stopping && !slot.attaching) {
      ctx.state = 'lost';
      const ev: ContextLostEvent = {
        sessionId: ctx.sessionId, owner: ctx.owner, pid: slot.worker.pid,
        exitCode: info.exitCode, signal: info.signal,
        message: info.reason?.message ?? info.message ?? `worker ${slot.worker.pid} exited (code ${info.exitCode}, signal ${info.signal ?? 'none'})`,
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

  /** A finished request's output (a thread or child process printed after the reply). */
  private onLateOutput(slot: Slot, ev: Record<string, unknown>): void {
    const ctx = slot.ctx;
    const out = lateOutputEvent(ev, ctx?.sessionId ?? slot.statelessSession, slot.worker.pid);
    if (!out) return;
    if (ctx && ctx.state === 'bound') ctx.emit('lateOutput', out);
    this.emit('lateOutput', out);
  }

  // ---- internals: acquiring workers ---------------------------------------------------
  //
  // Who gets a worker that frees up (a stateless call ends, a context unbinds, a
  // worker is recycled, crashes or finishes starting): waiting binds first, in
  // order, then queued stateless calls. So a bind waits at most for one call to
  // end, however steady the stateless traffic. A bind that cannot be served at once
  // waits in `bindWaiters`; it fails fast (no_workers_available) only when every
  // worker is bound and the caller did not ask to wait (BindOptions.waitForWorker).

  private async bindNew(opts: BindOptions): Promise<Context> {
    if (this.closed) throw new PyCtxError('pool_closed', 'pool closed');
    if (!opts.waitForWorker && this.boundCount() >= this.size) throw this.allBound();
    const sessionId = opts.sessionId ?? newSessionId();
    if (this.sessions.has(sessionId)) {
      throw new PyCtxError('invalid_argument', `session ${sessionId} is already bound`);
    }
    const ctx = new Context(sessionId, opts.owner ?? null, opts.cwd, this.backend, this);
    (ctx as unknown as { bindOpts: BindOptions }).bindOpts = opts;
    await this.attach(ctx, opts);
    return ctx;
  }

  private boundCount(except?: Context): number {
    let n = 0;
    for (const s of this.slots) if (s.ctx && s.ctx !== except) n++;
    return n;
  }

  private allBound(): PyCtxError {
    return new PyCtxError('no_workers_available',
      `all ${this.size} workers are bound to other contexts; unbind one, or bind with waitForWorker to wait for one`);
  }

  /**
   * Give ctx a fresh worker: reserve one (or wait in line), wait until it is ready,
   * configure the session. A worker killed from outside before it was handed over
   * (before its hello, or during configure) is not the caller's failure: the bind
   * takes the next worker.
   */
  private async attach(ctx: Context, opts: BindOptions, replacing = false): Promise<void> {
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
        if (this.sessions.get(ctx.sessionId) === slot) this.sessions.delete(ctx.sessionId);
        if (this.closed) throw new PyCtxError('pool_closed', 'pool closed while the bind was starting its worker');
        // Cancelled before configure: the worker is as fresh as it was; keep it.
        if (!slot.worker.exited && configured) this.retire(slot);
        if (slot.worker.exited && killedFromOutside(slot.worker) && !opts.signal?.aborted) {
          if (how === 'new') how = 'retry';   // it had its turn: take the next worker before later binds
          continue;
        }
        this.maintain();
        this.serveWaiters();
        throw e;
      }
      slot.attaching = false;
      this.sessions.set(ctx.sessionId, slot);
      // Topping up the warm set spawns a process whose start-up takes a core for a while:
      // not on the bind's path, and not while its first cell runs and renders (refillDelayMs).
      this.maintainSoon();
      this.emitStats();
      return;
    }
  }

  private maintainScheduled = false;
  private maintainSoon(): void {
    if (this.maintainScheduled) return;
    this.maintainScheduled = true;
    const run = () => { this.maintainScheduled = false; this.maintain(); };
    const delay = this.opts.refillDelayMs ?? DEFAULT_REFILL_DELAY_MS;
    if (delay > 0) setTimeout(run, delay).unref(); else setImmediate(run);
  }

  /**
   * A fresh worker reserved for ctx: at once when one can be had without overtaking
   * waiting binds, else in line. A bind retrying after its worker was killed, and a
   * restart's replacement (it keeps its context's place), go ahead of waiting binds;
   * a restart never fails for lack of workers (its old one just left).
   */
  private reserve(ctx: Context, opts: BindOptions, how: 'new' | 'retry' | 'replace'): Promise<Slot> {
    if (this.closed) return Promise.reject(new PyCtxError('pool_closed', 'pool closed'));
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
    if (this.closed) return undefined;
    const live = this.live();
    let starting: Slot | undefined;
    for (const s of live) {
      if (s.ctx || s.dirty || s.leased) continue;
      if (!s.ready) { starting ??= s; continue; }   // busy only with its hello
      if (s.worker.busy) continue;
      s.ctx = ctx; this.emitStats(); return s;
    }
    if (starting) { starting.ctx = ctx; this.emitStats(); return starting; }
    if (live.length >= this.size) {
      const victim = this.recyclable(live);
      if (!victim) return undefined;
      this.retire(victim);
    }
    const s = this.spawn();
    s.ctx = ctx;
    return s;
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
    // Waiting binds go first (a free worker never sits idle while a bind waits, but be sure).
    if (this.bindWaiters.length > 0) this.serveWaiters();
    const s = this.takeFree();
    if (s) return Promise.resolve(s);
    if (this.live().length < this.size) this.spawn();
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
  private serveWaiters(): void {
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
  private serveSoon(): void {
    if (this.serveScheduled || (this.bindWaiters.length === 0 && this.waiters.length === 0)) return;
    this.serveScheduled = true;
    queueMicrotask(() => { this.serveScheduled = false; if (!this.closed) this.serveWaiters(); });
  }

  // ---- internals: routing requests -----------------------------------------------------

  private route(op: string, fields: Record<string, unknown>, opts: CallOptions, argValues: unknown[]): Promise<unknown> {
    const ctx = this.implicit.getStore()?.ctx;
    if (ctx && ctx.state !== 'unbound') {
      return this.backend.request(ctx, op, fields, opts, STATELESS_CODE);
    }
    const ref = findRef(argValues);
    if (ref) return this.routeRef(ref, op, fields, opts);
    return this.stateless(op, fields, opts, opts.affinity ?? this.affinity);
  }

  /**
   * A request that must run where `ref` lives: the bound scope's worker, unless the
   * ref belongs to another live session (e.g. made by a stateless call that 'hint'
   * ran elsewhere); then the worker of that session.
   */
  private routeRef(ref: Ref, op: string, fields: Record<string, unknown>, opts: CallOptions): Promise<unknown> {
    const bound = this.implicit.getStore()?.ctx;
    const elsewhere = isRef(ref) && bound && ref.session_id !== bound.sessionId ? this.sessions.get(ref.session_id) : undefined;
    if (bound && bound.state !== 'unbound' && !elsewhere) return this.backend.request(bound, op, fields, opts, REF_CODE);
    if (!isRef(ref)) return Promise.reject(new PyCtxError('invalid_ref', 'not a ref handle'));
    const slot = this.sessions.get(ref.session_id);
    if (!slot || slot.worker.exited || slot.stopping) {
      return Promise.reject(new PyCtxError('session_worker_unavailable', `no live worker holds session ${ref.session_id}`));
    }
    if (slot.ctx) return this.backend.request(slot.ctx, op, fields, opts, REF_CODE);
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

  /**
   * Put one request on a worker's queue with session and runtime context attached.
   * Every route ends here, so this is where an exec's error status becomes a
   * rejection (except for execute() cells) and where requests on an unbound
   * worker's own session get a fresh throwaway namespace (no state between
   * unrelated stateless callers).
   */
  private send(slot: Slot, session: string, op: string, fields: Record<string, unknown>, opts: CallOptions,
    extra: SendExtra = {}): Promise<unknown> {
    const rc = this.runtime.getStore();
    const runtimeContext = rc && opts.runtimeContext ? { ...rc, ...opts.runtimeContext } : (opts.runtimeContext ?? rc);
    // fields are built per call by our callers, so they are completed in place.
    const f = fields;
    f.session = session;
    if (runtimeContext && op !== Op.attr) f.runtime_context = runtimeContext;
    if (slot.ctx === null && session === slot.statelessSession) f.fresh_namespace = true;
    let p = slot.worker.request({
      op, fields: f,
      timeoutMs: opts.timeoutMs ?? this.opts.requestTimeoutMs,
      queueTimeoutMs: extra.queueTimeoutMs,
      signal: opts.signal,
      onEvent: extra.onEvent,
      onInput: extra.onInput,
      onTrace: extra.onTrace,
    });
    if (op === Op.exec && !extra.cell) {
      const pid = slot.worker.pid;
      p = p.then(v => { execReplyOrThrow(v, pid); return undefined; });
    }
    if (REF_OPS.has(op) && this.listenerCount('refs') > 0) {
      const after = (): void => this.emitRefs(session);
      p.then(after, after);
    }
    return p;
  }

  // ---- internals: events -----------------------------------------------------------------

  private emitStats(): void {
    // Any change of worker state may let a waiting bind through (a safety net: the
    // places that free a worker serve waiters directly).
    if (this.bindWaiters.length > 0) this.serveSoon();
    if (this.statsScheduled || this.listenerCount('stats') === 0) return;
    this.statsScheduled = true;
    setImmediate(() => {
      this.statsScheduled = false;
      this.emit('stats', this.snapshot(true));
    });
  }

  private emitRefs(sessionId: string): void {
    if (this.listenerCount('refs') > 0) this.emit('refs', { sessionId });
  }
}

/** Killed by a signal nobody in this process sent (a crash storm, the OOM killer, a user's kill). */
function killedFromOutside(w: Worker): boolean {
  const x = w.exitInfo;
  return !!x && x.signal !== null && !x.reason;
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
