// CLI benchmark for `npm run bench`: `pyctx run` vs `jupyter nbconvert --execute` on a
// generated 100-cell notebook of small cells, median of 5 runs, ratio printed (target
// >= 10x). The measuring code lives in src/cli/bench.ts so `pyctx bench` runs the same.
// PYCTX_BENCH_RUNS / PYCTX_BENCH_CELLS / PYCTX_PYTHON override the defaults.
import { printBench, runBench } from '../src/cli/bench';

export async function run(): Promise<void> {
  printBench(runBench({
    runs: Number(process.env.PYCTX_BENCH_RUNS) || 5,
    cells: Number(process.env.PYCTX_BENCH_CELLS) || 100,
    python: process.env.PYCTX_PYTHON || undefined,
  }));
}
