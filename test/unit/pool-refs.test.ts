// Refs and sessions (issue 3, seeds/003): live Python objects as handles, routing
// to the worker that holds them, release (one, twice, whole session), typed
// errors, TTL expiry and LRU eviction configured per session, the refs list and
// 'refs' event, and memory really coming back after a release. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRef, type Ref } from '../../src/pool/index';
import { rejectsWith, startPool, waitFor } from './pool-helpers';

test('refs and sessions', async t => {
  const pool = await startPool({ size: 3, warm: 1 });

  await t.test('re.compile returns a ref; method and attr work on it', async () => {
    const ctx = await pool.bind('new');
    const pattern = await ctx.call('re', 'compile', ['\\d+']);
    assert.ok(isRef(pattern));
    assert.equal(pattern.session_id, ctx.sessionId);
    assert.equal(pattern.type_name, 'Pattern');
    assert.equal(pattern.python_module, 're');
    const m = await ctx.method(pattern, 'match', ['123abc']);
    assert.ok(isRef(m));
    assert.equal(await ctx.method(m, 'group'), '123');
    assert.equal(await ctx.attr(pattern, 'pattern'), '\\d+');
    // Refs passed back anywhere inside args are resolved.
    assert.equal(await ctx.call('builtins', 'isinstance', [m, await ctx.eval('__import__("re").Match')]), true);
    assert.deepEqual(await ctx.eval('[p.pattern for p in ps["x"]]', { ps: { x: [pattern] } }), ['\\d+']);
    // The same object twice in one result gets one id.
    const pair = await ctx.eval('(o, o)', { o: pattern });
    assert.equal(pair[0].id, pair[1].id);
    await ctx.unbind();
  });

  await t.test('a ref routes to its worker, even from an unbound scope', async () => {
    const ctx = await pool.bind('new');
    const pattern = await ctx.call('re', 'compile', ['a+']);
    assert.equal(await pool.attr(pattern, 'pattern'), 'a+');
    assert.equal(await pool.call('builtins', 'getattr', [pattern, 'pattern']), 'a+');
    const ref = await pool.call('collections', 'OrderedDict');
    assert.ok(isRef(ref));
    await pool.method(ref, '__setitem__', ['k', 1]);
    assert.equal(await pool.method(ref, 'get', ['k']), 1);
    await ctx.unbind();
  });

  await t.test('release then use: ref_not_found; releasing twice is harmless', async () => {
    const ctx = await pool.bind('new');
    const obj = await ctx.eval('object()');
    assert.equal(await pool.releaseRef(obj), true);
    const e = await rejectsWith(ctx.attr(obj, '__class__'), 'ref_not_found');
    assert.match(e.message, /released/);
    assert.equal(e.reason, 'released');
    assert.equal(await pool.releaseRef(obj), false);
    await ctx.unbind();
  });

  await t.test('releasing a session frees all its refs; other sessions keep theirs', async () => {
    const a = await pool.bind('new');
    const b = await pool.bind('new');
    const refsA = [await a.eval('object()'), await a.eval('object()'), await a.eval('set()')];
    const refB = await b.eval('object()');
    assert.equal(await pool.releaseSession(a.sessionId), 3);
    for (const r of refsA) await rejectsWith(a.attr(r, '__class__'), 'ref_not_found');
    assert.ok(isRef(await b.attr(refB, '__class__')));
    assert.equal(await pool.releaseSession(a.sessionId), 0);
    await a.unbind();
    await b.unbind();
  });

  await t.test('a ref used in another session: session_mismatch', async () => {
    const a = await pool.bind('new');
    const b = await pool.bind('new');
    const r = await a.eval('object()');
    await rejectsWith(b.attr(r, '__class__'), 'session_mismatch');
    await a.unbind();
    await b.unbind();
  });

  await t.test('malformed refs: invalid_ref for each cause', async () => {
    const ctx = await pool.bind('new');
    const good = await ctx.eval('object()') as Ref;
    const { id: _id, ...noId } = good;
    const { __type__: _t, ...noType } = good;
    assert.equal((await rejectsWith(ctx.attr(noId as unknown as Ref, 'x'), 'invalid_ref')).reason, 'missing_id');
    assert.equal((await rejectsWith(ctx.attr(noType as unknown as Ref, 'x'), 'invalid_ref')).reason, 'missing_type');
    assert.equal((await rejectsWith(ctx.attr({ ...good, __schema__: 99 } as unknown as Ref, 'x'), 'invalid_ref')).reason, 'unknown_schema');
    await rejectsWith(pool.releaseRef({ id: 'x' } as unknown as Ref), 'invalid_ref');
    await rejectsWith(pool.attr({ ...good, __schema__: 2 } as unknown as Ref, 'x'), 'invalid_ref');
    assert.equal(isRef(noId), false);
    assert.equal(isRef(noType), false);
    await ctx.unbind();
  });

  await t.test('TTL expiry configured per session reaches the worker', async () => {
    const ctx = await pool.bind('new', { refTtlSeconds: 0.2 });
    const r = await ctx.eval('object()');
    await new Promise(res => setTimeout(res, 600));
    const e = await rejectsWith(ctx.attr(r, '__class__'), 'ref_not_found');
    assert.match(e.message, /expired/);
    await ctx.unbind();
  });

  await t.test('LRU eviction at a small maxRefsPerSession', async () => {
    const ctx = await pool.bind('new', { maxRefsPerSession: 3 });
    const r1 = await ctx.eval('object()');
    const r2 = await ctx.eval('object()');
    const r3 = await ctx.eval('object()');
    await ctx.method(r1, '__hash__'); // r1 is now more recent than r2 (plain result: no new ref)
    const r4 = await ctx.eval('object()');
    const e = await rejectsWith(ctx.method(r2, '__hash__'), 'ref_not_found');
    assert.match(e.message, /evicted/);
    for (const r of [r1, r3, r4]) assert.equal(typeof await ctx.method(r, '__hash__'), 'number');
    await ctx.unbind();
  });

  await t.test('ctx.configure lowers the limit of a bound session: its worker evicts at once', async () => {
    const ctx = await pool.bind('new');
    const refs = [await ctx.eval('object()'), await ctx.eval('object()'), await ctx.eval('object()')];
    await ctx.configure({ maxRefsPerSession: 1 });
    for (const r of refs.slice(0, 2)) await rejectsWith(ctx.method(r, '__hash__'), 'ref_not_found');
    assert.equal(typeof await ctx.method(refs[2], '__hash__'), 'number', 'the most recent ref stays');
    await ctx.unbind();
  });

  await t.test('refs() lists refs, variables and held results; the refs event fires', async () => {
    const ctx = await pool.bind('new');
    const events: string[] = [];
    const on = (e: { sessionId: string }): void => { events.push(e.sessionId); };
    pool.on('refs', on);
    await ctx.execute('data = list(range(1000))\ndata');
    const pattern = await ctx.call('re', 'compile', ['x']);
    const list = await ctx.refs();
    const v = list.find(x => x.kind === 'variable' && x.name === 'data');
    assert.ok(v, 'variable listed');
    assert.equal(v!.typeName, 'list');
    assert.ok(v!.sizeBytes > 1000 * 8);
    assert.ok(list.some(x => x.kind === 'ref' && x.id === pattern.id));
    assert.ok(list.some(x => x.kind === 'result' || x.kind === 'history'), 'the held result (IPython mode: its Out entry)');
    assert.ok(events.includes(ctx.sessionId));
    // Releasing a variable (by the id refs() listed) deletes the name.
    assert.equal(await pool.releaseRef({ sessionId: ctx.sessionId, refId: v!.id }), true);
    assert.equal(await ctx.eval("'data' in globals()"), false);
    const all = await pool.refs();
    assert.ok(all.some(x => x.id === pattern.id));
    pool.off('refs', on);
    await ctx.unbind();
  });

  await t.test('memory drops after releasing a 200 MB object', async () => {
    const ctx = await pool.bind('new');
    const rss = (): number => pool.stats().workers.find(w => w.pid === ctx.pid)!.rssBytes;
    const before = rss();
    const big = await ctx.eval('bytearray(200 * 1024 * 1024)');
    assert.ok(isRef(big));
    assert.ok(rss() > before + 150 * 1024 * 1024, 'the object is resident');
    assert.equal(await pool.releaseRef(big), true);
    await waitFor(() => rss() < before + 50 * 1024 * 1024, 5000, 'rss to drop');
    await ctx.unbind();
  });

  await t.test("killing a session's worker: session_worker_unavailable, and a fresh bind works", async () => {
    const ctx = await pool.bind('new');
    const r = await ctx.eval('object()');
    process.kill(ctx.pid, 'SIGKILL');
    await waitFor(() => !ctx.bound, 5000, 'lost');
    await rejectsWith(ctx.attr(r, '__class__'), 'session_worker_unavailable');
    await rejectsWith(pool.attr(r, '__class__'), 'session_worker_unavailable');
    const fresh = await pool.bind('new');
    assert.equal(await fresh.eval('1+1'), 2);
    await fresh.unbind();
    await ctx.unbind();
  });
});
