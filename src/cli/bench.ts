// `pyctx bench` (also bench/cli.bench.ts under `npm run bench`): wall time of
// `pyctx run` against `jupyter nbconvert --to notebook --execute` on a generated
// notebook of small cells, each tool started as a fresh process the way a user runs
// it, alternating runs, median of several; prints a table and the ratio (target >= 10x).
import { spawnSync } from 'node:child_process';
import { CliError } from './errors';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serializeNotebook, type Notebook } from './nbformat';

export interface BenchOptions { runs: number; cells: number; python?: string }

export interface BenchResult {
  cells: number;
  runs: number;
  python: string;
  pyctxMs: number[];
  nbconvertMs: number[] | null;  // null when nbconvert is not installed
  ratio: number | null;          // median nbconvert / median pyctx
}

/** A notebook of `n` small cells: assignments, prints and expressions, like a tutorial. */
export function smallCellsNotebook(n: number): Notebook {
  const cells = Array.from({ length: n }, (_, i) => {
    const src = i % 3 === 0 ? `x${i} = ${i} * 2\nprint('cell', ${i}, x${i})`
      : i % 3 === 1 ? `sum(range(${i * 10}))`
      : `d = {'i': ${i}, 'sq': ${i} ** 2}\nd['sq']`;
    return { cell_type: 'code' as const, id: `c${i}`, metadata: {}, source: src, outputs: [], execution_count: null };
  });
  return { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, cells };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The package folder (holding package.json) this code runs from: src/cli/ or dist/. */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** How to start the CLI as its own process: the bundle when built, else the TypeScript source via tsx. */
export function cliCommand(): { argv: string[]; label: string } {
  const dir = packageRoot();
  const bundle = path.join(dir, 'dist', 'cli.js');
  if (existsSync(bundle)) return { argv: [process.execPath, bundle], label: 'dist/cli.js' };
  return { argv: [process.execPath, '--import', 'tsx', path.join(dir, 'src', 'cli', 'main.ts')], label: 'src/cli/main.ts via tsx (run `npm run build` for the shipped bundle)' };
}

function timed(argv: string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').pop();
    throw new Error(`${path.basename(argv[argv.length > 2 ? 2 : 0])} failed (exit ${r.status}): ${why}`);
  }
  return ms;
}

/** The nbconvert command; PYCTX_NBCONVERT points at another one (e.g. a virtualenv's). */
function nbconvertCommand(): string {
  return process.env.PYCTX_NBCONVERT || 'jupyter-nbconvert';
}

function nbconvertAvailable(): boolean {
  return spawnSync(nbconvertCommand(), ['--version'], { stdio: 'ignore' }).status === 0;
}

export function runBench(opts: BenchOptions): BenchResult {
  const python = opts.python ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyctx-bench-'));
  try {
    const nb = path.join(dir, 'small-cells.ipynb');
    writeFileSync(nb, serializeNotebook(smallCellsNotebook(opts.cells)));
    const cli = cliCommand();
    const pyctx = [...cli.argv, 'run', nb, '-o', path.join(dir, 'pyctx.out.ipynb'), '--python', python];
    const nbc = [nbconvertCommand(), '--to', 'notebook', '--execute', nb, '--output', 'nbconvert.out.ipynb', '--output-dir', dir];
    const haveNbconvert = nbconvertAvailable();
    // One untimed run of each warms the page cache; then alternate so drift hits both.
    timed(pyctx, dir);
    if (haveNbconvert) timed(nbc, dir);
    const pyctxMs: number[] = [];
    const nbconvertMs: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      pyctxMs.push(timed(pyctx, dir));
      if (haveNbconvert) nbconvertMs.push(timed(nbc, dir));
    }
    return {
      cells: opts.cells, runs: opts.runs, python, pyctxMs,
      nbconvertMs: haveNbconvert ? nbconvertMs : null,
      ratio: haveNbconvert ? median(nbconvertMs) / median(pyctxMs) : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printBench(r: BenchResult, out: NodeJS.WritableStream = process.stdout): void {
  const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`.padStart(10);
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(34)}${fmt(median(xs))}${fmt(Math.min(...xs))}${fmt(Math.max(...xs))}\n`;
  out.write(`notebook of ${r.cells} small cells, ${r.runs} runs each (after one warm-up), python ${r.python}\n`);
  out.write(`pyctx started as: ${cliCommand().label}\n`);
  out.write(`${'wall time per notebook'.padEnd(34)}${'median'.padStart(10)}${'min'.padStart(10)}${'max'.padStart(10)}\n`);
  out.write(row('pyctx run', r.pyctxMs));
  if (r.nbconvertMs && r.ratio !== null) {
    out.write(row('jupyter nbconvert --execute', r.nbconvertMs));
    out.write(`ratio nbconvert / pyctx (median): ${r.ratio.toFixed(1)}x  (target >= 10x: ${r.ratio >= 10 ? 'met' : 'NOT met'})\n`);
  } else {
    out.write('jupyter-nbconvert not installed: comparison skipped (apt-get install jupyter-nbconvert python3-ipykernel)\n');
  }
}

/**
 * `pyctx bench --all`: the whole `npm run bench` suite (pool, server, CLI), which
 * runs TypeScript sources and so needs a source checkout with its dev dependencies.
 */
export function runFullSuite(): number {
  const root = packageRoot();
  const index = path.join(root, 'bench', 'index.ts');
  const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  if (!existsSync(index) || !existsSync(tsx)) {
    throw new CliError('usage', 'bench --all needs a source checkout with dev dependencies (then: npm run bench); plain `pyctx bench` works anywhere');
  }
  const r = spawnSync(process.execPath, ['--import', tsx, index], { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

export async function benchCommand(opts: BenchOptions & { all?: boolean }): Promise<number> {
  if (opts.all) return runFullSuite();
  printBench(runBench(opts));
  return 0;
}
