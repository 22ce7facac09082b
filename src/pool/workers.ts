// WorkerSet: the pool's worker processes and their lifecycle. Owns the slots and the
// session → slot index; spawns workers, keeps `warm` fresh ones (recycling used idle
// ones to stay within `size`), retires unwanted ones and handles exits (a bound
// context whose worker died is lost). Who gets a worker is in broker.ts.
import { randomBytes } from 'node:crypto';
import type { Context } from './context';
import type { ContextLostEvent, HelloInfo, PoolOptions } from './types';
import { Worker, type WorkerExit } from './worker';
import type { Slot } from './backend';

export const newSessionId = (): string => randomBytes(12).toString('hex');
/** PoolOptions.refillDelayMs default (see there). */
const DEFAULT_REFILL_DELAY_MS = 500;

export interface WorkerSetConfig {
  readonly python: string;
  readonly pythonDir: string;
  readonly opts: PoolOptions;
  readonly size: number;
  readonly warm: number;
  readonly maxFrameBytes: number;
}

/** What the worker set tells the pool. */
export interface WorkerSetEvents {
  /** Some worker's state changed (starting, ready, busy, queue, stopping, gone). */
  changed(): void;
  /** A worker answered its hello. */
  hello(info: HelloInfo): void;
  /** A worker became ready, or an exit freed a place: hand workers out now. */
  available(): void;
  /** A retired worker's place is free: hand workers out after the current synchronous step. */
  availableSoon(): void;
  /** The worker of a bound (handed-over) context exited under it. */
  contextLost(ctx: Context, ev: ContextLostEvent): void;
  /** A finished request's output (a thread or child process printed after the reply). */
  lateOutput(slot: Slot, ev: Record<string, unknown>): void;
}

export type RetireReason = { code: 'interrupted' | 'pool_closed' | 'context_not_bound'; message: string };

export class WorkerSet {
  /** Every worker whose process has not exited yet (stopping ones included). */
  private readonly all = new Set<Slot>();
  /** Session id → the worker holding it: bound contexts and each worker's stateless session. */
  readonly sessions = new Map<string, Slot>();
  private isClosed = false;
  /** Consecutive workers that failed to start on their own (not killed from outside). */
  private startFailures = 0;
  private maintainScheduled = false;

  constructor(private readonly cfg: WorkerSetConfig, private readonly events: WorkerSetEvents) {}

  get slots(): ReadonlySet<Slot> { return this.all; }
  /** Set by markClosed() (pool closing): nothing spawns, refills or serves any more. */
  get closed(): boolean { return this.isClosed; }
  markClosed(): void { this.isClosed = true; }

  spawn(): Slot {
    const { opts } = this.cfg;
    const session = `pool-${newSessionId()}`;
    const worker = Worker.spawnSync({
      executable: this.cfg.python,
      pythonDir: this.cfg.pythonDir,
      cwd: opts.cwd ?? process.cwd(),
      env: {
        ...opts.env,
        PYCTX_IPYTHON: opts.ipython ?? 'auto',
        ...(opts.memoryLimitBytes ? { PYCTX_MEMORY_LIMIT: String(Math.floor(opts.memoryLimitBytes)) } : {}),
      },
      maxFrameBytes: this.cfg.maxFrameBytes,
      preload: opts.preload ?? [],
      session,
      startTimeoutMs: opts.startTimeoutMs ?? 60000,  // IPython's import (or a scheduler's queue) on a loaded machine takes seconds
      interruptGraceMs: opts.interruptGraceMs ?? 2000,
      launcher: opts.launcher,
      heartbeatMs: opts.heartbeatMs ?? 5000,
    });
    const slot: Slot = {
      worker, ready: false, ctx: null, attaching: false, dirty: false, leased: false, stopping: false,
      statelessSession: session, readyPromise: Promise.resolve(),
    };
    this.all.add(slot);
    this.sessions.set(session, slot);
    slot.readyPromise = worker.ready.then(() => {
      slot.ready = true;
      this.startFailures = 0;
      this.events.hello(worker.hello);
      this.events.changed();
      this.events.available();
    }, e => {
      // A worker killed from outside before its hello (a crash storm, the OOM killer)
      // says nothing about the interpreter: only failures of its own stop maintain().
      if (!killedFromOutside(worker)) this.startFailures++;
      throw e;
    });
    slot.readyPromise.catch(() => {});
    worker.on('busy', () => this.events.changed());
    worker.on('queue', () => this.events.changed());
    worker.on('exit', info => this.onWorkerExit(slot, info));
    worker.on('lateOutput', (ev: Record<string, unknown>) => this.events.lateOutput(slot, ev));
    this.events.changed();
    return slot;
  }

  /** Workers that count against `size`: every one not being ended. */
  live(): Slot[] {
    const out: Slot[] = [];
    for (const s of this.all) if (!s.stopping) out.push(s);
    return out;
  }

  /** An idle worker that ran user code: recycling it makes room for a fresh one. */
  recyclable(live: Slot[]): Slot | undefined {
    return live.find(s => !s.stopping && !s.ctx && s.dirty && !s.leased && s.ready && !s.worker.busy);
  }

  /** Keep `warm` fresh idle workers (within size); recycle dirty idle ones to make room. */
  maintain(): void {
    if (this.isClosed || this.startFailures >= 3) return;
    const live = this.live();
    let fresh = live.filter(s => !s.ctx && !s.dirty).length;
    while (fresh < this.cfg.warm) {
      // Recount each round: a retired victim is `stopping` and no longer counts, and
      // is never picked twice (it once was, starting a worker too many).
      if (this.live().length >= this.cfg.size) {
        const victim = this.recyclable(live);
        if (!victim) break;
        this.retire(victim);
      }
      this.spawn(); fresh++;
    }
  }

  /** maintain() later (refillDelayMs): a worker's start-up takes a core for a while. */
  maintainSoon(): void {
    if (this.maintainScheduled) return;
    this.maintainScheduled = true;
    const run = () => { this.maintainScheduled = false; this.maintain(); };
    const delay = this.cfg.opts.refillDelayMs ?? DEFAULT_REFILL_DELAY_MS;
    if (delay > 0) setTimeout(run, delay).unref(); else setImmediate(run);
  }

  /** Stop a worker we no longer want (its exit is not a crash). */
  retire(slot: Slot, reason?: RetireReason): Promise<WorkerExit> {
    slot.stopping = true;
    this.events.changed();
    // Its place is free now (numWorkers counts live workers): a waiting bind may take it.
    this.events.availableSoon();
    return slot.worker.stop(500, reason);
  }

  /** End every worker (pool closing; no orphans) and forget them all. */
  async stopAll(): Promise<void> {
    const exits: Promise<WorkerExit>[] = [];
    for (const s of this.all) {
      s.stopping = true;
      if (s.ctx && s.ctx.state === 'bound') s.ctx.state = 'unbound';
      exits.push(s.worker.stop(500, { code: 'pool_closed', message: 'pool closed' }));
    }
    await Promise.all(exits);
    this.all.clear();
    this.sessions.clear();
  }

  private onWorkerExit(slot: Slot, info: WorkerExit): void {
    this.all.delete(slot);
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
      this.events.contextLost(ctx, ev);
    }
    this.events.changed();
    if (!this.isClosed) {
      this.maintain();
      this.events.available();
    }
  }
}

/** Killed by a signal nobody in this process sent (a crash storm, the OOM killer, a user's kill). */
export function killedFromOutside(w: Worker): boolean {
  const x = w.exitInfo;
  return !!x && x.signal !== null && !x.reason;
}
