// The behaviour behind every Context method: which worker a request goes to
// (affinity modes, hint rerouting, session_worker_unavailable), cells, interrupt,
// unbind (recycling or killing the worker) and restart. It reaches the pool's
// internals only through the PoolCore port the Pool hands it.
import { Op } from '../protocol/wire';
import type { Context, ContextBackend, RequestFlags } from './context';
import { cellErrorResult, cellEventHandler, toExecuteResult } from './cells';
import { PyCtxError } from './errors';
import { findRef } from './refs';
import type { AffinityMode, BindOptions, CallOptions, ExecuteOptions, PoolOptions, RefInfo } from './types';
import type { Worker, WorkerExit } from './worker';

/** The pool's view of one worker process. */
export interface Slot {
  worker: Worker;
  ready: boolean;
  ctx: Context | null;          // bound context (reserved as soon as chosen)
  attaching: boolean;           // reserved, not yet handed over (starting / being configured)
  dirty: boolean;               // ran user code or was configured for someone: never bound again
  leased: boolean;              // running a stateless request
  stopping: boolean;            // we are ending it; its exit is not a crash
  statelessSession: string;     // session of refs made by stateless calls on it
  readyPromise: Promise<void>;
}

export interface SendExtra {
  /** execute(): the ExecReply is the result (an error status resolves). Without it an
   *  exec's error status rejects (python_error / interrupted), on every route. */
  cell?: boolean;
  onEvent?: (ev: Record<string, unknown>) => void;
  onInput?: ExecuteOptions['onInput'];
  queueTimeoutMs?: number;
  onTrace?: ExecuteOptions['onTrace'];
}

/** What the backend may use of the pool (internal port, not public API). */
export interface PoolCore {
  readonly sessions: Map<string, Slot>;
  readonly affinity: AffinityMode;
  readonly opts: PoolOptions;
  takeFree(): Slot | undefined;
  send(slot: Slot, session: string, op: string, fields: Record<string, unknown>, opts: CallOptions, extra?: SendExtra): Promise<unknown>;
  stateless(op: string, fields: Record<string, unknown>, opts: CallOptions, mode: AffinityMode): Promise<unknown>;
  serveWaiters(): void;
  emitStats(): void;
  emitRefs(sessionId: string): void;
  retire(slot: Slot, reason?: { code: 'interrupted' | 'pool_closed' | 'context_not_bound'; message: string }): Promise<WorkerExit>;
  maintain(): void;
  /** replacing: a restart's new worker, which takes the old one's place ahead of waiting binds. */
  attach(ctx: Context, opts: BindOptions, replacing?: boolean): Promise<void>;
  refs(sessionId: string): Promise<RefInfo[]>;
}

/** A notebook cell: user code, never moved to another worker. */
const CELL: RequestFlags = { userCode: true, stateless: false };

export function makeBackend(core: PoolCore): ContextBackend {
  const slotOf = (ctx: Context): Slot | undefined => {
    const s = core.sessions.get(ctx.sessionId);
    return s && s.ctx === ctx ? s : undefined;
  };
  const liveSlot = async (ctx: Context): Promise<Slot> => {
    if (ctx.pendingWorker) await ctx.pendingWorker.catch(() => {});
    return liveSlotNow(ctx);
  };
  const liveSlotNow = (ctx: Context): Slot => {
    if (ctx.state === 'unbound') throw new PyCtxError('context_not_bound', `context ${ctx.sessionId} is not bound`);
    const s = slotOf(ctx);
    if (ctx.state === 'lost' || !s || s.worker.exited || s.stopping) {
      throw new PyCtxError('session_worker_unavailable', `the worker of session ${ctx.sessionId} is gone; bind again`);
    }
    return s;
  };
  /** Affinity decision for a bound context: 'elsewhere' = may go to another worker (hint, pool-level stateless calls only). */
  const admit = (ctx: Context, s: Slot, opts: CallOptions, flags: RequestFlags): 'here' | 'elsewhere' => {
    if (!s.worker.busy) return 'here';
    const mode = opts.affinity ?? core.affinity;
    if (mode === 'strict_fail_fast') {
      throw new PyCtxError('worker_busy', `the worker of session ${ctx.sessionId} is busy (strict_fail_fast)`);
    }
    if (mode === 'hint' && flags.stateless) return 'elsewhere';
    const max = core.opts.maxQueueLength ?? 1000;
    if (s.worker.queueLength >= max) {
      throw new PyCtxError('pool_saturated', `${s.worker.queueLength} requests already queued for session ${ctx.sessionId} (maxQueueLength)`);
    }
    return 'here';
  };

  const queueExtra = { queueTimeoutMs: core.opts.queueTimeoutMs };
  return {
    request(ctx, op, fields, opts, flags) {
      // Not async: the common case (bound, idle worker) goes straight to the
      // worker's queue without extra promise hops.
      if (ctx.pendingWorker) {
        return ctx.pendingWorker.catch(() => {}).then(() => this.request(ctx, op, fields, opts, flags));
      }
      let s: Slot;
      try {
        s = liveSlotNow(ctx);
        if (admit(ctx, s, opts, flags) === 'elsewhere' && !findRef([fields])) {
          // Only pool-level stateless calls (flags.stateless) get here; ctx.* never moves.
          const free = core.takeFree();
          if (free) {
            free.dirty = true;
            const release = (): void => { free.leased = false; core.serveWaiters(); core.emitStats(); };
            const p = core.send(free, free.statelessSession, op, fields, opts);
            p.then(release, release);
            return p;
          }
        }
      } catch (e) {
        // hint: stateless work may run anywhere, even when the session's worker is gone.
        if ((e as PyCtxError).code === 'session_worker_unavailable' && (opts.affinity ?? core.affinity) === 'hint' && flags.stateless && !findRef([fields])) {
          return core.stateless(op, fields, opts, 'hint');
        }
        return Promise.reject(e);
      }
      if (flags.userCode) s.dirty = true;
      return core.send(s, ctx.sessionId, op, fields, opts, queueExtra);
    },

    async execute(ctx, code, opts) {
      const s = await liveSlot(ctx);
      admit(ctx, s, opts, CELL);
      s.dirty = true;
      const fields: Record<string, unknown> = { code };
      if (opts.storeHistory === false) fields.store_history = false;
      try {
        return toExecuteResult(await core.send(s, ctx.sessionId, Op.exec, fields, opts,
          { cell: true, onEvent: cellEventHandler(opts), onInput: opts.onInput, queueTimeoutMs: core.opts.queueTimeoutMs, onTrace: opts.onTrace }));
      } catch (e) {
        const asCell = cellErrorResult(e);
        if (asCell) return asCell;
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
      core.sessions.delete(ctx.sessionId);
      ctx.emit('unbound');
      if (!s) { core.emitStats(); return; }
      s.ctx = null;
      if (s.dirty || s.worker.busy) {
        const reason = { code: 'context_not_bound' as const, message: `context ${ctx.sessionId} was unbound while the request was pending` };
        if (s.worker.busy) {
          s.stopping = true;
          s.worker.kill(reason);
          // Its place is free at once: a waiting bind need not wait for the exit.
          core.serveWaiters();
          await s.worker.closed;
        } else await core.retire(s, reason);
      } else {
        // Never ran user code: back to the fresh idle set under its own session.
        core.sessions.set(s.statelessSession, s);
        core.serveWaiters();
      }
      core.emitStats();
      core.maintain();
    },

    async restart(ctx) {
      if (ctx.state === 'unbound') throw new PyCtxError('context_not_bound', `context ${ctx.sessionId} is not bound`);
      const run = async (): Promise<void> => {
        const old = slotOf(ctx);
        let oldClosed: Promise<unknown> = Promise.resolve();
        if (old) {
          old.ctx = null;
          old.stopping = true;
          core.sessions.delete(ctx.sessionId);
          const reason = { code: 'interrupted' as const, message: `context ${ctx.sessionId} was restarted while the request was pending` };
          if (old.worker.busy) old.worker.kill(reason);
          else void old.worker.stop(500, reason);
          oldClosed = old.worker.closed;
        }
        ctx.state = 'bound';
        // Reserve the replacement now (attach does so synchronously), so a bind waiting
        // for a free worker cannot take this context's place while the old one exits.
        const attached = core.attach(ctx, (ctx as unknown as { bindOpts: BindOptions }).bindOpts ?? {}, true);
        attached.catch(() => undefined);
        await oldClosed;
        try {
          await attached;
        } catch (e) {
          ctx.state = 'lost';
          throw e;
        }
        ctx.emit('restarted', { pid: ctx.pid });
        core.emitRefs(ctx.sessionId);
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

    refs(sessionId) { return core.refs(sessionId); },
    busy(ctx) { return !!slotOf(ctx)?.worker.busy; },
    pid(ctx) { return slotOf(ctx)?.worker.pid ?? -1; },
  };
}
