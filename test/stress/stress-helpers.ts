// Helpers of the stress suite (test/stress/*.test.ts), not a test: figures that
// each scenario prints, a watch on numWorkers and on every worker pid the pool
// ever had (for the cap and the orphan check), a watchdog that counts requests
// that never settle (hung), and small process readings. No timing assertions:
// durations are printed, limits only guard against hangs.
import { readFileSync } from 'node:fs';
import type { Pool } from '../../src/pool/index';

export const TEST_PYTHON = process.env.PYCTX_TEST_PYTHON || 'python3';
export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
export const codeOf = (e: unknown): string => String((e as { code?: unknown })?.code ?? (e as Error)?.name ?? 'unknown');

/** Print one scenario's figures as an aligned block (read by people, not parsed). */
export function printFigures(title: string, figures: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(figures).map(k => k.length));
  const lines = Object.entries(figures).map(([k, v]) =>
    `    ${k.padEnd(width)}  ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
  console.log(`\n  stress: ${title}\n${lines.join('\n')}\n`);
}

export function tally(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

/** Max numWorkers and every pid seen, sampled at each stats event and every few ms. */
export function watchPool(pool: Pool): { max: () => number; pids: Set<number>; stop: () => void } {
  let max = 0;
  const pids = new Set<number>();
  const sample = (): void => {
    const s = pool.stats();
    max = Math.max(max, s.numWorkers);
    for (const w of s.workers) pids.add(w.pid);
  };
  sample();
  const onStats = (): void => sample();
  pool.on('stats', onStats);
  const iv = setInterval(sample, 5);
  return {
    max: () => { sample(); return max; },
    pids,
    stop: () => { clearInterval(iv); pool.off('stats', onStats); },
  };
}

/** Wraps promises; one still pending after `limitMs` counts as hung (once). */
export function watchdog(limitMs: number): { track: <T>(p: Promise<T>, what: string) => Promise<T>; hung: string[] } {
  const hung: string[] = [];
  return {
    hung,
    track<T>(p: Promise<T>, what: string): Promise<T> {
      const t = setTimeout(() => hung.push(what), limitMs);
      const done = (): void => clearTimeout(t);
      p.then(done, done);
      return p;
    },
  };
}

/** True while a process with this pid runs (a zombie counts as gone). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** Resident set size of a process in MiB (0 when gone). */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
