// Cluster benchmark (issue 13): workers through `srun --unbuffered -N1 -n1` against
// local workers, in the same run — bind from a warm pool, worker start (spawn ->
// hello, which through srun includes the job allocation), and the ctx.eval('1+1')
// round trip (through srun it crosses srun, slurmstepd and a pty each way). Uses the
// Slurm of $SLURM_CONF when it answers, else brings up ../shared/recipes/slurm for
// the run and takes it down after (root only; otherwise the bench says it skipped).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { Pool } from '../src/pool/index';
import { findPythonDir } from '../src/pool/python';
import { Worker } from '../src/pool/worker';

const SRUN = ['srun', '--unbuffered', '-N1', '-n1'];
const ROUND_TRIPS = 1000;
const RECIPE = path.resolve(__dirname, '..', '..', 'shared', 'recipes', 'slurm');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

function slurmAnswers(): boolean {
  return !!process.env.SLURM_CONF && spawnSync('sinfo', ['-h'], { stdio: 'ignore' }).status === 0;
}

async function measure(launcher: string[] | undefined): Promise<{ bind: number; start: number; rtt: number }> {
  const pool = await Pool.start({ python: 'python3', launcher, size: 2, warm: 1 });
  try {
    const waitIdle = async (): Promise<void> => {
      const end = Date.now() + 60000;
      while (!pool.stats().workers.some(w => w.state === 'idle') && Date.now() < end) await new Promise(r => setTimeout(r, 5));
    };
    const binds: number[] = [];
    for (let i = 0; i < 9; i++) {
      await waitIdle();
      const t0 = now();
      const ctx = await pool.bind('new');
      binds.push(now() - t0);
      await ctx.unbind();
    }
    // Worker start (spawn -> hello): through srun this includes the job allocation.
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = now();
      const w = await Worker.start({
        executable: pool.python, pythonDir: findPythonDir(), cwd: process.cwd(), env: {}, maxFrameBytes: 1 << 24,
        preload: [], session: 'bench', startTimeoutMs: 60000, interruptGraceMs: 1000, launcher,
      });
      starts.push(now() - t0);
      await w.stop();
    }
    await waitIdle();
    const ctx = await pool.bind('new');
    const rtts: number[] = [];
    for (let i = 0; i < ROUND_TRIPS + 100; i++) {
      const t0 = now();
      await ctx.eval('1+1');
      if (i >= 100) rtts.push(now() - t0);
    }
    await ctx.unbind();
    return { bind: median(binds), start: median(starts), rtt: median(rtts) };
  } finally {
    await pool.close();
  }
}

export async function run(): Promise<void> {
  let upDir: string | undefined;
  if (!slurmAnswers()) {
    if (process.getuid?.() !== 0) { console.log('skipped: no Slurm answers ($SLURM_CONF) and bringing one up needs root'); return; }
    upDir = mkdtempSync('/tmp/pyctx-bench-slurm.');
    const out = execFileSync('bash', [path.join(RECIPE, 'up.sh'), upDir], { encoding: 'utf8' });
    process.env.SLURM_CONF = /export SLURM_CONF=(\S+)/.exec(out)![1];
  }
  try {
    const local = await measure(undefined);
    const srun = await measure(SRUN);
    const rows: [string, string, string, string][] = [
      ['', 'local', 'srun', 'srun/local'],
      ['bind from warm pool, median', `${local.bind.toFixed(2)} ms`, `${srun.bind.toFixed(2)} ms`, `${(srun.bind / local.bind).toFixed(1)}x`],
      ['worker start (spawn -> hello), median', `${local.start.toFixed(1)} ms`, `${srun.start.toFixed(1)} ms`, `${(srun.start / local.start).toFixed(1)}x`],
      ["ctx.eval('1+1') round trip, median", `${(local.rtt * 1000).toFixed(1)} µs`, `${(srun.rtt * 1000).toFixed(1)} µs`, `${(srun.rtt / local.rtt).toFixed(1)}x`],
    ];
    const w = rows.map((_, c) => Math.max(...rows.map(r => r[c].length)));
    for (const r of rows) console.log(r.map((v, c) => (c === 0 ? v.padEnd(w[c]) : v.padStart(w[c]))).join('  '));
    console.log('floor: local workers, same run. Through srun the bind of a warm worker stays a local round trip; a new worker pays the job allocation.');
  } finally {
    if (upDir) execFileSync('bash', [path.join(RECIPE, 'down.sh'), upDir], { stdio: 'inherit' });
  }
}
