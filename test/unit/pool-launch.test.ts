// Launchers without a cluster: the argv rules of src/pool/launch.ts, and a real pool
// whose launcher is `env` (it forwards stdio and runs its command, as srun and ssh
// do), so in-band control and the "no goodbye = crash" rule run on every machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, PyCtxError } from '../../src/pool/index';
import { launchArgv, splitCommandLine } from '../../src/pool/launch';
import { TEST_PYTHON, rejectsWith } from './pool-helpers';

test('splitCommandLine splits like a shell, without running one', () => {
  assert.deepEqual(splitCommandLine('srun --unbuffered -N1 -n1'), ['srun', '--unbuffered', '-N1', '-n1']);
  assert.deepEqual(splitCommandLine(`  ssh -o 'ProxyJump a b'  "login node" x\\ y `), ['ssh', '-o', 'ProxyJump a b', 'login node', 'x y']);
  assert.deepEqual(splitCommandLine(`srun --export="A=\\"1\\",B=$HOME" ''`), ['srun', '--export=A="1",B=$HOME', '']);
  assert.deepEqual(splitCommandLine(''), []);
  assert.throws(() => splitCommandLine("ssh 'host"), (e: PyCtxError) => e.code === 'invalid_argument' && /unterminated '/.test(e.message));
});

test('launchArgv: argv as given for srun; quoted words for ssh (it runs a remote shell)', () => {
  const cmd = ['/usr/bin/python3', '-c', 'import sys; print("a b")'];
  assert.deepEqual(launchArgv(undefined, cmd), { file: '/usr/bin/python3', args: cmd.slice(1) });
  assert.deepEqual(launchArgv(['srun', '-n1'], cmd, { A: '1', B: undefined }),
    { file: 'srun', args: ['-n1', 'env', 'A=1', ...cmd] });
  const ssh = launchArgv(['/usr/bin/ssh', 'host'], cmd, { P: "it's" });
  assert.deepEqual(ssh.args, ['host', 'env', `'P=it'\\''s'`, '/usr/bin/python3', '-c', `'import sys; print("a b")'`]);
});

test('Pool.start refuses a malformed launcher or heartbeat', async () => {
  await rejectsWith(Pool.start({ python: TEST_PYTHON, launcher: 'srun -n1' as unknown as string[] }), 'invalid_argument');
  await rejectsWith(Pool.start({ python: TEST_PYTHON, launcher: ['env'], heartbeatMs: -1 }), 'invalid_argument');
});

test('through a launcher: in-band interrupt and control, and an exit 0 without goodbye is a crash', async () => {
  const pool = await Pool.start({ python: TEST_PYTHON, launcher: ['env'], size: 2, warm: 1 });
  after(() => pool.close());
  const ctx = await pool.bind('new');
  await ctx.exec('x = 1');
  const loop = ctx.execute('while True: pass');
  await new Promise(r => setTimeout(r, 300));
  assert.ok(ctx.interrupt());
  assert.equal((await loop).error?.ename, 'KeyboardInterrupt');
  // control requests (refs.list) answer while a cell runs, on the same stdin
  const slow = ctx.execute('import time\ntime.sleep(1.5)');
  const refs = await pool.refs(ctx.sessionId);
  assert.ok(refs.some(r => r.name === 'x'), 'refs listed during the cell');
  assert.equal((await slow).status, 'ok');
  const err = await rejectsWith(ctx.execute('import os\nos._exit(0)'), 'worker_crashed');
  assert.match(err.message, /^env ended without the worker's goodbye \(exit status 0\)/);
  const fresh = await pool.bind('new');
  assert.equal(await fresh.eval('1 + 1'), 2);
});

test('CLI --launcher: split like a shell; a broken quote is a usage error', async () => {
  const { runCli } = await import('./cli-helpers');
  const ok = await runCli(['eval', '--launcher', `env "PYCTX_T=a b"`, '__import__("os").environ["PYCTX_T"]']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), '"a b"');
  const bad = await runCli(['eval', '--launcher', `srun 'oops`, '1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--launcher: unterminated '/);
});
