// Processes started by user code (subprocess.Popen, ...) end with their worker:
// each worker is its own process group and the pool kills the group on unbind of
// a busy context, on close, and whenever the worker exits. Real workers, real sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { running, startPool, waitFor } from './pool-helpers';

const SPAWN_SLEEP = "__import__('subprocess').Popen(['sleep', '137']).pid";

function killLater(pids: number[]): () => void {
  return () => { for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } };
}

test('child processes of user code', { skip: process.platform === 'win32' }, async t => {
  await t.test('unbind of a busy context ends the child', async () => {
    const pool = await startPool({ size: 2, warm: 1 });
    const ctx = await pool.bind('new');
    const child = await ctx.eval(SPAWN_SLEEP) as number;
    t.after(killLater([child]));
    assert.ok(running(child));
    const busy = ctx.exec('import time; time.sleep(60)').catch(e => e);
    await waitFor(() => ctx.busy, 5000, 'busy');
    await ctx.unbind();
    assert.equal((await busy).code, 'context_not_bound');
    await waitFor(() => !running(child), 10000, `child ${child} to end`);
  });

  await t.test('pool.close() ends the children of bound and stateless workers', async () => {
    const pool = await startPool({ size: 2, warm: 1 });
    const ctx = await pool.bind('new');
    const bound = await ctx.eval(SPAWN_SLEEP) as number;
    const stateless = await pool.eval(SPAWN_SLEEP) as number;
    t.after(killLater([bound, stateless]));
    assert.ok(running(bound) && running(stateless));
    await pool.close();
    await waitFor(() => !running(bound) && !running(stateless), 10000, 'children to end');
  });
});
