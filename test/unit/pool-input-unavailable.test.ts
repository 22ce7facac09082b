// input() with no onInput handler raises IPython's StdinNotImplementedError (the pool
// answers input_reply {cancelled, unavailable}); a handler answering null stays a user
// cancel (KeyboardInterrupt). Real pool and worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPool } from './pool-helpers';

test('input(): no handler -> StdinNotImplementedError, handler cancels -> KeyboardInterrupt', async () => {
  const pool = await startPool({ size: 1, warm: 1 });
  const ctx = await pool.bind('new');
  const none = await ctx.execute('input("name? ")');
  assert.equal(none.status, 'error');
  assert.equal(none.error!.ename, 'StdinNotImplementedError');
  assert.equal(none.error!.evalue, 'raw_input was called, but this frontend does not support input requests.');
  const cancelled = await ctx.execute('input("name? ")', { onInput: () => null });
  assert.equal(cancelled.error!.ename, 'KeyboardInterrupt');
  assert.equal(await ctx.eval('1 + 1'), 2);
  await ctx.unbind();
});
