// Affinity modes (seeds/002): strict_queue keeps order and drops queued requests
// that time out (they never run), saturation gives pool_saturated, strict_fail_fast
// gives worker_busy, hint lets pool-level stateless work run on another worker
// (never ctx.* calls, whose refs must stay in their session). Cells that must still
// run while the test asserts wait on a gate file, not on a sleep. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ref } from '../../src/pool/index';
import { gate, rejectsWith, startPool, waitFor } from './pool-helpers';

test('affinity modes', async t => {
  const pool = await startPool({ size: 3, warm: 1, maxQueueLength: 3, queueTimeoutMs: 5000 });
  const ctx = await pool.bind('new');
  t.after(() => ctx.unbind());
  await ctx.exec('import time\norder = []');

  await t.test('strict_queue runs queued requests in order', async () => {
    const cell = ctx.exec('time.sleep(0.2); order.append(0)');
    const queued = [1, 2, 3].map(i => ctx.exec(`order.append(${i})`));
    await waitFor(() => pool.stats().pendingRequests === 3, 5000, 'three queued requests');
    await Promise.all([cell, ...queued]);
    assert.deepEqual(await ctx.eval('order'), [0, 1, 2, 3]);
    assert.equal(pool.stats().pendingRequests, 0);
  });

  await t.test('a request that times out while queued never runs', async () => {
    const cell = ctx.exec('time.sleep(0.3)');
    await rejectsWith(ctx.exec('side_effect = 1', { timeoutMs: 50 }), 'timeout');
    await cell;
    assert.equal(await ctx.eval("'side_effect' in globals()"), false);
  });

  await t.test('a full queue gives pool_saturated', async () => {
    const g = gate();
    const cell = ctx.exec(g.code);
    const queued = [1, 2, 3].map(() => ctx.eval('1'));
    try {
      await waitFor(() => pool.stats().pendingRequests === 3, 5000, 'three queued requests');
      await rejectsWith(ctx.eval('1'), 'pool_saturated');
    } finally { g.open(); }
    await Promise.all([cell, ...queued]);
  });

  await t.test('execute() cells respect maxQueueLength too', async () => {
    const g = gate();
    const cell = ctx.execute(g.code);
    const queued = [1, 2, 3].map(i => ctx.execute(`${i}`));
    try {
      await waitFor(() => pool.stats().pendingRequests === 3, 5000, 'three queued cells');
      await rejectsWith(ctx.execute('4'), 'pool_saturated');
    } finally { g.open(); }
    assert.equal((await cell).status, 'ok');
    assert.deepEqual((await Promise.all(queued)).map(r => r.result?.data['text/plain']), ['1', '2', '3']);
  });

  await t.test('strict_fail_fast gives worker_busy while a cell runs', async () => {
    const cell = ctx.execute('time.sleep(0.3)');
    await waitFor(() => ctx.busy, 5000, 'busy');
    await rejectsWith(ctx.eval('1', undefined, { affinity: 'strict_fail_fast' }), 'worker_busy');
    await rejectsWith(ctx.execute('1', { affinity: 'strict_fail_fast' }), 'worker_busy');
    assert.equal((await cell).status, 'ok');
    assert.equal(await ctx.eval('1', undefined, { affinity: 'strict_fail_fast' }), 1);
  });

  await t.test('hint: pool-level stateless calls in a bound scope proceed on another worker while it is busy', async () => {
    await pool.withContext(async () => {
      const bound = pool.currentContext()!;
      await waitFor(() => pool.stats().workers.some(w => w.state === 'idle'), 10000, 'a free worker');
      const g = gate();
      let cellDone = false;
      const cell = pool.execute(g.code).then(r => { cellDone = true; return r; });
      try {
        await waitFor(() => bound.busy, 5000, 'busy');
        const pid = await pool.eval('__import__("os").getpid()', undefined, { affinity: 'hint' });
        assert.equal(cellDone, false, 'answered while the cell still runs');
        assert.notEqual(pid, bound.pid);
        // A ref made elsewhere is used where it lives, even from the bound scope.
        const pattern = await pool.call('re', 'compile', ['q'], {}, { affinity: 'hint' }) as Ref;
        assert.notEqual(pattern.session_id, bound.sessionId);
        assert.equal(await pool.attr(pattern, 'pattern'), 'q');
        // A Python error of a rerouted exec still rejects.
        const e = await rejectsWith(pool.exec('raise ValueError("hinted")', { affinity: 'hint' }), 'python_error');
        assert.equal(e.ename, 'ValueError');
        assert.equal(cellDone, false);
      } finally { g.open(); }
      assert.equal((await cell).status, 'ok');
    });
  });

  await t.test('hint never moves ctx.* calls: their refs stay in the context session', async () => {
    await waitFor(() => pool.stats().workers.some(w => w.state === 'idle'), 10000, 'a free worker');
    const g = gate();
    const cell = ctx.execute(g.code);
    await waitFor(() => ctx.busy, 5000, 'busy');
    const pending = ctx.call('re', 'compile', ['z'], {}, { affinity: 'hint' });
    const failing = ctx.exec('raise ValueError("queued")', { affinity: 'hint' }).then(() => 'resolved', e => e);
    try {
      await waitFor(() => pool.stats().pendingRequests === 2, 5000, 'both queued on the busy worker');
    } finally { g.open(); }
    const pattern = await pending as Ref;
    assert.equal(pattern.session_id, ctx.sessionId);
    assert.equal(await ctx.attr(pattern, 'pattern'), 'z');
    assert.equal((await failing).code, 'python_error');
    assert.equal((await cell).status, 'ok');
  });

  await t.test('hint never moves ref calls', async () => {
    const pattern = await ctx.call('re', 'compile', ['q']);
    const cell = ctx.execute('time.sleep(0.2)');
    await waitFor(() => ctx.busy, 5000, 'busy');
    assert.equal(await ctx.attr(pattern, 'pattern', { affinity: 'hint' }), 'q');
    await cell;
  });

  await t.test('queue timeout gives pool_saturated', async () => {
    const p2 = await startPool({ size: 1, warm: 1, queueTimeoutMs: 100 });
    const c = await p2.bind('new');
    const cell = c.exec('import time; time.sleep(0.6)');
    await rejectsWith(c.eval('1'), 'pool_saturated');
    await cell;
    // size 1 and bound: a second bind has no worker at all.
    const other = await p2.bind('new').catch(e => e);
    assert.equal(other.code, 'no_workers_available');
    await c.unbind();
  });
});
