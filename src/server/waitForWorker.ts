// A full pool never fails a notebook at once: a bind that finds every worker
// bound (`no_workers_available`) waits until one frees (a notebook closed, unbound,
// restarted elsewhere, a worker crashed) and tries again, until it gets one or its
// wait is cancelled (the cell was cancelled or interrupted, the notebook unbound,
// the bind request cancelled). The wait is announced once, so the client can say
// so on the cell and offer a way out. Built on the pool's public surface only
// (its 'stats' event and bind); a pool that waits by itself simply never throws
// no_workers_available here.
import type { Pool } from '../pool';
import { PyctxServerError } from './errors';

export const WAIT_CANCELLED = 'wait_cancelled';

/** Resolves when the pool has room for another bound context; rejects when `signal` aborts. */
export function untilFreeWorker(pool: Pool, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const hasRoom = () => pool.stats().checkedOut < pool.size;
    const done = (err?: Error) => {
      pool.off('stats', onStats);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err); else resolve();
    };
    const onStats = () => { if (hasRoom()) done(); };
    const onAbort = () => done(new PyctxServerError(WAIT_CANCELLED, 'the wait for a free worker was cancelled'));
    if (signal.aborted) { onAbort(); return; }
    pool.on('stats', onStats);
    signal.addEventListener('abort', onAbort);
    // A worker may have freed between the failed bind and now.
    if (hasRoom()) done();
  });
}

/**
 * Runs `bind` until it gets a worker: on `no_workers_available` it calls
 * `onWait` (once), waits for room, and tries again; `onWaitEnd` follows a wait
 * however it ends. Other errors and a cancelled wait are thrown.
 */
export async function bindWhenFree<T>(pool: Pool, bind: () => Promise<T>, signal: AbortSignal,
  onWait: () => void, onWaitEnd: () => void): Promise<T> {
  let waited = false;
  try {
    for (;;) {
      try {
        return await bind();
      } catch (err) {
        if ((err as { code?: string }).code !== 'no_workers_available') throw err;
        if (!waited) { waited = true; onWait(); }
        await untilFreeWorker(pool, signal);
      }
    }
  } finally {
    if (waited) onWaitEnd();
  }
}
