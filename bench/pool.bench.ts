// Pool benchmark (issue 2): bind latency from a warm pool, ctx.eval('1+1') round
// trip against the floor (a bare Node<->Python pipe with the same framing and
// codec, bench/pool-floor-echo.py, measured in the same run; plus the real worker
// on a bare pipe, to split the gap between worker and library), worker start time,
// idle worker RSS, a first cell after a warm bind against the next one, and how
// many frames 10,000 printed lines become. Runs once per
// interpreter: python3 (worker's own codec) and /usr/bin/python3 (C msgpack) when present.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Pool } from '../src/pool/index';
import { encodeFrame, FrameDecoder } from '../src/pool/framing';
import { findPythonDir, loadExeca, workerBootstrap } from '../src/pool/python';
import { Worker } from '../src/pool/worker';

const ROUND_TRIPS = 3000;
/** Round trips after an idle pause (250 ms each), per client. */
const IDLE_RUNS = 25;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const us = (ns: number): string => `${(ns / 1000).toFixed(1)} µs`;
const ms = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;
const now = (): bigint => process.hrtime.bigint();

/**
 * A bare pipe, same framing and codec: one round trip per call. With the echo
 * script it is the floor; with the real worker (no pool code in between) it shows
 * how the gap to the floor splits between the worker and the Node library.
 */
function pipeClient(python: string, args: string[]): { call: (id: number) => Promise<void>; close: () => void } {
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'inherit', 'pipe'] });
  let waiting: (() => void) | null = null;
  const dec = new FrameDecoder(1 << 20, () => { const w = waiting; waiting = null; w?.(); });
  child.stdout!.on('data', (c: Buffer) => dec.push(c));
  return {
    call: id => new Promise(r => {
      waiting = r;
      child.stdin!.write(encodeFrame({ id, op: 'eval', code: '1+1', session: 'bench' }, 1 << 20));
    }),
    close: () => { child.kill(); },
  };
}

/** Wait until no worker is starting (a starting interpreter eats a core). */
async function quiet(pool: Pool): Promise<void> {
  const end = Date.now() + 20000;
  while (pool.stats().workers.some(w => w.state === 'starting') && Date.now() < end) await new Promise(r => setTimeout(r, 10));
  await new Promise(r => setTimeout(r, 100));
}

/** RSS of `python -c` doing nothing but reading its own statm: the interpreter's floor. */
async function bareRss(python: string): Promise<number> {
  const { execa } = await loadExeca();
  const r = await execa(python, ['-c', "print(int(open('/proc/self/statm').read().split()[1]) * 4096)"]);
  return Number(String(r.stdout).trim());
}

async function measure(python: string): Promise<void> {
  await loadExeca();
  const pool = await Pool.start({ python, size: 3, warm: 1 });
  const exe = pool.python;
  console.log(`\n### ${python} -> ${exe} (Python ${pool.pythonVersion}, codec ${pool.codec})`);
  const rows: [string, string][] = [];

  // Worker start: spawn -> hello answered.
  const starts: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = now();
    const w = await Worker.start({
      executable: exe, pythonDir: findPythonDir(), cwd: process.cwd(), env: {}, maxFrameBytes: 1 << 24,
      preload: [], session: 'bench', startTimeoutMs: 20000, interruptGraceMs: 1000,
    });
    starts.push(Number(now() - t0));
    await w.stop();
  }
  rows.push(['worker start (spawn -> hello), median', ms(pct(starts, 50))]);

  // Idle RSS of a warm worker.
  await new Promise(r => setTimeout(r, 200));
  const idle = pool.stats().workers.find(w => w.state === 'idle');
  rows.push(['idle worker RSS', idle ? `${(idle.rssBytes / 1048576).toFixed(1)} MiB` : 'n/a']);
  rows.push(['  (bare interpreter, same python, for reference)', `${(await bareRss(exe) / 1048576).toFixed(1)} MiB`]);

  // Bind from a warm pool: a ready fresh worker each time (the previous one is recycled).
  const binds = await warmBindTimes(pool, 15, 10000);
  rows.push(['bind from warm pool, median', ms(pct(binds, 50))]);
  rows.push(['bind from warm pool, p99', ms(pct(binds, 99))]);

  // A notebook's first cell on a warm worker (bind, then execute('1+1')) against its next
  // cell: the worker pays the cell layer's first-use costs (imports, first compile) while
  // it waits in the pool (worker.py _prime), not in the first cell.
  const firsts: number[] = [];
  const nexts: number[] = [];
  for (let i = 0; i < 9; i++) {
    const deadline = Date.now() + 20000;
    while (!pool.stats().workers.some(w => w.state === 'idle') && Date.now() < deadline) await new Promise(r => setTimeout(r, 5));
    await quiet(pool);
    const c = await pool.bind('new');
    let t0 = now();
    await c.execute('1+1');
    firsts.push(Number(now() - t0));
    t0 = now();
    await c.execute('1+1');
    nexts.push(Number(now() - t0));
    await c.unbind();
  }
  rows.push([`first cell after a warm bind (${pool.shell}), median`, `${ms(pct(firsts, 50))} (next cell ${ms(pct(nexts, 50))}, ratio ${(pct(firsts, 50) / pct(nexts, 50)).toFixed(1)}x)`]);

  // ctx.eval('1+1') round trip vs the floor, interleaved in rounds so both see the same load.
  const ctx = await pool.bind('new');
  await quiet(pool);
  const fc = pipeClient(exe, [path.join(__dirname, 'pool-floor-echo.py'), findPythonDir()]);
  const bare = pipeClient(exe, ['-c', workerBootstrap(findPythonDir())]);
  const evals: number[] = [];
  const fl: number[] = [];
  const bw: number[] = [];
  const perRound = ROUND_TRIPS / 6;
  for (let round = 0; round < 7; round++) {
    for (let i = 0; i < perRound; i++) {
      const t0 = now();
      await ctx.eval('1+1');
      if (round > 0) evals.push(Number(now() - t0));
    }
    for (let i = 0; i < perRound; i++) {
      const t0 = now();
      await fc.call(i);
      if (round > 0) fl.push(Number(now() - t0));
    }
    for (let i = 0; i < perRound; i++) {
      const t0 = now();
      await bare.call(i);
      if (round > 0) bw.push(Number(now() - t0));
    }
  }
  // The same three after 250 ms idle (a cell run now and then, not a loop): each process
  // on the path sleeps, and waking it costs what the machine charges (on a VM, a lot).
  const idleTimes = { eval: [] as number[], floor: [] as number[], bare: [] as number[] };
  for (let i = 0; i < IDLE_RUNS; i++) {
    for (const [k, call] of [['eval', () => ctx.eval('1+1')], ['floor', () => fc.call(i)], ['bare', () => bare.call(i)]] as const) {
      await new Promise(r => setTimeout(r, 250));
      const t0 = now();
      await call();
      idleTimes[k].push(Number(now() - t0));
    }
  }
  fc.close();
  bare.close();
  // The same round trip while a 'stats' listener is attached (the server always has one):
  // the per-request busy flips must not rebuild pool stats (/proc reads) each time.
  const withStats: number[] = [];
  let statsEvents = 0;
  const onStats = (): void => { statsEvents++; };
  pool.on('stats', onStats);
  for (let i = 0; i < ROUND_TRIPS / 2; i++) {
    const t0 = now();
    await ctx.eval('1+1');
    if (i >= 100) withStats.push(Number(now() - t0));
  }
  pool.off('stats', onStats);
  const pm = pct(evals, 50);
  const fm = pct(fl, 50);
  rows.push(["ctx.eval('1+1') round trip, median", us(pm)]);
  rows.push(["ctx.eval('1+1') round trip, p99", us(pct(evals, 99))]);
  rows.push(['floor (bare pipe, same framing+codec), median', us(fm)]);
  rows.push(['floor, p99', us(pct(fl, 99))]);
  rows.push(['ratio pool/floor (median)', `${(pm / fm).toFixed(2)}x`]);
  rows.push(['  worker on a bare pipe (no pool code), median', `${us(pct(bw, 50))} (${(pct(bw, 50) / fm).toFixed(2)}x floor)`]);
  const im = pct(idleTimes.floor, 50);
  rows.push(["after 250 ms idle: ctx.eval('1+1'), median", `${us(pct(idleTimes.eval, 50))} (${(pct(idleTimes.eval, 50) / im).toFixed(2)}x the idle floor)`]);
  rows.push(['  floor after 250 ms idle, median', us(im)]);
  rows.push(['  worker on a bare pipe after 250 ms idle, median', `${us(pct(idleTimes.bare, 50))} (${(pct(idleTimes.bare, 50) / im).toFixed(2)}x)`]);
  rows.push(["ctx.eval('1+1') with a 'stats' listener, median", `${us(pct(withStats, 50))} (${statsEvents} stats events)`]);

  // Stream batching: frames for 10,000 printed lines.
  let frames = 0;
  let lines = 0;
  const t0 = now();
  await ctx.execute('for i in range(10000): print(i)', { onStream: s => { frames++; lines += s.text.split('\n').length - 1; } });
  rows.push(['frames for 10,000 printed lines', `${frames} (${lines} lines, ${ms(Number(now() - t0))})`]);
  await ctx.unbind();
  await pool.close();

  const w = Math.max(...rows.map(r => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

/**
 * Bind times (ns) from a warm pool: each bind waits until an idle worker is ready, so it
 * measures the hand-over, not a start; the context runs a statement and is recycled.
 * Shared by the shell and cluster benches.
 */
export async function warmBindTimes(pool: Pool, n: number, idleTimeoutMs: number): Promise<number[]> {
  const binds: number[] = [];
  for (let i = 0; i < n; i++) {
    const deadline = Date.now() + idleTimeoutMs;
    while (!pool.stats().workers.some(w => w.state === 'idle') && Date.now() < deadline) await new Promise(r => setTimeout(r, 5));
    const t0 = now();
    const ctx = await pool.bind('new');
    binds.push(Number(now() - t0));
    await ctx.exec('x = 1');
    await ctx.unbind();
  }
  return binds;
}

export async function run(): Promise<void> {
  const targets = ['python3'];
  if (existsSync('/usr/bin/python3')) targets.push('/usr/bin/python3');
  for (const t of targets) await measure(t);
  console.log('\ntargets: round trip within 1.5x of floor; bind < 5 ms; idle worker RSS < 12 MiB');
}
