// Output printed right before a cell kills its worker (os._exit) is delivered to
// onStream before execute() rejects with worker_crashed and the exit code. Real pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamEvent } from '../../src/pool/index';
import { rejectsWith, startPool } from './pool-helpers';

test('print(flush=True) then os._exit(3): the text arrives, then worker_crashed with exit code 3', async () => {
  const pool = await startPool({ size: 1, warm: 1 });
  const ctx = await pool.bind('new');
  const streams: StreamEvent[] = [];
  const err = await rejectsWith(
    ctx.execute("import os\nprint('last words', flush=True)\nos._exit(3)", { onStream: e => streams.push(e) }),
    'worker_crashed');
  assert.equal(err.exitCode, 3);
  assert.equal(streams.filter(s => s.name === 'stdout').map(s => s.text).join(''), 'last words\n');
  await ctx.unbind().catch(() => undefined);
});
