// WaitQueue: callers waiting, in order, for a resource the pool hands out later
// (a free unbound worker for stateless requests; a fresh worker for a bind). Each
// waiter may leave early: the queue timeout gives pool_saturated, the request's own
// timeout gives `timeout` (it never ran), an AbortSignal gives `interrupted`
// (callers may word these errors themselves). A waiter may carry data the taker
// needs (a bind's Context), so the resource is claimed for it synchronously.
import { PyCtxError } from './errors';

interface Waiter<T, D> {
  data: D;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
  timers: NodeJS.Timeout[];
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface WaitLimits {
  maxLength: number;
  queueTimeoutMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Own wording of the early-leave errors (default: a request that never ran). */
  errors?: { queueTimeout?: () => unknown; timeout?: () => unknown; aborted?: () => unknown };
}

export class WaitQueue<T, D = void> {
  private readonly waiters: Waiter<T, D>[] = [];

  /** Called whenever the queue length changes. */
  constructor(private readonly onChange: () => void) {}

  get length(): number { return this.waiters.length; }

  wait(limits: WaitLimits, data?: D): Promise<T> {
    const errs = limits.errors ?? {};
    if (limits.signal?.aborted) {
      // An 'abort' listener would never fire: the event already happened.
      return Promise.reject(errs.aborted?.() ?? new PyCtxError('interrupted', 'request aborted before it waited for a worker; it never ran'));
    }
    if (this.waiters.length >= limits.maxLength) {
      return Promise.reject(new PyCtxError('pool_saturated',
        `${this.waiters.length} requests already wait for a free worker (maxQueueLength)`));
    }
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T, D> = { data: data as D, resolve, reject, timers: [] };
      const qt = limits.queueTimeoutMs;
      if (qt !== undefined && Number.isFinite(qt)) {
        w.timers.push(setTimeout(() => this.drop(w, errs.queueTimeout?.() ?? new PyCtxError('pool_saturated', `no free worker within ${qt} ms (queueTimeoutMs)`)), qt));
      }
      const t = limits.timeoutMs;
      if (t !== undefined && Number.isFinite(t)) {
        w.timers.push(setTimeout(() => this.drop(w, errs.timeout?.() ?? new PyCtxError('timeout', `timed out after ${t} ms while waiting for a worker; it never ran`)), t));
      }
      if (limits.signal) {
        w.signal = limits.signal;
        w.onAbort = () => this.drop(w, errs.aborted?.() ?? new PyCtxError('interrupted', 'request aborted while waiting for a worker; it never ran'));
        limits.signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.onChange();
    });
  }

  /** Hand out resources to waiters in order while `take` yields one (for the head waiter's data). */
  serve(take: (data: D) => T | undefined): void {
    while (this.waiters.length > 0) {
      const v = take(this.waiters[0].data);
      if (v === undefined) return;
      const w = this.waiters.shift()!;
      this.cleanup(w);
      w.resolve(v);
    }
  }

  /** Reject every waiter (pool closing). */
  failAll(err: unknown): void {
    for (const w of this.waiters.splice(0)) {
      this.cleanup(w);
      w.reject(err);
    }
  }

  private drop(w: Waiter<T, D>, err: unknown): void {
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    this.cleanup(w);
    w.reject(err);
    this.onChange();
  }

  private cleanup(w: Waiter<T, D>): void {
    for (const t of w.timers) clearTimeout(t);
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
  }
}
