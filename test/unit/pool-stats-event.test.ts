// The 'stats' event: listeners get a fresh PoolStats after changes, but the
// request hot path does not read /proc for it (each worker's rssBytes is read when
// a listener looks at it). Counts calls of Worker.rssBytes (instrumentation of the
// real method, which still runs). Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PoolStats } from '../../src/pool/index';
import { Worker } from '../../src/pool/worker';
import { startPool } from './pool-helpers';

test("a 'stats' listener costs no /proc reads per request, and still gets fresh stats", async () => {
  const pool = await startPool({ size: 2, warm: 1 });
  const ctx = await pool.bind('new');
  await ctx.eval('1');
  await new Promise(r => setImmediate(r));
  const events: PoolStats[] = [];
  pool.on('stats', s => events.push(s));
  const real = Worker.prototype.rssBytes;
  let reads = 0;
  Worker.prototype.rssBytes = function (this: Worker) { reads++; return real.call(this); };
  try {
    for (let i = 0; i < 20; i++) {
      assert.equal(await ctx.eval('1+1'), 2);
      await new Promise(r => setImmediate(r));
    }
  } finally {
    Worker.prototype.rssBytes = real;
  }
  assert.ok(events.length > 0, 'stats events still fire on busy changes');
  assert.equal(reads, 0, 'no /proc reads unless a listener reads rssBytes');
  const last = events.at(-1)!;
  const mine = last.workers.find(w => w.pid === ctx.pid)!;
  assert.equal(mine.state, 'bound');
  assert.ok(mine.rssBytes > 0, 'rssBytes is read on access');
  assert.equal(JSON.parse(JSON.stringify(last)).workers.find((w: { pid: number }) => w.pid === ctx.pid).rssBytes, mine.rssBytes);
  await ctx.unbind();
});
