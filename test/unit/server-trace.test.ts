// The server's half of the end-to-end cell trace (PYCTX_TRACE, see src/server/trace.ts)
// and the worker pid on the execute reply: a traced execute returns its hops in path
// order with non-decreasing times; an untraced one carries no trace. Behaviour only,
// never timings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerHarness } from './server-harness';

let h: ServerHarness;
const URI = 'file:///tmp/pyctx-trace-test/a.ipynb';

before(async () => {
  h = await startServer({ init: { poolSize: 2, warm: 1 } });
  assert.equal((await h.settled).state, 'ready');
});
after(async () => { await h?.close(); });

test('a traced execute returns the server and pool hops in path order', async () => {
  const outs: string[] = [];
  const r = await h.api.execute({ notebookUri: URI, code: 'print("hi")\n1+1', trace: true }, o => { if (o.kind === 'stream') outs.push(o.text); });
  assert.equal(r.status, 'ok');
  assert.equal(r.result?.data['text/plain'], '2');
  assert.equal(outs.join(''), 'hi\n');
  assert.deepEqual(r.trace?.map(x => x.hop), ['server.received', 'server.session', 'pool.write', 'pool.reply', 'server.reply']);
  const ts = r.trace!.map(x => x.t);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1], `hop ${r.trace![i].hop} is not before ${r.trace![i - 1].hop}`);
  assert.ok(Math.abs(ts[0] - Date.now()) < 60_000, 'times are milliseconds since the epoch');
});

test('an untraced execute has no trace; every reply names the worker that ran it', async () => {
  const r = await h.api.execute({ notebookUri: URI, code: 'import os\nos.getpid()' });
  assert.equal(r.trace, undefined);
  const pid = Number(r.result?.data['text/plain']);
  assert.equal(r.pid, pid);
  const silent = await h.api.execute({ notebookUri: URI, code: '1', silent: true });
  assert.equal(silent.pid, pid);
  assert.equal((await h.api.sessions()).find(s => s.notebookUri === URI)?.pid, pid);
});
