// Context: an explicit handle on a worker bound to one owner (a notebook, an async
// scope, a CLI run). It carries the session id its refs belong to, routes every
// call to its worker (through the pool's affinity rules) and reports when the
// worker is lost. The handle stays valid across restart(); after unbind() every
// call rejects with context_not_bound.
import { EventEmitter } from 'node:events';
import { Op } from '../protocol/wire';
import type { Pool } from './pool';
import type {
  CallOptions, CompleteResult, ContextLostEvent, ExecuteOptions, ExecuteResult, InspectResult,
  LateOutputEvent, Ref, RefInfo, WorkerStats,
} from './types';

export type ContextState = 'bound' | 'lost' | 'unbound';

export interface ContextEvents {
  lost: [ContextLostEvent];
  restarted: [{ pid: number }];
  busy: [boolean];
  unbound: [];
  /** Output a thread or child process of this context's code produced after its request finished. */
  lateOutput: [LateOutputEvent];
}

/**
 * What kind of request: user code (taints the worker), stateless (a pool-level call
 * without refs: may move to another worker under 'hint'). ctx.* calls never move:
 * their results (refs) must belong to the context's own session.
 */
export interface RequestFlags { userCode: boolean; stateless: boolean }
export const STATELESS_CODE: RequestFlags = { userCode: true, stateless: true };
export const REF_CODE: RequestFlags = { userCode: true, stateless: false };
export const CONTEXT_CODE: RequestFlags = { userCode: true, stateless: false };
/** Bookkeeping on the context's own worker (configure): runs no user code. */
export const CONTEXT_ADMIN: RequestFlags = { userCode: false, stateless: false };

/** Internal hooks the pool gives each context (not public API). */
export interface ContextBackend {
  request(ctx: Context, op: string, fields: Record<string, unknown>, opts: CallOptions, flags: RequestFlags): Promise<unknown>;
  execute(ctx: Context, code: string, opts: ExecuteOptions): Promise<ExecuteResult>;
  interrupt(ctx: Context): boolean;
  unbind(ctx: Context): Promise<void>;
  restart(ctx: Context): Promise<void>;
  control(ctx: Context, op: string, fields: Record<string, unknown>, timeoutMs: number): Promise<unknown>;
  refs(sessionId: string): Promise<RefInfo[]>;
  busy(ctx: Context): boolean;
  pid(ctx: Context): number;
}

export class Context extends EventEmitter<ContextEvents> {
  state: ContextState = 'bound';
  readonly boundAt = Date.now();
  /** Set while restart() swaps the worker; requests wait for it. */
  pendingWorker: Promise<void> | null = null;

  constructor(
    readonly sessionId: string,
    readonly owner: string | null,
    readonly cwd: string | undefined,
    private readonly backend: ContextBackend,
    readonly pool: Pool,
  ) {
    super();
  }

  /** Same as sessionId. */
  get id(): string { return this.sessionId; }
  /** Pid of the current worker (-1 once unbound). */
  get pid(): number { return this.backend.pid(this); }
  /** True while a request runs or waits on this context's worker. */
  get busy(): boolean { return this.backend.busy(this); }
  get bound(): boolean { return this.state === 'bound'; }

  /** Run statements; a Python exception rejects with python_error. */
  async exec(code: string, opts: CallOptions = {}): Promise<void> {
    await this.backend.request(this, Op.exec, { code, store_history: false }, opts, CONTEXT_CODE);
  }

  /** Evaluate an expression; plain data comes back as values, anything else as a Ref. */
  eval(code: string, locals?: Record<string, unknown>, opts: CallOptions = {}): Promise<any> {
    const fields: Record<string, unknown> = { code };
    if (locals !== undefined) fields.locals = locals;
    return this.backend.request(this, Op.eval, fields, opts, CONTEXT_CODE);
  }

  /** module.fn(*args, **kwargs). */
  call(module: string, fn: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<any> {
    return this.backend.request(this, Op.call, { module, fn, args, kwargs }, opts, CONTEXT_CODE);
  }

  /** ref.name(*args, **kwargs) on the worker holding the ref. */
  method(ref: Ref, name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<any> {
    return this.backend.request(this, Op.method, { ref, name, args, kwargs }, opts, REF_CODE);
  }

  /** getattr(ref, name). */
  attr(ref: Ref, name: string, opts: CallOptions = {}): Promise<any> {
    return this.backend.request(this, Op.attr, { ref, name }, opts, REF_CODE);
  }

  /** Run a notebook cell: streams and displays go to the callbacks; a Python error resolves with status 'error'. */
  execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    return this.backend.execute(this, code, opts);
  }

  /** SIGINT the running request (KeyboardInterrupt in Python). False when nothing runs. */
  interrupt(): boolean { return this.backend.interrupt(this); }

  /** Give the worker back (recycled if it ran code; killed at once if busy). Safe to repeat. */
  unbind(): Promise<void> { return this.backend.unbind(this); }

  /** Replace the worker with a fresh one (busy or stuck workers are killed); same session id. */
  restart(): Promise<void> { return this.backend.restart(this); }

  /**
   * Completions at cursor from the control channel; empty when the budget elapses.
   * `partial`: jedi needed more of the budget than it had, so these are the live
   * namespace's names only (jedi goes on in the background; ask again).
   */
  async complete(code: string, cursor: number, opts: { budgetMs?: number } = {}): Promise<CompleteResult> {
    const empty = { matches: [], cursorStart: cursor, cursorEnd: cursor };
    try {
      const budgetMs = opts.budgetMs ?? 1000;
      // The worker knows the budget too: past most of it, it answers from the live namespace without jedi.
      const v = await this.backend.control(this, Op.complete, { code, cursor, session: this.sessionId, budget_ms: budgetMs }, budgetMs) as Record<string, unknown> | null;
      if (!v) return empty;
      const r: CompleteResult = {
        matches: Array.isArray(v.matches) ? v.matches.map(String) : [],
        cursorStart: typeof v.cursor_start === 'number' ? v.cursor_start : cursor,
        cursorEnd: typeof v.cursor_end === 'number' ? v.cursor_end : cursor,
      };
      if (v.source === 'jedi' || v.source === 'fallback') r.source = v.source;
      if (Array.isArray(v.kinds) && v.kinds.length === r.matches.length) r.kinds = v.kinds.map(String);
      if (v.partial === true) r.partial = true;
      return r;
    } catch (e) {
      if ((e as { code?: string }).code === 'context_not_bound') throw e;
      return empty;
    }
  }

  /** What the name at cursor is (type, repr, len, shape, doc); found: false when unknown or over budget. */
  async inspect(code: string, cursor: number, opts: { budgetMs?: number } = {}): Promise<InspectResult> {
    try {
      const v = await this.backend.control(this, Op.inspect, { code, cursor, session: this.sessionId }, opts.budgetMs ?? 1000) as Record<string, unknown> | null;
      if (!v || v.found !== true) return { found: false };
      const r: InspectResult = { found: true };
      if (typeof v.name === 'string') r.name = v.name;
      if (typeof v.type_name === 'string') r.typeName = v.type_name;
      if (typeof v.python_module === 'string') r.pythonModule = v.python_module;
      if (typeof v.signature === 'string') r.signature = v.signature;
      if (typeof v.repr === 'string') r.repr = v.repr;
      if (typeof v.len === 'number') r.len = v.len;
      if (v.shape !== undefined && v.shape !== null) r.shape = v.shape;
      if (typeof v.doc === 'string') r.doc = v.doc;
      if (typeof v.docstring === 'string') r.docstring = v.docstring;
      if (typeof v.kind === 'string') r.kind = v.kind;
      return r;
    } catch (e) {
      if ((e as { code?: string }).code === 'context_not_bound') throw e;
      return { found: false };
    }
  }

  /** The worker's own stats (rss, gc, namespace size, refs), answered during a running cell. */
  async workerStats(opts: { timeoutMs?: number } = {}): Promise<WorkerStats> {
    const v = await this.backend.control(this, Op.stats, {}, opts.timeoutMs ?? 2000) as Record<string, unknown>;
    return {
      ...v,
      rssBytes: Number(v.rss_bytes ?? 0),
      gcCounts: Array.isArray(v.gc_counts) ? v.gc_counts.map(Number) : [],
      namespaceSize: Number(v.namespace_size ?? 0),
      refs: Number(v.refs ?? 0),
      sessions: Number(v.sessions ?? 0),
    };
  }

  /** This session's refs (explicit refs, namespace variables, held results). */
  refs(): Promise<RefInfo[]> { return this.backend.refs(this.sessionId); }

  /**
   * New ref limits for this session, enforced in its worker at once (explicit refs and
   * held results beyond the new maximum are evicted). Queued behind a running cell.
   */
  async configure(limits: { refTtlSeconds?: number | null; maxRefsPerSession?: number }): Promise<void> {
    const fields: Record<string, unknown> = {};
    if (limits.refTtlSeconds !== undefined) fields.ref_ttl_seconds = limits.refTtlSeconds;
    if (limits.maxRefsPerSession !== undefined) fields.max_refs_per_session = limits.maxRefsPerSession;
    await this.backend.request(this, Op.configure, fields, { affinity: 'strict_queue' }, CONTEXT_ADMIN);
  }
}
