// Router: where the pool-level calls (pool.call/eval/exec/method/attr) go — the
// bound scope's context, the worker holding a ref's session, or any free worker —
// and send(), the one place every request (Context ones too) is put on a worker's
// queue with its session and runtime context.
import { Op } from '../protocol/wire';
import { execReplyOrThrow } from './cells';
import { REF_CODE, STATELESS_CODE, type Context, type ContextBackend } from './context';
import { PyCtxError } from './errors';
import { findRef, isRef } from './refs';
import type { AffinityMode, CallOptions, PoolOptions, Ref } from './types';
import type { SendExtra, Slot } from './backend';
import type { WorkerBroker } from './broker';

const REF_OPS = new Set<string>([Op.exec, Op.eval, Op.call, Op.method, Op.attr]);

/** What the router needs of the pool. */
export interface RouterPort {
  readonly opts: PoolOptions;
  readonly affinity: AffinityMode;
  /** Session id → the worker holding it. */
  readonly sessions: ReadonlyMap<string, Slot>;
  readonly broker: Pick<WorkerBroker, 'acquireFree' | 'serveWaiters'>;
  /** The context the current async scope is implicitly bound to, if any. */
  currentContext(): Context | null | undefined;
  /** The runtime context variables of the current async scope (withRuntimeContext). */
  runtimeVars(): Record<string, unknown> | undefined;
  /** A request on a bound context, by the Context rules (affinity, hint rerouting). */
  contextRequest: ContextBackend['request'];
  emitStats(): void;
  emitRefs(sessionId: string): void;
  /** Someone listens to the pool's 'refs' events. */
  watchingRefs(): boolean;
}

export class Router {
  constructor(private readonly port: RouterPort) {}

  route(op: string, fields: Record<string, unknown>, opts: CallOptions, argValues: unknown[]): Promise<unknown> {
    const ctx = this.port.currentContext();
    if (ctx && ctx.state !== 'unbound') {
      return this.port.contextRequest(ctx, op, fields, opts, STATELESS_CODE);
    }
    const ref = findRef(argValues);
    if (ref) return this.routeRef(ref, op, fields, opts);
    return this.stateless(op, fields, opts, opts.affinity ?? this.port.affinity);
  }

  /**
   * A request that must run where `ref` lives: the bound scope's worker, unless the
   * ref belongs to another live session (e.g. made by a stateless call that 'hint'
   * ran elsewhere); then the worker of that session.
   */
  routeRef(ref: Ref, op: string, fields: Record<string, unknown>, opts: CallOptions): Promise<unknown> {
    const { sessions } = this.port;
    const bound = this.port.currentContext();
    const elsewhere = isRef(ref) && bound && ref.session_id !== bound.sessionId ? sessions.get(ref.session_id) : undefined;
    if (bound && bound.state !== 'unbound' && !elsewhere) return this.port.contextRequest(bound, op, fields, opts, REF_CODE);
    if (!isRef(ref)) return Promise.reject(new PyCtxError('invalid_ref', 'not a ref handle'));
    const slot = sessions.get(ref.session_id);
    if (!slot || slot.worker.exited || slot.stopping) {
      return Promise.reject(new PyCtxError('session_worker_unavailable', `no live worker holds session ${ref.session_id}`));
    }
    if (slot.ctx) return this.port.contextRequest(slot.ctx, op, fields, opts, REF_CODE);
    return this.send(slot, slot.statelessSession, op, fields, opts);
  }

  /** A request on a free unbound worker (leased for its duration, within its timeout). */
  async stateless(op: string, fields: Record<string, unknown>, opts: CallOptions, mode: AffinityMode): Promise<unknown> {
    const started = Date.now();
    const slot = await this.port.broker.acquireFree(opts, mode);
    slot.dirty = true;
    try {
      const total = opts.timeoutMs ?? this.port.opts.requestTimeoutMs;
      const left = total === undefined ? undefined : Math.max(1, total - (Date.now() - started));
      return await this.send(slot, slot.statelessSession, op, fields, { ...opts, timeoutMs: left });
    } finally {
      slot.leased = false;
      this.port.broker.serveWaiters();
      this.port.emitStats();
    }
  }

  /**
   * Put one request on a worker's queue with session and runtime context attached.
   * Every route ends here, so this is where an exec's error status becomes a
   * rejection (except for execute() cells) and where requests on an unbound
   * worker's own session get a fresh throwaway namespace (no state between
   * unrelated stateless callers).
   */
  send(slot: Slot, session: string, op: string, fields: Record<string, unknown>, opts: CallOptions,
    extra: SendExtra = {}): Promise<unknown> {
    const rc = this.port.runtimeVars();
    const runtimeContext = rc && opts.runtimeContext ? { ...rc, ...opts.runtimeContext } : (opts.runtimeContext ?? rc);
    // fields are built per call by our callers, so they are completed in place.
    const f = fields;
    f.session = session;
    if (runtimeContext && op !== Op.attr) f.runtime_context = runtimeContext;
    if (slot.ctx === null && session === slot.statelessSession) f.fresh_namespace = true;
    let p = slot.worker.request({
      op, fields: f,
      timeoutMs: opts.timeoutMs ?? this.port.opts.requestTimeoutMs,
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
    if (REF_OPS.has(op) && this.port.watchingRefs()) {
      const after = (): void => this.port.emitRefs(session);
      p.then(after, after);
    }
    return p;
  }
}
