// Workers as Slurm tasks: `srun --unbuffered -N1 -n1` on the single-node cluster that
// scripts/test-cluster.sh brings up. Each test checks what a cluster user relies on:
// the job is real, the protocol survives srun's pty byte for byte, interrupt and
// liveness work without signals reaching the task, and nothing is left in squeue.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Pool, PyCtxError } from '../../src/pool/index';
import { SRUN, alive, squeueIds, until } from './cluster-helpers';

const PYTHON = process.env.PYCTX_TEST_PYTHON || 'python3';
const seenJobs = new Set<string>();
const pools: Pool[] = [];
after(async () => { for (const p of pools) await p.close(); });
// Each test's pool is closed when the test ends, so the last one can check squeue is empty.
afterEach(async () => { for (const p of pools.splice(0)) await p.close(); });

async function slurmPool(extra: Partial<Parameters<typeof Pool.start>[0]> = {}): Promise<Pool> {
  const pool = await Pool.start({ python: PYTHON, launcher: SRUN, size: 2, warm: 1, ...extra });
  pools.push(pool);
  return pool;
}

const jobOf = async (ctx: { eval(code: string): Promise<unknown> }): Promise<string> =>
  String(await ctx.eval('__import__("os").environ.get("SLURM_JOB_ID")'));

test('a worker is a Slurm task: job id, state across calls, 1 MiB byte-exact, streamed output', async () => {
  const pool = await slurmPool();
  const ctx = await pool.bind('new');
  const job = await jobOf(ctx);
  assert.match(job, /^\d+$/, 'SLURM_JOB_ID is set in the worker');
  seenJobs.add(job);
  assert.ok(squeueIds().includes(job), `job ${job} is in squeue while bound`);
  await ctx.exec('x = 41');
  assert.equal(await ctx.eval('x + 1'), 42);
  // Every byte value, 1 MiB: a pty that translated \n or ate \x03/\x04 would show here.
  const big = await ctx.eval('bytes(range(256)) * 4096') as Buffer;
  const want = Buffer.alloc(1 << 20);
  for (let i = 0; i < want.length; i++) want[i] = i & 255;
  assert.equal(big.length, 1 << 20);
  assert.ok(Buffer.from(big).equals(want), 'the 1 MiB value came back byte for byte');
  // and the other way: the same bytes sent to the worker, checked there
  await ctx.exec('import hashlib');
  assert.equal(await ctx.eval('hashlib.sha256(b).hexdigest()', { b: want }), createHash('sha256').update(want).digest('hex'));
  const chunks: { text: string; at: number }[] = [];
  const r = await ctx.execute('import time\nfor i in range(3):\n    print("tick", i, flush=True)\n    time.sleep(0.3)',
    { onStream: e => chunks.push({ text: e.text, at: Date.now() }) });
  assert.equal(r.status, 'ok');
  assert.equal(chunks.map(c => c.text).join(''), 'tick 0\ntick 1\ntick 2\n');
  assert.ok(chunks.length >= 2, 'output arrived while the cell ran, not all at its end');
  const stats = pool.stats().workers.find(w => w.pid === ctx.pid);
  assert.ok(stats, 'the worker is listed in pool stats');
  await ctx.unbind();
});

test('interrupt travels in-band: `while True: pass` stops, the context keeps its state', async () => {
  const pool = await slurmPool();
  const ctx = await pool.bind('new');
  seenJobs.add(await jobOf(ctx));
  await ctx.exec('kept = "still here"');
  const run = ctx.execute('while True: pass');
  await new Promise(r => setTimeout(r, 1000));
  assert.ok(ctx.interrupt(), 'interrupt was sent');
  const res = await run;
  assert.equal(res.status, 'error');
  assert.equal(res.error?.ename, 'KeyboardInterrupt');
  assert.equal(await ctx.eval('kept'), 'still here');
  assert.equal(await ctx.eval('1 + 1'), 2);
  await ctx.unbind();
});

test('scancel of the job: worker_crashed with srun\'s words, and a fresh bind works', async () => {
  const pool = await slurmPool();
  const ctx = await pool.bind('new');
  const job = await jobOf(ctx);
  seenJobs.add(job);
  const run = ctx.execute('import time\ntime.sleep(120)');
  await new Promise(r => setTimeout(r, 500));
  const lost = new Promise(r => ctx.once('lost', r));
  execFileSyncQuiet('scancel', [job]);
  const err = await run.then(() => null, e => e) as PyCtxError | null;
  assert.ok(err instanceof PyCtxError, 'the cell failed');
  assert.equal(err.code, 'worker_crashed', err.message);
  assert.match(err.message, /srun/, 'the message names the launcher');
  assert.match(err.message, /CANCELLED|Terminated|cancel/i, `srun's own words: ${err.message}`);
  await lost;
  const fresh = await pool.bind('new');
  const job2 = await jobOf(fresh);
  seenJobs.add(job2);
  assert.notEqual(job2, job);
  assert.equal(await fresh.eval('6 * 7'), 42);
  await fresh.unbind();
});

test('SIGSTOP of the worker: missed heartbeats → worker_crashed (reason heartbeat)', async () => {
  const pool = await slurmPool({ heartbeatMs: 2000 });
  const ctx = await pool.bind('new');
  seenJobs.add(await jobOf(ctx));
  const pid = Number(await ctx.eval('__import__("os").getpid()'));
  assert.ok(alive(pid), 'the task runs on this machine (single-node cluster)');
  const run = ctx.execute('import time\ntime.sleep(120)');
  await new Promise(r => setTimeout(r, 300));
  process.kill(pid, 'SIGSTOP');
  try {
    const err = await run.then(() => null, e => e) as PyCtxError | null;
    assert.ok(err instanceof PyCtxError);
    assert.equal(err.code, 'worker_crashed', err.message);
    assert.equal(err.reason, 'heartbeat');
    assert.match(err.message, /heartbeat/);
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGCONT');
  }
  await until(() => alive(pid), a => !a, 30000, 'the stopped task to be ended with its job');
});

test('a notebook folder missing on the node: one-line warning in the next cell, the cell still runs', async () => {
  const pool = await slurmPool();
  const ctx = await pool.bind('new', { cwd: '/nonexistent/pyctx-notebooks' });
  seenJobs.add(await jobOf(ctx));
  const err: string[] = [];
  const r = await ctx.execute('print("ran")', { onStream: e => { if (e.name === 'stderr') err.push(e.text); } });
  assert.equal(r.status, 'ok');
  assert.equal(err.length, 1);
  assert.match(err[0], /notebook's folder \/nonexistent\/pyctx-notebooks is not available on node/);
  assert.equal(err[0].trimEnd().split('\n').length, 1, 'one line');
  const again: string[] = [];
  await ctx.execute('1', { onStream: e => again.push(e.text) });
  assert.deepEqual(again, [], 'said once');
  await ctx.unbind();
});

test('a worker still queued after startTimeoutMs: worker_start_failed with the scheduler\'s words, no job left', async () => {
  const before = new Set(squeueIds());
  const err = await Pool.start({ python: PYTHON, launcher: [...SRUN, '--begin=now+3600'], startTimeoutMs: 4000, interruptGraceMs: 200 })
    .then(() => null, e => e) as PyCtxError | null;
  // Interpreter resolution goes through the launcher too, so the queue shows there first.
  assert.ok(err instanceof PyCtxError);
  assert.equal(err.code, 'worker_start_failed', err.message);
  assert.match(err.message, /queued and waiting for resources/, err.message);
  await until(() => squeueIds().filter(j => !before.has(j)), ids => ids.length === 0, 20000, 'the queued job to be gone');
});

test('pool.close() leaves no job in squeue', async () => {
  const pool = await slurmPool({ warm: 2 });
  const a = await pool.bind('new');
  const job = await jobOf(a);
  seenJobs.add(job);
  assert.equal(squeueIds().length, 2, 'the bound worker and a warm one are jobs');
  await pool.close();
  // close() waits for the launchers; the scheduler's own bookkeeping may lag a moment.
  await until(() => squeueIds(), ids => ids.length === 0, 20000, 'squeue to be empty');
});

function execFileSyncQuiet(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore' });
}

test('the CLI takes --launcher as one string and runs the code as a Slurm task', async () => {
  const { runCli } = await import('../unit/cli-helpers');
  const r = await runCli(['exec', '--launcher', 'srun --unbuffered -N1 -n1 --job-name "pyctx cli"',
    'import os; print("job", os.environ["SLURM_JOB_ID"], os.environ["SLURM_JOB_NAME"])'], { env: { SLURM_CONF: process.env.SLURM_CONF ?? '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^job \d+ pyctx cli\n$/);
  await until(() => squeueIds(), ids => ids.length === 0, 20000, 'squeue to be empty after the CLI');
});
