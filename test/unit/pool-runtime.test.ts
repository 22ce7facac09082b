// Runtime context (seeds/004): request-scoped variables set with
// pool.withRuntimeContext or per call reach Python's
// pyctx_worker.runtime.get_context(), never leak into the next request, and stay
// isolated between interleaved async scopes and between asyncio tasks. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPool } from './pool-helpers';

test('runtime context', async t => {
  const pool = await startPool({ size: 2, warm: 1 });
  const ctx = await pool.bind('new');
  t.after(() => ctx.unbind());
  await ctx.exec('from pyctx_worker.runtime import get_context\ndef rc(k):\n    c = get_context()\n    return None if c is None else c.get(k, "missing")');

  await t.test('withRuntimeContext and per-call values reach Python; merged, per-call wins', async () => {
    const v = await pool.withRuntimeContext({ tenant: 'acme', user: 'u1' }, () =>
      ctx.eval('(rc("tenant"), rc("user"), rc("nope"))'));
    assert.deepEqual(v, ['acme', 'u1', 'missing']);
    const w = await pool.withRuntimeContext({ tenant: 'acme' }, () =>
      pool.withRuntimeContext({ req: 7 }, () => ctx.eval('(rc("tenant"), rc("req"))', undefined, { runtimeContext: { tenant: 'override' } })));
    assert.deepEqual(w, ['override', 7]);
    assert.equal(await ctx.call('__main__', 'rc', ['k'], {}, { runtimeContext: { k: [1, 2] } }).then(x => JSON.stringify(x)), '[1,2]');
  });

  await t.test('nothing leaks into the next request', async () => {
    await pool.withRuntimeContext({ tenant: 'acme' }, () => ctx.eval('rc("tenant")'));
    assert.equal(await ctx.eval('get_context()'), null);
    const r = await ctx.execute('get_context() is None');
    assert.equal(r.result!.data['text/plain'], 'True');
  });

  await t.test('read-only in Python', async () => {
    const r = await pool.withRuntimeContext({ a: 1 }, () => ctx.execute('get_context()["a"] = 2'));
    assert.equal(r.status, 'error');
    assert.equal(r.error!.ename, 'TypeError');
  });

  await t.test('two interleaved async scopes each see only their own values', async () => {
    const scope = (name: string) => pool.withRuntimeContext({ tenant: name }, async () => {
      const seen: string[] = [];
      for (let i = 0; i < 5; i++) {
        seen.push(await ctx.eval('rc("tenant")'));
        await new Promise(r => setImmediate(r));
      }
      return seen;
    });
    const [a, b] = await Promise.all([scope('A'), scope('B')]);
    assert.deepEqual(a, ['A', 'A', 'A', 'A', 'A']);
    assert.deepEqual(b, ['B', 'B', 'B', 'B', 'B']);
  });

  await t.test('an asyncio task keeps the value of the request that created it', async () => {
    await pool.withRuntimeContext({ tenant: 'first' }, () => ctx.exec([
      'import asyncio',
      'loop = asyncio.new_event_loop()',
      'async def probe():',
      '    await gate.wait()',
      '    return rc("tenant")',
      'async def make():',
      '    global gate',
      '    gate = asyncio.Event()',
      '    return asyncio.ensure_future(probe())',
      'task = loop.run_until_complete(make())',
    ].join('\n')));
    const v = await pool.withRuntimeContext({ tenant: 'second' }, () =>
      ctx.eval('(gate.set(), loop.run_until_complete(task), rc("tenant"))[1:]'));
    assert.deepEqual(v, ['first', 'second']);
  });

  await t.test('stateless calls carry the runtime context too', async () => {
    const v = await pool.withRuntimeContext({ tenant: 'free' }, () =>
      pool.eval('__import__("pyctx_worker.runtime", fromlist=["x"]).get_context().get("tenant")'));
    assert.equal(v, 'free');
  });
});
