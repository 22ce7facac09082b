// Cell-layer benchmark (issue 15): the same figures for both ways a worker runs cells,
// IPython's InteractiveShell (ipython: 'auto' on an interpreter that has IPython) and
// the built-in layer ('off'): a `1+1` cell through ctx.execute, worker start (spawn ->
// hello: IPython is imported there, never on bind), idle worker RSS, bind from a warm
// pool. Floor, measured in the same run: ctx.eval('1+1') (no cell layer at all), and
// for ratios the built-in layer beside IPython's.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Pool, type IPythonMode } from '../src/pool/index';
import { findPythonDir, loadExeca } from '../src/pool/python';
import { Worker } from '../src/pool/worker';
import { warmBindTimes } from './pool.bench';

const CELLS = 300;
const STARTS = 5;
const BINDS = 8;

const now = (): bigint => process.hrtime.bigint();
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
const us = (ns: number): string => `${(ns / 1000).toFixed(1)} µs`;
const ms = (ns: number): string => `${(ns / 1e6).toFixed(1)} ms`;

interface Figures { mode: string; cell: number; evalFloor: number; start: number; rss: number; bind: number }

async function measure(python: string, ipython: IPythonMode): Promise<Figures> {
  const pool = await Pool.start({ python, size: 3, warm: 1, ipython });
  const exe = pool.python;
  const starts: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = now();
    const w = await Worker.start({
      executable: exe, pythonDir: findPythonDir(), cwd: process.cwd(), env: { PYCTX_IPYTHON: ipython },
      maxFrameBytes: 1 << 24, preload: [], session: 'bench', startTimeoutMs: 60000, interruptGraceMs: 1000,
    });
    starts.push(Number(now() - t0));
    await w.stop();
  }
  const idleWait = Date.now() + 60000;
  while (!pool.stats().workers.some(w => w.state === 'idle') && Date.now() < idleWait) await new Promise(r => setTimeout(r, 20));
  await new Promise(r => setTimeout(r, 300));
  const idle = pool.stats().workers.find(w => w.state === 'idle');
  const binds = await warmBindTimes(pool, BINDS, 60000);
  const ctx = await pool.bind('new');
  const cells: number[] = [];
  const evals: number[] = [];
  for (let round = 0; round < 4; round++) {  // interleaved: both see the same load
    for (let i = 0; i < CELLS / 3; i++) {
      const t0 = now();
      await ctx.execute('1+1');
      if (round > 0) cells.push(Number(now() - t0));
    }
    for (let i = 0; i < CELLS / 3; i++) {
      const t0 = now();
      await ctx.eval('1+1');
      if (round > 0) evals.push(Number(now() - t0));
    }
  }
  const mode = pool.shell === 'ipython' ? `IPython ${pool.ipythonVersion}` : 'built-in';
  await ctx.unbind();
  await pool.close();
  return { mode, cell: median(cells), evalFloor: median(evals), start: median(starts), rss: idle?.rssBytes ?? 0, bind: median(binds) };
}

function hasIPython(python: string): boolean {
  try { execFileSync(python, ['-c', 'import IPython'], { stdio: 'ignore' }); return true; } catch { return false; }
}

export async function run(): Promise<void> {
  await loadExeca();
  const targets = ['python3'];
  if (existsSync('/usr/bin/python3')) targets.push('/usr/bin/python3');
  for (const python of targets) {
    const modes: IPythonMode[] = hasIPython(python) ? ['auto', 'off'] : ['off'];
    const figs: Figures[] = [];
    for (const m of modes) figs.push(await measure(python, m));
    console.log(`\n### ${python}`);
    const rows: [string, ...string[]][] = [['', ...figs.map(f => `ipython: ${modes[figs.indexOf(f)]} (${f.mode})`)]];
    rows.push(["'1+1' cell through execute, median", ...figs.map(f => `${us(f.cell)} (${(f.cell / f.evalFloor).toFixed(2)}x eval)`)]);
    rows.push(["floor: ctx.eval('1+1'), median", ...figs.map(f => us(f.evalFloor))]);
    rows.push(['worker start (spawn -> hello), median', ...figs.map(f => ms(f.start))]);
    rows.push(['idle worker RSS', ...figs.map(f => `${(f.rss / 1048576).toFixed(1)} MiB`)]);
    rows.push(['bind from warm pool, median', ...figs.map(f => ms(f.bind))]);
    if (figs.length === 2) {
      rows.push(['ratio IPython / built-in (cell, start, RSS, bind)', `${(figs[0].cell / figs[1].cell).toFixed(2)}x, ${(figs[0].start / figs[1].start).toFixed(1)}x, `
        + `${(figs[0].rss / figs[1].rss).toFixed(1)}x, ${(figs[0].bind / figs[1].bind).toFixed(2)}x`]);
    }
    const w = Math.max(...rows.map(r => r[0].length));
    for (const [k, ...v] of rows) console.log(`${k.padEnd(w)}  ${v.map(x => x.padEnd(34)).join('')}`);
  }
}
