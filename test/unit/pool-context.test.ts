// Context affinity (seeds/000, erlang_python's context suite): implicit and
// explicit binding, state persistence and isolation, withContext, availability
// accounting, crashes and recycling. Real workers, no mocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PyCtxError } from '../../src/pool/index';
import { alive, rejectsWith, startPool, waitFor } from './pool-helpers';

test('context affinity', async t => {
  const pool = await startPool({ size: 2, warm: 1 });

  await t.test('bind / isBound / unbind transitions', async () => {
    assert.equal(pool.isBound(), false);
    await pool.bind();
    assert.equal(pool.isBound(), true);
    await pool.unbind();
    assert.equal(pool.isBound(), false);
  });

  await t.test('state persists while bound (42 -> 43)', async () => {
    await pool.bind();
    await pool.exec('counter = 42');
    await pool.exec('counter += 1');
    assert.equal(await pool.eval('counter'), 43);
    await pool.unbind();
  });

  await t.test('explicit contexts are isolated', async () => {
    const a = await pool.bind('new');
    const b = await pool.bind('new');
    assert.notEqual(a.pid, b.pid);
    await a.exec('x = 1');
    await b.exec('x = 2');
    assert.equal(await a.eval('x'), 1);
    assert.equal(await b.eval('x'), 2);
    await a.unbind();
    await b.unbind();
  });

  await t.test('withContext implicit: bound inside, unbound after', async () => {
    const r = await pool.withContext(async () => {
      assert.equal(pool.isBound(), true);
      await pool.exec('total = 0');
      await pool.exec('for i in range(10): total += i');
      return pool.eval('total');
    });
    assert.equal(r, 45);
    assert.equal(pool.isBound(), false);
    assert.equal(pool.stats().checkedOut, 0);
  });

  await t.test('withContext explicit: gets a context, unbound after', async () => {
    let seen: { unbound: () => boolean } | undefined;
    const r = await pool.withContext(async ctx => {
      seen = { unbound: () => !ctx.bound };
      await ctx.exec('import json');
      await ctx.exec("data = {'key': 'value'}");
      return ctx.eval('json.dumps(data)');
    });
    assert.equal(r, '{"key": "value"}');
    assert.equal(seen!.unbound(), true);
    assert.equal(pool.stats().checkedOut, 0);
  });

  await t.test('withContext unbinds after a throw', async () => {
    await assert.rejects(pool.withContext(async () => {
      await pool.exec('y = 1');
      throw new Error('boom');
    }), /boom/);
    assert.equal(pool.isBound(), false);
    await assert.rejects(pool.withContext(async ctx => { await ctx.eval('1'); throw new Error('boom2'); }), /boom2/);
    assert.equal(pool.stats().checkedOut, 0);
  });

  await t.test('double bind is idempotent; unbind without bind is safe', async () => {
    await pool.unbind();
    await pool.bind();
    const pid = pool.currentContext()!.pid;
    await pool.bind();
    assert.equal(pool.currentContext()!.pid, pid);
    assert.equal(pool.stats().checkedOut, 1);
    await pool.unbind();
    await pool.unbind();
    assert.equal(pool.stats().checkedOut, 0);
  });

  await t.test('context call after an import', async () => {
    const ctx = await pool.bind('new');
    await ctx.exec('import math');
    assert.equal(await ctx.call('math', 'sqrt', [16]), 4);
    assert.equal(await ctx.call('__main__', 'math.floor', [2.5]), 2);
    await ctx.unbind();
  });

  await t.test('using a context after unbind rejects with context_not_bound', async () => {
    const ctx = await pool.bind('new');
    await ctx.unbind();
    await rejectsWith(ctx.eval('1 + 1'), 'context_not_bound');
    await rejectsWith(ctx.execute('1'), 'context_not_bound');
    await ctx.unbind(); // still safe
  });

  await t.test('bind when all workers are bound: no_workers_available', async () => {
    const a = await pool.bind('new');
    const b = await pool.bind('new');
    await rejectsWith(pool.bind('new'), 'no_workers_available');
    await a.unbind();
    await b.unbind();
  });

  await t.test('availableWorkers drops on bind and comes back when the scope ends', async () => {
    const before = pool.stats().availableWorkers;
    await pool.withContext(async () => {
      assert.equal(pool.stats().availableWorkers, before - 1);
      assert.equal(pool.stats().checkedOut, 1);
    });
    assert.equal(pool.stats().availableWorkers, before);
  });

  await t.test('a SIGKILLed worker: pending rejects worker_crashed, binding dropped, context lost, replacement started', async () => {
    const ctx = await pool.bind('new', { owner: 'test-owner' });
    const before = pool.stats().availableWorkers;
    const lost = new Promise(r => ctx.once('lost', r));
    const poolLost = new Promise(r => pool.once('contextLost', r));
    const pid = ctx.pid;
    const running = ctx.eval('__import__("time").sleep(30)');
    await waitFor(() => ctx.busy, 5000, 'busy');
    process.kill(pid, 'SIGKILL');
    const err = await rejectsWith(running, 'worker_crashed');
    assert.equal(err.signal, 'SIGKILL');
    const ev = await lost as { exitCode: number | null; signal: string | null; sessionId: string };
    assert.equal(ev.signal, 'SIGKILL');
    assert.equal(ev.sessionId, ctx.sessionId);
    assert.equal(((await poolLost) as { owner: string }).owner, 'test-owner');
    assert.equal(pool.stats().availableWorkers, before + 1);
    assert.equal(pool.stats().checkedOut, 0);
    await rejectsWith(ctx.eval('1'), 'session_worker_unavailable');
    await waitFor(() => pool.stats().workers.some(w => w.state === 'idle'), 10000, 'replacement');
    assert.ok(pool.stats().workers.every(w => w.pid !== pid));
    const fresh = await pool.bind('new');
    assert.equal(await fresh.eval('1+1'), 2);
    await fresh.unbind();
    await ctx.unbind();
    await rejectsWith(ctx.eval('1'), 'context_not_bound');
  });

  await t.test('a worker that ran user code is recycled on unbind, never handed over with old state', async () => {
    const a = await pool.bind('new');
    const pid = a.pid;
    await a.exec('secret = 1');
    await a.unbind();
    assert.equal(alive(pid), false, 'recycled worker is gone');
    const b = await pool.bind('new');
    assert.notEqual(b.pid, pid);
    assert.equal(await b.eval("'secret' in globals()"), false);
    await b.unbind();
  });

  await t.test('stateless calls run on a free worker; no state is handed to a later bind', async () => {
    assert.equal(await pool.call('operator', 'add', [2, 3]), 5);
    assert.equal(await pool.eval('a + b', { a: 1, b: 2 }), 3);
    await pool.exec('leak = 1');
    const ctx = await pool.bind('new');
    assert.equal(await ctx.eval("'leak' in globals()"), false);
    await ctx.unbind();
  });

  await t.test('python_error carries ename, evalue and traceback', async () => {
    const ctx = await pool.bind('new');
    const e = await rejectsWith(ctx.eval('1/0'), 'python_error');
    assert.equal(e.ename, 'ZeroDivisionError');
    assert.match(e.evalue!, /division by zero/);
    assert.ok(e.traceback!.length > 0);
    const e2 = await rejectsWith(ctx.exec('raise ValueError("bad")'), 'python_error');
    assert.equal(e2.ename, 'ValueError');
    assert.ok(e2 instanceof PyCtxError);
    await ctx.unbind();
  });

  await t.test("'stats' event fires on changes", async () => {
    const seen: number[] = [];
    const on = (s: { checkedOut: number }): void => { seen.push(s.checkedOut); };
    pool.on('stats', on);
    const ctx = await pool.bind('new');
    await waitFor(() => seen.includes(1), 5000, 'stats with checkedOut 1');
    await ctx.unbind();
    await waitFor(() => seen[seen.length - 1] === 0, 5000, 'stats with checkedOut 0');
    pool.off('stats', on);
    const w = pool.stats().workers[0];
    assert.ok(w.rssBytes > 0 && w.startedAt > 0 && w.pid > 0);
  });
});

test('close() leaves no worker processes', async () => {
  const pool = await startPool({ size: 2, warm: 2 });
  const ctx = await pool.bind('new');
  void ctx.eval('__import__("time").sleep(30)').catch(() => {});
  await waitFor(() => pool.stats().workers.length === 2 && pool.stats().workers.every(w => w.state !== 'starting'), 10000, 'workers');
  const pids = pool.stats().workers.map(w => w.pid);
  await pool.close();
  assert.deepEqual(pids.filter(alive), []);
  await rejectsWith(pool.bind('new'), 'pool_closed');
});

test('a missing interpreter is python_not_found; bad options are invalid_argument', async () => {
  const { Pool } = await import('../../src/pool/index');
  await rejectsWith(Pool.start({ python: '/no/such/python3' }), 'python_not_found');
  await rejectsWith(Pool.start({ size: 0 }), 'invalid_argument');
});
