// Workers through ssh: an sshd of the test's own on 127.0.0.1 (own port and keys,
// see cluster-helpers.ts), the data-science interpreter on the "remote" side. The
// core of the Slurm suite: state, a byte-exact 1 MiB value, streamed output, in-band
// interrupt, a killed worker as worker_crashed with ssh's exit status, nothing left
// after close. ssh runs its command through the remote shell, so this also checks
// the launcher's quoting of the bootstrap and environment.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, PyCtxError } from '../../src/pool/index';
import { alive, startSshd, until } from './cluster-helpers';

const PYTHON = process.env.PYCTX_TEST_SSH_PYTHON || '/usr/bin/python3';
let pool: Pool | undefined;
after(async () => { await pool?.close(); });

test('pool through ssh: state, 1 MiB exact, streaming, interrupt, crash, close', async () => {
  const { launcher } = await startSshd();
  pool = await Pool.start({ python: PYTHON, launcher, size: 2, warm: 1 });
  assert.equal(pool.python, PYTHON, 'resolved on the remote side');
  const ctx = await pool.bind('new');
  const pid = Number(await ctx.eval('__import__("os").getpid()'));
  assert.notEqual(pid, ctx.pid, 'the worker is not the local ssh process');
  assert.ok(await ctx.eval('"SSH_CONNECTION" in __import__("os").environ'), 'the worker runs in an ssh session');

  await ctx.exec('x = 41');
  assert.equal(await ctx.eval('x + 1'), 42);
  const big = await ctx.eval('bytes(range(256)) * 4096') as Buffer;
  const want = Buffer.alloc(1 << 20);
  for (let i = 0; i < want.length; i++) want[i] = i & 255;
  assert.ok(Buffer.from(big).equals(want), 'the 1 MiB value came back byte for byte');

  const chunks: string[] = [];
  const r = await ctx.execute('import time\nfor i in range(3):\n    print("tick", i, flush=True)\n    time.sleep(0.3)',
    { onStream: e => chunks.push(e.text) });
  assert.equal(r.status, 'ok');
  assert.equal(chunks.join(''), 'tick 0\ntick 1\ntick 2\n');
  assert.ok(chunks.length >= 2, 'streamed while running');

  const loop = ctx.execute('while True: pass');
  await new Promise(res => setTimeout(res, 800));
  assert.ok(ctx.interrupt());
  const ir = await loop;
  assert.equal(ir.error?.ename, 'KeyboardInterrupt');
  assert.equal(await ctx.eval('x'), 41, 'state survives the interrupt');

  // The remote process dies (kill -9 on "the node"): ssh exits 137 and says nothing;
  // the cell gets worker_crashed naming ssh and its exit status.
  const run = ctx.execute('import time\ntime.sleep(60)');
  await new Promise(res => setTimeout(res, 300));
  process.kill(pid, 'SIGKILL');
  const err = await run.then(() => null, e => e) as PyCtxError | null;
  assert.ok(err instanceof PyCtxError);
  assert.equal(err.code, 'worker_crashed', err.message);
  assert.match(err.message, /^ssh ended without the worker's goodbye \(exit status \d+\)/, err.message);

  const fresh = await pool.bind('new');
  const pid2 = Number(await fresh.eval('__import__("os").getpid()'));
  assert.equal(await fresh.eval('2 * 21'), 42);
  await pool.close();
  await until(() => alive(pid2), a => !a, 10000, 'the remote worker to end with the pool');
});
