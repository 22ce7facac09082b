// Stateless calls (pool.exec/eval/call outside a bound scope): each runs in a fresh
// namespace, so unrelated callers never see each other's variables; a Python error
// in exec rejects (on every route); an already-aborted signal never waits for a
// worker. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rejectsWith, startPool } from './pool-helpers';

test('stateless calls', async t => {
  // size 1: every stateless call lands on the same (used) worker.
  const pool = await startPool({ size: 1, warm: 1 });

  await t.test('a variable set by one stateless caller is not visible to the next', async () => {
    await pool.exec('secret = "A"');
    const e = await rejectsWith(pool.eval('secret'), 'python_error');
    assert.equal(e.ename, 'NameError');
    assert.equal(await pool.eval("'secret' in globals()"), false);
    // Within one call the namespace behaves normally (functions see their globals).
    await pool.exec('k = 3\ndef f(): return k * 2\nassert f() == 6 and __name__ == "__main__"');
  });

  await t.test('pool.exec rejects with python_error when the code raises', async () => {
    const e = await rejectsWith(pool.exec('raise ValueError("stateless boom")'), 'python_error');
    assert.equal(e.ename, 'ValueError');
    assert.equal(e.evalue, 'stateless boom');
  });

  await t.test('an already-aborted signal rejects at once while waiting for a worker', async () => {
    const ctx = await pool.bind('new'); // the only worker is bound: stateless calls must wait
    t.after(() => ctx.unbind());
    const ac = new AbortController();
    ac.abort();
    // Without the check it would wait until its timeout (code 'timeout').
    await rejectsWith(pool.eval('1', undefined, { signal: ac.signal, timeoutMs: 3000 }), 'interrupted');
    assert.equal(pool.stats().pendingRequests, 0);
  });
});
