// Output printed after a request finished (a background thread or a child process
// writing once the reply was sent) is late output: delivered as 'lateOutput' on the
// Context and the Pool, never a protocol break that kills the worker. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LateOutputEvent } from '../../src/pool/index';
import { alive, gate, startPool, waitFor } from './pool-helpers';

// A thread that prints once the test opens the gate, i.e. surely after the reply
// (a bare threading.Timer(0.3, ...) could fire before the reply on a loaded machine).
const latePrint = (file: string): string => [
  'import os, threading, time',
  'def _late():',
  `    while not os.path.exists(${JSON.stringify(file)}): time.sleep(0.01)`,
  "    print('late')",
  'threading.Thread(target=_late, daemon=True).start()',
].join('\n');
const hasLate = (evs: LateOutputEvent[]): boolean =>
  evs.some(e => e.kind === 'stream' && e.name === 'stdout' && e.text.includes('late'));

test('late output', async t => {
  // Size 3: keeping one warm worker then never needs the room of the worker a stateless call
  // just used. At size 2 the pool could recycle that worker (dirty and idle) to make room,
  // ending the thread before it printed: the likely cause of this test's one CI failure.
  const pool = await startPool({ size: 3, warm: 1 });

  await t.test('a thread printing after the cell finished: the context keeps its worker and gets the text', async () => {
    const ctx = await pool.bind('new');
    t.after(() => ctx.unbind());
    const pid = ctx.pid;
    const late: LateOutputEvent[] = [];
    const poolLate: LateOutputEvent[] = [];
    ctx.on('lateOutput', e => late.push(e));
    pool.on('lateOutput', e => poolLate.push(e));
    const streamed: string[] = [];
    const g = gate();
    const r = await ctx.execute(latePrint(g.file), { onStream: s => streamed.push(s.text) });
    assert.equal(r.status, 'ok');
    g.open();
    await waitFor(() => hasLate(late), 10000, 'late output event');
    assert.equal(streamed.join(''), '', 'the finished cell got nothing after its reply');
    const ev = late.find(e => e.kind === 'stream')!;
    assert.equal(ev.sessionId, ctx.sessionId);
    assert.equal(ev.pid, pid);
    assert.ok(hasLate(poolLate), 'the pool sees it too');
    assert.equal(await ctx.eval('1+1'), 2);
    assert.equal(ctx.pid, pid, 'same worker');
    assert.ok(alive(pid));
    assert.equal(ctx.state, 'bound');
  });

  await t.test('late output of a stateless call reaches the pool event and the worker survives', async () => {
    const late: LateOutputEvent[] = [];
    pool.on('lateOutput', e => late.push(e));
    const g = gate();
    await pool.exec(latePrint(g.file));
    g.open();
    await waitFor(() => hasLate(late), 10000, 'late output event');
    const pid = late.find(e => e.kind === 'stream')!.pid;
    assert.ok(alive(pid));
    assert.equal(await pool.eval('2+2'), 4);
  });
});
