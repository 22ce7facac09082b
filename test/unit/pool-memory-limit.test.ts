// PoolOptions.memoryLimitBytes reaches every worker (RLIMIT_AS): a runaway
// allocation in a cell is a MemoryError in that cell, the context keeps its worker
// and state; a limit too small to start a worker is refused up front. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from '../../src/pool/index';
import { rejectsWith, startPool } from './pool-helpers';

test('memoryLimitBytes: MemoryError in the cell, same worker and state afterwards', { skip: process.platform !== 'linux' && 'RLIMIT_AS is enforced on Linux' }, async () => {
  const pool = await startPool({ size: 1, warm: 1, memoryLimitBytes: 512 * 2 ** 20 });
  try {
    const ctx = await pool.bind('new');
    await ctx.exec('kept = 41');
    const pid = ctx.pid;
    const r = await ctx.execute('big = bytearray(2 << 30)');
    assert.equal(r.status, 'error');
    assert.equal(r.error?.ename, 'MemoryError');
    assert.equal(await ctx.eval('kept + 1'), 42);
    assert.equal(ctx.pid, pid, 'the same worker');
    assert.equal(await ctx.eval('__import__("resource").getrlimit(__import__("resource").RLIMIT_AS)[0]'), 512 * 2 ** 20);
  } finally {
    await pool.close();
  }
});

test('memoryLimitBytes below 128 MiB is refused before any worker starts', async () => {
  await rejectsWith(Pool.start({ memoryLimitBytes: 1 << 20 }), 'invalid_argument');
  await rejectsWith(Pool.start({ memoryLimitBytes: Number.NaN }), 'invalid_argument');
});
