// The pool under stress, with real workers and real signals: a crash storm (100
// SIGKILLs at 50 ms while four notebook-like contexts run cells and stateless
// calls run alongside), binds under stateless saturation, and the size cap after
// each. Each scenario prints its figures; it asserts outcomes only (no bind fails
// except with no_workers_available, nothing hangs, numWorkers <= size, no orphan),
// never durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, type Context } from '../../src/pool/index';
import { codeOf, printFigures, prng, running, sleep, tally, TEST_PYTHON, watchdog, watchPool } from './stress-helpers';

// A request still pending after this long counts as hung; loops are awaited at most a
// little longer, so a hang fails the test instead of stalling the suite.
const HANG_MS = 120_000;
async function settle(loops: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(loops), new Promise(r => { timer = setTimeout(r, HANG_MS + 10_000); })]);
  clearTimeout(timer);
}
const LIMIT = { timeout: 15 * 60_000 };

test('crash storm: pool of 4, 100 SIGKILLs at 50 ms, 4 contexts running cells, stateless calls alongside', LIMIT, async () => {
  const size = 4;
  const pool = await Pool.start({ python: TEST_PYTHON, size, warm: 1, startTimeoutMs: 120_000 });
  const watch = watchPool(pool);
  const { track, hung } = watchdog(HANG_MS);
  const random = prng(14);
  const f = {
    kills: 0, binds: 0, failedBinds: {} as Record<string, number>, cells: 0, failedCells: {} as Record<string, number>,
    statelessCalls: 0, failedStateless: {} as Record<string, number>, lostContexts: 0,
  };
  pool.on('contextLost', () => { f.lostContexts++; });
  let stop = false;

  const notebook = async (i: number): Promise<void> => {
    while (!stop) {
      let ctx: Context;
      try {
        ctx = await track(pool.bind('new', { owner: `notebook-${i}` }), `bind of notebook ${i}`);
        f.binds++;
      } catch (e) {
        tally(f.failedBinds, codeOf(e));
        await sleep(10);
        continue;
      }
      for (let k = 0; k < 3 && !stop && ctx.state === 'bound'; k++) {
        try {
          const r = await track(ctx.execute(`n${k} = sum(range(20000))\nprint(n${k})`), `cell of notebook ${i}`);
          if (r.status === 'ok') f.cells++;
          else tally(f.failedCells, `python:${r.error?.ename}`);
        } catch (e) {
          tally(f.failedCells, codeOf(e));
        }
      }
      await track(ctx.unbind(), `unbind of notebook ${i}`).catch(() => undefined);
      // A pause before the next bind (a person opening the next notebook): binds go
      // before stateless calls, so without it four notebooks would keep all four workers.
      await sleep(100);
    }
  };
  const stateless = async (i: number): Promise<void> => {
    while (!stop) {
      try {
        const v = await track(pool.call('math', 'factorial', [10 + i]), `stateless call ${i}`);
        if (v === [3628800, 39916800][i]) f.statelessCalls++;
        else tally(f.failedStateless, `wrong value ${String(v)}`);
      } catch (e) {
        tally(f.failedStateless, codeOf(e));
      }
    }
  };
  const killer = async (): Promise<void> => {
    for (let n = 0; n < 100; n++) {
      await sleep(50);
      const pids = pool.stats().workers.map(w => w.pid).filter(running);
      if (pids.length === 0) continue;
      const pid = pids[Math.floor(random() * pids.length)];
      try { process.kill(pid, 'SIGKILL'); f.kills++; } catch { /* gone meanwhile */ }
    }
  };

  const started = Date.now();
  const loops = [0, 1, 2, 3].map(notebook).concat([0, 1].map(stateless));
  await killer();
  const stormMs = Date.now() - started;
  stop = true;
  await settle(loops);
  assert.deepEqual(hung, [], 'requests that never settled');

  // The pool is whole again: a bind and a stateless call both work.
  const ctx = await track(pool.bind('new'), 'bind after the storm');
  assert.equal(await ctx.eval('2 + 2'), 4);
  await ctx.unbind();
  assert.equal(await pool.eval('3 * 3'), 9);
  const after = pool.stats();
  const maxWorkers = watch.max();
  watch.stop();
  await pool.close();
  const orphans = [...watch.pids].filter(running);

  printFigures('crash storm (pool of 4)', {
    ...f, stormMs, hungRequests: hung.length, maxNumWorkers: maxWorkers, numWorkersAfter: after.numWorkers,
    workerPidsSeen: watch.pids.size, orphans: orphans.length,
  });
  assert.deepEqual(hung, [], 'requests that never settled');
  const badBinds = Object.keys(f.failedBinds).filter(c => c !== 'no_workers_available');
  assert.deepEqual(badBinds, [], `binds may fail only with no_workers_available: ${JSON.stringify(f.failedBinds)}`);
  assert.ok(maxWorkers <= size, `numWorkers reached ${maxWorkers} for size ${size}`);
  assert.ok(after.numWorkers <= size);
  assert.deepEqual(orphans, [], 'worker processes left running after close()');
  assert.ok(f.kills > 50, `the storm killed only ${f.kills} workers`);
  assert.ok(f.binds > 0 && f.cells > 0, 'notebooks got work done during the storm');
  assert.deepEqual(Object.keys(f.failedStateless).filter(c => c !== 'worker_crashed'), [], 'stateless calls fail only when their worker is killed');
});

test('binds under stateless saturation: each waits for one call, not for the load', LIMIT, async () => {
  const size = 2;
  const pool = await Pool.start({ python: TEST_PYTHON, size, warm: 1, startTimeoutMs: 120_000 });
  const watch = watchPool(pool);
  const { track, hung } = watchdog(HANG_MS);
  let stop = false;
  let calls = 0;
  const failed: Record<string, number> = {};
  const saturate = async (): Promise<void> => {
    while (!stop) {
      try { await track(pool.eval('sum(range(5000))'), 'stateless call'); calls++; } catch (e) { tally(failed, codeOf(e)); }
    }
  };
  const loops = Array.from({ length: 8 }, saturate);
  // Saturated: calls queue for a free worker all the time.
  while (pool.stats().pendingRequests < 4) await sleep(10);
  const waits: number[] = [];
  const callsDuringWait: number[] = [];
  let queuedAtBind = 0;
  for (let i = 0; i < 10; i++) {
    queuedAtBind = Math.max(queuedAtBind, pool.stats().pendingRequests);
    const before = calls;
    const t0 = Date.now();
    const ctx = await track(pool.bind('new', { owner: `saturated-${i}` }), `bind ${i} under saturation`);
    waits.push(Date.now() - t0);
    callsDuringWait.push(calls - before);
    assert.equal(await ctx.eval(`${i} + 1`), i + 1);
    await ctx.unbind();
  }
  stop = true;
  await settle(loops);
  const maxWorkers = watch.max();
  watch.stop();
  await pool.close();
  const orphans = [...watch.pids].filter(running);
  const sorted = [...waits].sort((a, b) => a - b);
  printFigures('binds under stateless saturation (pool of 2, 8 callers)', {
    binds: waits.length, bindWaitMedianMs: sorted[Math.floor(sorted.length / 2)], bindWaitMaxMs: sorted[sorted.length - 1],
    maxStatelessCallsDuringOneBind: Math.max(...callsDuringWait), statelessCalls: calls, failedStateless: failed,
    maxQueuedStateless: queuedAtBind, hungRequests: hung.length, maxNumWorkers: maxWorkers, orphans: orphans.length,
  });
  assert.deepEqual(hung, []);
  assert.deepEqual(failed, {});
  assert.ok(maxWorkers <= size, `numWorkers reached ${maxWorkers} for size ${size}`);
  assert.deepEqual(orphans, []);
});
