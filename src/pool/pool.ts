// Pool: the public entry of the library. Composes the rooms below and owns what callers
// see: start-up, binding (explicit handles, implicit AsyncLocalStorage scopes), pool-level
// calls, refs and sessions, runtime context, stats and events. Workers' lifecycle: workers.ts;
// who gets a worker: broker.ts; where requests go: routing.ts; Context methods: backend.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { DEFAULT_MAX_FRAME_BYTES, Op, type WireRefInfo } from '../protocol/wire';
import { lateOutputEvent } from './cells';
import { Context, type ContextBackend } from './context';
import { PyCtxError } from './errors';
import { checkLauncher } from './launch';
import { findPythonDir, loadExeca, resolvePython } from './python';
import { isRef, toRefInfo } from './refs';
import type {
  AffinityMode, BindOptions, CallOptions, ContextLostEvent, ExecuteOptions, ExecuteResult,
  HelloInfo, LateOutputEvent, PoolOptions, PoolStats, Ref, RefInfo, ShellMode, WorkerState, WorkerStatsEntry,
} from './types';
import { IPYTHON_MODES } from './types';
import { makeBackend, type Slot } from './backend';
import { WorkerBroker } from './broker';
import { Router } from './routing';
import { WorkerSet, newSessionId } from './workers';

/** Implicit binding of an async scope. */
interface Holder { ctx: Context | null }

export interface PoolEvents {
  stats: [PoolStats];
  refs: [{ sessionId: string }];
  contextLost: [ContextLostEvent];
  /** Output of any worker's finished request (also emitted on its Context when bound). */
  lateOutput: [LateOutputEvent];
}

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

  private readonly workers: WorkerSet;
  private readonly broker: WorkerBroker;
  private readonly router: Router;
  private readonly implicit = new AsyncLocalStorage<Holder>();
  private readonly runtime = new AsyncLocalStorage<Record<string, unknown>>();
  private readonly finalizer = new FinalizationRegistry<Context>(ctx => { void ctx.unbind().catch(() => {}); });
  private readonly backend: ContextBackend;
  private statsScheduled = false;

  private constructor(opts: PoolOptions, resolved: { executable: string; version: string }) {
    super();
    this.python = resolved.executable;
    this.pythonVersion = resolved.version;
    this.size = Math.max(1, opts.size ?? 4);
    this.warm = Math.min(this.size, Math.max(0, opts.warm ?? 1));
    this.affinity = opts.affinity ?? 'strict_queue';
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const workers = this.workers = new WorkerSet({
      python: this.python, pythonDir: findPythonDir(), opts, size: this.size, warm: this.warm, maxFrameBytes: this.maxFrameBytes,
    }, {
      changed: () => this.emitStats(),
      hello: info => { if (!this.codec) this.learnShell(info); },
      available: () => this.broker.serveWaiters(),
      availableSoon: () => this.broker.serveSoon(),
      contextLost: (ctx, ev) => {
        ctx.emit('lost', ev);
        this.emit('contextLost', ev);
        this.emitRefs(ctx.sessionId);
      },
      lateOutput: (slot, ev) => this.onLateOutput(slot, ev),
    });
    const broker = this.broker = new WorkerBroker(workers, opts, this.size, () => this.emitStats());
    const router = this.router = new Router({
      opts, affinity: this.affinity, sessions: workers.sessions, broker,
      currentContext: () => this.implicit.getStore()?.ctx,
      runtimeVars: () => this.runtime.getStore(),
      contextRequest: (ctx, op, fields, opts, flags) => this.backend.request(ctx, op, fields, opts, flags),
      emitStats: () => this.emitStats(),
      emitRefs: sessionId => this.emitRefs(sessionId),
      watchingRefs: () => this.listenerCount('refs') > 0,
    });
    this.backend = makeBackend({
      sessions: workers.sessions, affinity: this.affinity, opts,
      takeFree: () => broker.takeFree(),
      send: (slot, session, op, fields, opts, extra) => router.send(slot, session, op, fields, opts, extra),
      stateless: (op, fields, opts, mode) => router.stateless(op, fields, opts, mode),
      serveWaiters: () => broker.serveWaiters(),
      emitStats: () => this.emitStats(),
      emitRefs: sessionId => this.emitRefs(sessionId),
      retire: (slot, reason) => workers.retire(slot, reason),
      maintain: () => workers.maintain(),
      attach: (ctx, opts, replacing) => broker.attach(ctx, opts, replacing),
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
    const first = pool.workers.spawn();
    try {
      await first.readyPromise;
    } catch (e) {
      await pool.close();
      throw e;
    }
    pool.learnShell(first.worker.hello);
    pool.workers.maintain();
    await Promise.all([...pool.workers.slots].map(s => s.readyPromise.catch(() => {})));
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
    return this.router.route(Op.call, { module, fn, args, kwargs }, opts, [args, kwargs]);
  }

  eval(code: string, locals?: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    const fields: Record<string, unknown> = { code };
    if (locals !== undefined) fields.locals = locals;
    return this.router.route(Op.eval, fields, opts, [locals]);
  }

  async exec(code: string, opts: CallOptions = {}): Promise<void> {
    await this.router.route(Op.exec, { code, store_history: false }, opts, []);
  }

  /** ref.name(...) on the worker holding the ref (strict: never moved). */
  method(ref: Ref, name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<any> {
    return this.router.routeRef(ref, Op.method, { ref, name, args, kwargs }, opts);
  }

  attr(ref: Ref, name: string, opts: CallOptions = {}): Promise<any> {
    return this.router.routeRef(ref, Op.attr, { ref, name }, opts);
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
    const slot = this.workers.sessions.get(ref.session_id);
    if (!slot || slot.worker.exited) return false;
    const v = await slot.worker.request({ op: Op.refsRelease, fields: { ref, session: ref.session_id } }) as { released?: boolean };
    this.emitRefs(ref.session_id);
    return v?.released === true;
  }

  /** Release every ref of a session (its worker stays bound); returns how many were freed. */
  async releaseSession(sessionId: string): Promise<number> {
    const slot = this.workers.sessions.get(sessionId);
    if (!slot || slot.worker.exited) return 0;
    const v = await slot.worker.request({ op: Op.sessionRelease, fields: { session: sessionId } }) as { count?: number };
    this.emitRefs(sessionId);
    return Number(v?.count ?? 0);
  }

  /** Refs of one session, or of every live session; served by the control channel, so it answers during a cell. */
  async refs(sessionId?: string, opts: { timeoutMs?: number } = {}): Promise<RefInfo[]> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    if (sessionId !== undefined) {
      const slot = this.workers.sessions.get(sessionId);
      if (!slot || slot.worker.exited || !slot.ready) return [];
      const list = await slot.worker.control(Op.refsList, { session: sessionId }, timeoutMs) as WireRefInfo[];
      return (list ?? []).map(toRefInfo);
    }
    const out: RefInfo[] = [];
    for (const slot of this.workers.slots) {
      if (!slot.ready || slot.worker.exited || slot.stopping) continue;
      const list = await slot.worker.control(Op.refsList, {}, timeoutMs).catch(() => []) as WireRefInfo[];
      out.push(...(list ?? []).map(toRefInfo));
    }
    return out;
  }

  /** Contexts currently bound (explicit and implicit), oldest first. */
  contexts(): Context[] {
    return [...this.workers.slots].map(s => s.ctx).filter((c): c is Context => c !== null && c.state === 'bound')
      .sort((a, b) => a.boundAt - b.boundAt);
  }

  /** Session ids known to the pool (bound contexts and stateless workers). */
  sessionIds(): string[] { return [...this.workers.sessions.keys()]; }

  // ---- stats and lifecycle -----------------------------------------------------------

  stats(): PoolStats { return this.snapshot(false); }

  /**
   * Pool stats; with lazyRss each worker's rssBytes is read from /proc only when
   * (first) accessed, so the 'stats' event costs no /proc reads on the request hot
   * path when its listeners only take it as a change signal.
   */
  private snapshot(lazyRss: boolean): PoolStats {
    let checkedOut = 0;
    let pending = this.broker.waitingCalls;
    const workers = [];
    for (const s of this.workers.slots) {
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
    const numWorkers = this.workers.live().length;
    return {
      numWorkers, availableWorkers: Math.max(0, this.size - checkedOut), checkedOut, pendingRequests: pending,
      waitingBinds: this.broker.waitingBinds, workers,
    };
  }

  /** End every worker (no orphans); pending requests reject with pool_closed. */
  async close(): Promise<void> {
    if (this.workers.closed && this.workers.slots.size === 0) return;
    this.workers.markClosed();
    this.broker.failAll();
    await this.workers.stopAll();
    this.emitStats();
  }

  // ---- internals ---------------------------------------------------------------------

  /** A finished request's output (a thread or child process printed after the reply). */
  private onLateOutput(slot: Slot, ev: Record<string, unknown>): void {
    const ctx = slot.ctx;
    const out = lateOutputEvent(ev, ctx?.sessionId ?? slot.statelessSession, slot.worker.pid);
    if (!out) return;
    if (ctx && ctx.state === 'bound') ctx.emit('lateOutput', out);
    this.emit('lateOutput', out);
  }

  private async bindNew(opts: BindOptions): Promise<Context> {
    if (this.workers.closed) throw new PyCtxError('pool_closed', 'pool closed');
    if (!opts.waitForWorker && this.broker.boundCount() >= this.size) throw this.broker.allBound();
    const sessionId = opts.sessionId ?? newSessionId();
    if (this.workers.sessions.has(sessionId)) {
      throw new PyCtxError('invalid_argument', `session ${sessionId} is already bound`);
    }
    const ctx = new Context(sessionId, opts.owner ?? null, opts.cwd, this.backend, this);
    (ctx as unknown as { bindOpts: BindOptions }).bindOpts = opts;
    await this.broker.attach(ctx, opts);
    return ctx;
  }

  // ---- internals: events -----------------------------------------------------------------

  private emitStats(): void {
    // Any change of worker state may let a waiting bind through (a safety net: the
    // places that free a worker serve waiters directly).
    if (this.broker.waitingBinds > 0) this.broker.serveSoon();
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
