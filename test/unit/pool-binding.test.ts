// How binds get workers when the pool is busy or workers die: a bind whose worker
// is killed before it is handed over takes another; a waiting bind is served
// before queued stateless calls; the `size` cap holds while recycling; and the
// waiting bind (BindOptions.waitForWorker) with its wake-ups (unbind, recycle,
// crash), cancellation and time limit. Real workers and signals; ordering is
// forced with file gates, never with timing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context, Pool } from '../../src/pool/index';
import { gate, rejectsWith, startPool, waitFor } from './pool-helpers';

/** Max numWorkers over every stats change (checked synchronously at each emit). */
function capWatch(pool: Pool): { max: () => number } {
  let max = pool.stats().numWorkers;
  pool.on('stats', s => { max = Math.max(max, s.numWorkers); });
  // Also sample between coalesced events: every worker state change passes emitStats.
  const iv = setInterval(() => { max = Math.max(max, pool.stats().numWorkers); }, 5);
  iv.unref();
  return { max: () => Math.max(max, pool.stats().numWorkers) };
}

const starting = (pool: Pool): number[] => pool.stats().workers.filter(w => w.state === 'starting').map(w => w.pid);

test('a bind whose worker is killed before its hello takes another worker', async () => {
  // Workers started while the hold file exists wait in their preload, before hello:
  // each one this bind is given can be killed before it could have answered.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyctx-hold-'));
  const hold = path.join(dir, 'hold');
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'pyctx_hold.py'),
    'import os, time\nwhile os.path.exists(os.environ["PYCTX_TEST_HOLD"]): time.sleep(0.01)\n');
  const pool = await startPool({ size: 2, warm: 0, preload: ['pyctx_hold'], env: { PYTHONPATH: dir, PYCTX_TEST_HOLD: hold } });
  const lost: unknown[] = [];
  pool.on('contextLost', ev => lost.push(ev));
  const first = await pool.bind('new');          // the worker Pool.start warmed
  writeFileSync(hold, '');
  const killed: number[] = [];
  const p = pool.bind('new');                    // reserves a worker it has to spawn
  for (let i = 0; i < 3; i++) {
    await waitFor(() => starting(pool).some(pid => !killed.includes(pid)), 20000, 'a starting worker');
    const pid = starting(pool).find(x => !killed.includes(x))!;
    process.kill(pid, 'SIGKILL');
    killed.push(pid);
  }
  await waitFor(() => starting(pool).some(pid => !killed.includes(pid)), 20000, 'the next worker');
  rmSync(hold);                                   // lets it start
  const ctx = await p;
  assert.ok(!killed.includes(ctx.pid), 'the bind got a live worker');
  assert.equal(await ctx.eval('6 * 7'), 42);
  assert.deepEqual(lost, [], 'no context was reported lost: none had been handed over');
  assert.ok(pool.stats().numWorkers <= 2);
  await first.unbind();
  await ctx.unbind();
});

test('a waiting bind is served before queued stateless calls', async () => {
  const pool = await startPool({ size: 2, warm: 2 });
  const gates = Array.from({ length: 6 }, () => gate());
  // Two gated calls occupy both workers; four more queue behind them.
  const calls = gates.map(g => pool.exec(g.code));
  await waitFor(() => pool.stats().workers.filter(w => w.state === 'busy').length === 2 && pool.stats().pendingRequests === 4,
    20000, 'both workers busy, four calls queued');
  let bound: Context | undefined;
  const bind = pool.bind('new').then(c => { bound = c; return c; });
  await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
  // Calls 0 and 1 run (in order of arrival); let one of them end.
  gates[0].open();
  const ctx = await bind;
  assert.ok(bound);
  // The bind went first: the four queued calls have not started (their gates are shut).
  assert.equal(pool.stats().pendingRequests, 4, 'no queued stateless call overtook the bind');
  assert.equal(pool.stats().workers.filter(w => w.state === 'busy').length, 1, 'call 1 still runs');
  assert.equal(await ctx.eval('1 + 1'), 2);
  for (const g of gates) g.open();
  await Promise.all(calls);
  await ctx.unbind();
});

test('the size cap holds while idle used workers are recycled for a bind and the warm set', async () => {
  const pool = await startPool({ size: 2, warm: 2 });
  const cap = capWatch(pool);
  // Both workers run a stateless call at once: both become used (dirty) and idle.
  await Promise.all([pool.eval('1'), pool.eval('2')]);
  // The bind recycles one; topping the warm set up recycles the other (once, not twice).
  const ctx = await pool.bind('new');
  const settled = (): boolean => {
    const ws = pool.stats().workers;
    return ws.every(w => w.state !== 'starting') && ws.some(w => w.state === 'idle');
  };
  await waitFor(settled, 20000, 'the warm set to be topped up');
  assert.ok(cap.max() <= 2, `numWorkers reached ${cap.max()} for size 2`);
  assert.equal(pool.stats().numWorkers, 2);
  await ctx.unbind();
});

test('waitForWorker: a full pool makes the bind wait, and any freed worker wakes it', async t => {
  const pool = await startPool({ size: 1, warm: 1 });

  await t.test('fail-fast stays the default', async () => {
    const a = await pool.bind('new');
    const e = await rejectsWith(pool.bind('new'), 'no_workers_available');
    assert.match(e.message, /waitForWorker/);
    await a.unbind();
  });

  await t.test('woken by an unbind (a clean worker goes straight over)', async () => {
    const a = await pool.bind('new');
    const waits: number[] = [];
    const b = pool.bind('new', { waitForWorker: true, onWait: w => waits.push(w.position) });
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
    assert.deepEqual(waits, [1]);
    const pid = a.pid;
    await a.unbind();
    const ctx = await b;
    assert.equal(ctx.pid, pid, 'the unbound worker never ran code: handed over as is');
    await ctx.unbind();
  });

  await t.test('woken by a recycle (the worker ran code: a fresh one replaces it)', async () => {
    const a = await pool.bind('new');
    await a.exec('secret = 1');
    const b = pool.bind('new', { waitForWorker: true });
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
    const old = a.pid;
    await a.unbind();
    const ctx = await b;
    assert.notEqual(ctx.pid, old);
    assert.equal(await ctx.eval("'secret' in globals()"), false);
    await ctx.unbind();
  });

  await t.test('woken by a crash of the bound worker', async () => {
    const a = await pool.bind('new');
    const b = pool.bind('new', { waitForWorker: true });
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
    process.kill(a.pid, 'SIGKILL');
    const ctx = await b;
    assert.equal(a.state, 'lost');
    assert.equal(await ctx.eval('3'), 3);
    await ctx.unbind();
    await a.unbind();
  });

  await t.test('cancelled by its AbortSignal, or its waitTimeoutMs: nothing stays reserved', async () => {
    const a = await pool.bind('new');
    const ac = new AbortController();
    const b = pool.bind('new', { waitForWorker: true, signal: ac.signal });
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
    ac.abort();
    await rejectsWith(b, 'interrupted');
    await rejectsWith(pool.bind('new', { waitForWorker: true, waitTimeoutMs: 50 }), 'no_workers_available');
    await rejectsWith(pool.bind('new', { waitForWorker: true, signal: AbortSignal.abort() }), 'interrupted');
    assert.equal(pool.stats().waitingBinds, 0);
    await a.unbind();
    const c = await pool.bind('new');   // the pool is whole again
    assert.equal(await c.eval('4'), 4);
    await c.unbind();
  });

  await t.test('waiting binds are served in order', async () => {
    const a = await pool.bind('new');
    const order: string[] = [];
    const b = pool.bind('new', { waitForWorker: true, owner: 'b' }).then(c => { order.push('b'); return c; });
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'b to wait');
    const c = pool.bind('new', { waitForWorker: true, owner: 'c' }).then(x => { order.push('c'); return x; });
    await waitFor(() => pool.stats().waitingBinds === 2, 10000, 'c to wait');
    await a.unbind();
    const cb = await b;
    assert.deepEqual(order, ['b']);
    await cb.unbind();
    const cc = await c;
    assert.deepEqual(order, ['b', 'c']);
    await cc.unbind();
  });

  await t.test('a restart keeps its context\'s place: a waiting bind does not take it', async () => {
    const a = await pool.bind('new');
    await a.exec('v = 1');
    const b = pool.bind('new', { waitForWorker: true });
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
    const old = a.pid;
    await a.restart();
    assert.notEqual(a.pid, old);
    assert.equal(await a.eval("'v' in globals()"), false);
    assert.equal(pool.stats().waitingBinds, 1, 'the bind still waits');
    await a.unbind();
    const cb = await b;
    assert.equal(await cb.eval('5'), 5);
    await cb.unbind();
  });

    await t.test('close() rejects waiting binds with pool_closed', async () => {
    await pool.bind('new');
    const b = rejectsWith(pool.bind('new', { waitForWorker: true }), 'pool_closed');
    await waitFor(() => pool.stats().waitingBinds === 1, 10000, 'the bind to wait');
    await pool.close();
    await b;
  });
});
