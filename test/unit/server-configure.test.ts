// pyctx/configure over real stdio JSON-RPC with real workers: live settings reach
// the running server without dropping any notebook's state — the output cap of the
// next cell, ref limits for new sessions and (through the worker's `configure` op)
// for bound ones, pruning their held results at once; bad input is refused whole.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '../../src/client/api';
import type { OutputPayload } from '../../src/protocol/lsp';
import { startServer, waitFor, type ServerHarness } from './server-harness';

let h: ServerHarness;
const A = 'file:///tmp/pyctx-configure/a.ipynb';
const B = 'file:///tmp/pyctx-configure/b.ipynb';
const C = 'file:///tmp/pyctx-configure/c.ipynb';

async function run(uri: string, code: string) {
  const outs: OutputPayload[] = [];
  const result = await h.api.execute({ notebookUri: uri, code }, o => outs.push(o));
  return { result, outs };
}
const results = async (sessionId: string) =>
  (await h.api.refs(sessionId)).refs.filter(r => r.kind === 'result').map(r => r.name).sort();

before(async () => {
  // Held cell results (_N) are the built-in layer's; IPython mode keeps Out[N] history instead.
  h = await startServer({ init: { poolSize: 3, warm: 1, outputMaxBytes: 1_000_000, ipython: 'off' } });
  assert.equal((await h.settled).state, 'ready');
});
after(async () => { await h?.close(); });

describe('pyctx/configure', () => {
  test('a new output cap applies to the next cell; the session (state, pid) stays', async () => {
    const bound = await h.api.bind(A);
    await run(A, 'x = 41');
    const big = 'print("y" * 5000)';
    assert.equal((await run(A, big)).result.truncated, undefined, 'under the start cap');

    assert.deepEqual(await h.api.configure({ outputMaxBytes: 1000 }), { sessions: 0, queued: 0 }, 'ref limits unchanged: no worker is asked');
    const capped = await run(A, big);
    assert.equal(capped.result.truncated, true);
    assert.deepEqual(capped.outs.filter(o => o.kind === 'truncated').map(o => o.kind === 'truncated' && o.limitBytes), [1000]);
    const r = await run(A, 'x + 1');
    assert.deepEqual(r.result.result?.data['text/plain'], '42');
    const [s] = (await h.api.sessions()).filter(x => x.notebookUri === A);
    assert.equal(s.pid, bound.pid);
    assert.equal(s.sessionId, bound.sessionId);

    // Left out = the default again (4 MiB): the same print is whole.
    await h.api.configure({});
    assert.equal((await run(A, big)).result.truncated, undefined);
  });

  test('a lower maxRefsPerSession reaches the bound worker: its held results are pruned at once, oldest first', async () => {
    const b = await h.api.bind(B);
    for (const v of ['1', '2', '3', '4']) await run(B, v);
    assert.deepEqual(await results(b.sessionId), ['_1', '_2', '_3', '_4']);

    const res = await h.api.configure({ maxRefsPerSession: 2 });
    assert.ok(res.sessions >= 1 && res.queued === 0, JSON.stringify(res));
    assert.deepEqual(await results(b.sessionId), ['_3', '_4'], 'the listing is not served from the cache');
    await run(B, '5');
    assert.deepEqual(await results(b.sessionId), ['_4', '_5'], 'later results are held under the new limit too');
    assert.equal((await h.api.sessions()).find(x => x.notebookUri === B)?.pid, b.pid, 'same worker');

    // A session bound after the change gets the new limit from its bind.
    const c = await h.api.bind(C);
    for (const v of ['1', '2', '3']) await run(C, v);
    assert.deepEqual(await results(c.sessionId), ['_2', '_3']);
    await h.api.configure({});   // back to the default 10,000
    for (const v of ['6', '7']) await run(B, v);
    assert.deepEqual(await results(b.sessionId), ['_4', '_5', '_6', '_7']);
    await h.api.unbind(C);
  });

  test('a busy worker takes the new limits after its running cell; the reply does not wait for it', async () => {
    const b = (await h.api.sessions()).find(x => x.notebookUri === B)!;
    const slow = run(B, 'import time\ntime.sleep(1.5)\n8');
    await new Promise(r => setTimeout(r, 300));
    const res = await h.api.configure({ maxRefsPerSession: 1 });
    assert.deepEqual(res, { sessions: 1, queued: 1 }, 'A is idle, B is busy');
    assert.equal((await slow).result.status, 'ok');
    // Applied after the cell's reply (the refs listing may be answered first): poll.
    const names = await waitFor(async () => { const n = await results(b.sessionId); return n.length === 1 ? n : undefined; });
    assert.deepEqual(names, ['_8'], 'pruned to the newest result once the cell ended');
    await h.api.configure({});
  });

  test('bad values are refused with bad_request and nothing is applied', async () => {
    for (const bad of [{ outputMaxBytes: 0 }, { maxRefsPerSession: 1.5 }, { refTtlSeconds: -1 }, { outputMaxBytes: 'big' }] as object[]) {
      await assert.rejects(h.api.configure(bad as never), (e: unknown) => errorCode(e) === 'bad_request', JSON.stringify(bad));
    }
    await assert.rejects(h.api.configure({ outputMaxBytes: 500, maxRefsPerSession: -3 }), (e: unknown) => errorCode(e) === 'bad_request');
    assert.equal((await run(A, 'print("y" * 5000)')).result.truncated, undefined, 'the valid field of a refused call was not applied');
  });
});
