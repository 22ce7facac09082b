// Interrupts and timeouts (erlang_python's interrupt suite): a timeout interrupts
// a busy loop and the context stays usable; racing interrupts never leak into the
// next request; a worker that ignores SIGINT is killed after the grace period, and
// unbind/restart never wait for it. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alive, rejectsWith, startPool, waitFor } from './pool-helpers';

test('interrupts and timeouts', async t => {
  // A generous grace: under load a SIGINT may take long to land, and these tests
  // assert the worker was interrupted, not killed.
  const pool = await startPool({ size: 2, warm: 1, interruptGraceMs: 5000 });

  await t.test('a timeout interrupts while True: pass and the next 1+1 returns 2', async () => {
    const ctx = await pool.bind('new');
    const pid = ctx.pid;
    await rejectsWith(ctx.exec('while True: pass', { timeoutMs: 200 }), 'timeout');
    assert.equal(await ctx.eval('1+1'), 2);
    assert.equal(ctx.pid, pid, 'interrupted, not killed');
    await ctx.unbind();
  });

  await t.test('50 racing interrupts at short timeouts never leak into the next request', async () => {
    const ctx = await pool.bind('new');
    await ctx.exec('import time\ndef spin(n):\n    s = 0\n    for i in range(n): s += i\n    return s');
    for (let i = 0; i < 50; i++) {
      // Timeouts land before, during and right after the request finishes.
      await ctx.eval('spin(20000)', undefined, { timeoutMs: 1 + (i % 5) }).catch(e => {
        if (e.code !== 'timeout') throw e;
      });
      assert.equal(await ctx.eval('1+1'), 2, `iteration ${i}`);
    }
    await ctx.unbind();
  });

  await t.test('ctx.interrupt() raises KeyboardInterrupt in the running cell; the context stays usable', async () => {
    const ctx = await pool.bind('new');
    assert.equal(ctx.interrupt(), false, 'nothing runs');
    // Interrupt once the cell is really in user code (its first output arrived):
    // SIGINT outside user code is ignored by design.
    let started!: () => void;
    const inCode = new Promise<void>(r => { started = r; });
    const cell = ctx.execute('import time\nprint("go", flush=True)\nfor _ in range(3000): time.sleep(0.01)', { onStream: () => started() });
    await inCode;
    assert.equal(ctx.interrupt(), true);
    const r = await cell;
    assert.equal(r.status, 'error');
    assert.equal(r.error!.ename, 'KeyboardInterrupt');
    // A plain request: keep interrupting until it gives up (the first SIGINT may land before user code).
    const p = ctx.eval('__import__("time").sleep(30)');
    let settled = false;
    const done = p.then(() => 'resolved', e => e).finally(() => { settled = true; });
    while (!settled) { ctx.interrupt(); await new Promise(res => setTimeout(res, 50)); }
    assert.equal((await done).code, 'interrupted');
    assert.equal(await ctx.eval('3'), 3);
    await ctx.unbind();
  });

  await t.test('an AbortSignal interrupts a running cell', async () => {
    const ctx = await pool.bind('new');
    const ac = new AbortController();
    const cell = ctx.execute('import time\nprint("go", flush=True)\nwhile True: time.sleep(0.01)', { signal: ac.signal, onStream: () => ac.abort() });
    const r = await cell;
    assert.equal(r.error!.ename, 'KeyboardInterrupt');
    await ctx.unbind();
  });

  await t.test('a worker ignoring SIGINT is killed after the grace period on timeout', async () => {
    const short = await startPool({ size: 1, warm: 1, interruptGraceMs: 300 });
    const ctx = await short.bind('new');
    const pid = ctx.pid;
    await ctx.exec('import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)');
    await rejectsWith(ctx.exec('while True: pass', { timeoutMs: 100 }), 'timeout');
    await waitFor(() => !alive(pid), 5000, 'killed worker');
    await rejectsWith(ctx.eval('1'), 'session_worker_unavailable');
    await ctx.unbind();
  });

  await t.test('unbind kills a busy worker that ignores SIGINT instead of waiting', async () => {
    const ctx = await pool.bind('new');
    const pid = ctx.pid;
    await ctx.exec('import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)');
    const running = ctx.exec('while True: pass').then(() => 'resolved', e => e);
    await waitFor(() => ctx.busy, 5000, 'busy');
    await ctx.unbind();
    assert.equal(alive(pid), false);
    assert.equal((await running).code, 'context_not_bound');
    assert.equal(pool.stats().checkedOut, 0);
  });

  await t.test('restart replaces a stuck worker, keeps the session id, and the context works', async () => {
    const ctx = await pool.bind('new');
    const pid = ctx.pid;
    const sid = ctx.sessionId;
    await ctx.exec('import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\nstate = 1');
    const running = ctx.exec('while True: pass').then(() => 'resolved', e => e);
    await waitFor(() => ctx.busy, 5000, 'busy');
    await ctx.restart();
    assert.equal((await running).code, 'interrupted');
    assert.equal(alive(pid), false);
    assert.notEqual(ctx.pid, pid);
    assert.equal(ctx.sessionId, sid);
    assert.equal(await ctx.eval("'state' in globals()"), false);
    assert.equal(await ctx.eval('1+1'), 2);
    await ctx.unbind();
  });
});
