// `pyctx run`: executes notebooks through one shared pool, each notebook in its own
// bound context (working directory = the notebook's folder), code cells in order,
// outputs mapped to nbformat 4 by outputs.ts and written by nbformat.ts. Several
// notebooks run in parallel up to `jobs` at a time. What ran is always written, also
// after an error, a timeout, a dead worker or Ctrl-C; the outcome says which.
// nbclient's cell tags are honoured: `skip-execution` cells are not run (they keep
// what they had), and an error in a `raises-exception` cell does not stop the run.
import path from 'node:path';
import type { Context, Pool } from '../pool';
import { PyCtxError } from '../pool';
import { joinText, writeNotebook, type CodeCell, type Notebook } from './nbformat';
import { DEFAULT_MAX_OUTPUT_BYTES, NotebookOutputs, type CellOutputs } from './outputs';
import type { CellStatus, Progress } from './progress';

export interface RunJob {
  input: string;   // path as given
  output: string;  // where the executed copy goes
  notebook: Notebook;
}

export interface RunSettings {
  timeoutMs?: number;
  /** Per-cell output cap in bytes (default DEFAULT_MAX_OUTPUT_BYTES); 0 = no cap. */
  maxOutputBytes?: number;
  allowErrors: boolean;
  progress: Progress;
  signal: AbortSignal;
}

export interface RunOutcome {
  job: RunJob;
  status: 'ok' | 'error' | 'timeout' | 'crashed' | 'interrupted';
  cellsRun: number;
  codeCells: number;
  /** 1-based position in the notebook of the cell that stopped the run. */
  failedCell?: number;
  message?: string;
  elapsedMs: number;
}

/** nbclient's tags: a cell tagged so is not run / may raise without stopping the run. */
export const SKIP_TAG = 'skip-execution';
export const RAISES_TAG = 'raises-exception';

export function hasTag(cell: { metadata?: Record<string, unknown> }, tag: string): boolean {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) && tags.includes(tag);
}

/**
 * Cells Jupyter executes: code cells whose source is not blank and that are not tagged
 * `skip-execution` (nbclient leaves both untouched, outputs and count included).
 */
function runnableCells(nb: Notebook): Array<{ index: number; cell: CodeCell }> {
  const out: Array<{ index: number; cell: CodeCell }> = [];
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type === 'code' && joinText(cell.source).trim() !== '' && !hasTag(cell, SKIP_TAG)) out.push({ index, cell });
  });
  return out;
}

/**
 * A cell ended in KeyboardInterrupt: if it came from our Ctrl-C forwarding, the abort
 * may land a moment after the worker's reply (workers run in their own process group,
 * so only the CLI gets the terminal's SIGINT and forwards it). Give that a moment so
 * the run counts as interrupted (exit 130), not as a failing cell.
 */
export function settleInterrupt(signal: AbortSignal, graceMs = 1000): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise(resolve => {
    const timer = setTimeout(done, graceMs);
    function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done);
  });
}

function describeExit(e: PyCtxError): string {
  if (e.signal) return `killed by ${e.signal}`;
  if (e.exitCode !== undefined && e.exitCode !== null) return `exit code ${e.exitCode}`;
  return 'exited';
}

/**
 * Runs one cell on `ctx`, mapping its events and its outcome into `out`. `count` is the
 * execution count the context has reached: a timed-out cell's reply never comes, but it
 * took the next number all the same (as the kernel's execute_input says under Jupyter).
 */
async function runCell(ctx: Context, out: CellOutputs, source: string, s: RunSettings, count: { n: number }): Promise<{ status: CellStatus; why?: string }> {
  try {
    const r = await ctx.execute(source, {
      signal: s.signal,
      timeoutMs: s.timeoutMs,
      onStream: ev => out.stream(ev.name, ev.text),
      onDisplay: ev => ev.update
        ? out.updateDisplay(ev.data, ev.metadata, ev.transient)
        : out.display(ev.data, ev.metadata, ev.transient),
      onClearOutput: ev => out.clear(ev.wait),
      // Headless: no one can type. With no onInput the pool tells the worker input is
      // unavailable, and input() raises StdinNotImplementedError, as under nbconvert.
    });
    out.setExecutionCount(r.executionCount);
    count.n = r.executionCount;
    if (r.result) out.result(r.result.data, r.result.metadata, r.executionCount);
    if (r.error) out.error(r.error.ename, r.error.evalue, r.error.traceback);
    for (const d of r.afterResult ?? []) out.display(d.data, d.metadata, d.transient);  // Jupyter: after result/error
    if (r.status !== 'error') return { status: 'ok' };
    if (!r.error) return { status: 'error' };  // IPython's UsageError: its line went to stderr, the cell failed
    if (r.error.ename === 'KeyboardInterrupt') await settleInterrupt(s.signal);
    return { status: s.signal.aborted ? 'interrupted' : 'error' };
  } catch (e) {
    if (!(e instanceof PyCtxError)) throw e;
    if (s.signal.aborted || e.code === 'interrupted') {
      out.error('KeyboardInterrupt', '', ['KeyboardInterrupt: run interrupted by pyctx (Ctrl-C)']);
      return { status: 'interrupted' };
    }
    if (e.code === 'timeout') {
      out.setExecutionCount(++count.n);
      const secs = (s.timeoutMs ?? 0) / 1000;
      out.error('TimeoutError', `cell timed out after ${secs} s`, [`TimeoutError: cell timed out after ${secs} s (pyctx --timeout)`]);
      return { status: 'timeout' };
    }
    if (e.code === 'worker_crashed' || e.code === 'session_worker_unavailable' || e.code === 'context_not_bound') {
      const how = describeExit(e);
      out.error('WorkerCrashed', `the Python worker running this cell died (${how})`,
        [`WorkerCrashed: the Python worker running this cell died (${how}); later cells were not run`]);
      return { status: 'crashed', why: how };
    }
    throw e;
  }
}

/** Runs one notebook in a fresh context of `pool`, then writes it. Never throws for cell-level failures. */
export async function runNotebook(pool: Pool, job: RunJob, s: RunSettings, unbindAfter: () => boolean = () => true): Promise<RunOutcome> {
  const started = Date.now();
  const nb = job.notebook;
  const cells = runnableCells(nb);
  const name = path.basename(job.input);
  const outcome: RunOutcome = { job, status: 'ok', cellsRun: 0, codeCells: cells.length, elapsedMs: 0 };
  const outputs = new NotebookOutputs(s.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  const count = { n: 0 };
  const ctx = await pool.bind('new', { cwd: path.dirname(path.resolve(job.input)), owner: `pyctx run ${job.input}` });
  try {
    for (let n = 0; n < cells.length; n++) {
      if (s.signal.aborted) { outcome.status = 'interrupted'; break; }
      const { index, cell } = cells[n];
      const cellStart = Date.now();
      const { status, why } = await runCell(ctx, outputs.beginCell(index, cell), joinText(cell.source), s, count);
      outcome.cellsRun++;
      s.progress.cell(name, n + 1, cells.length, index + 1, status, Date.now() - cellStart);
      if (status === 'ok' || ((status === 'error' || status === 'timeout') && s.allowErrors)) continue;
      if (status === 'error' && hasTag(cell, RAISES_TAG)) continue;
      const where = `cell ${index + 1}`;
      outcome.status = status;
      outcome.failedCell = index + 1;
      outcome.message = status === 'error' ? `${where} raised ${errorSummary(cell)}`
        : status === 'timeout' ? `${where} timed out after ${(s.timeoutMs ?? 0) / 1000} s`
        : status === 'crashed' ? `${where} killed its Python worker (${why})`
        : `interrupted during ${where}`;
      break;
    }
  } finally {
    stampKernelMetadata(nb, pool.pythonVersion);
    outcome.elapsedMs = Date.now() - started;
    writeNotebook(job.output, nb);
  }
  // A dead context has nothing to give back; a live one returns its worker to the pool
  // when another notebook may need it (unbinding recycles the worker: a wasted spawn
  // when the pool is about to close anyway).
  if (outcome.status !== 'crashed' && unbindAfter()) await ctx.unbind().catch(() => undefined);
  return outcome;
}

/** `ENAME: first line of evalue` of the cell's error, short enough for one line. */
function errorSummary(cell: CodeCell): string {
  const err = cell.outputs.find(o => o.output_type === 'error');
  if (!err || err.output_type !== 'error') return 'an error';
  const value = err.evalue.split('\n')[0].slice(0, 200);
  return value ? `${err.ename}: ${value}` : err.ename;
}

/**
 * The kernelspec and language_info ipykernel reports (its kernel.json and kernel_info
 * reply), for the interpreter that ran the cells. nbclient replaces language_info
 * whole; the kernelspec says which kernel Jupyter should open the notebook with.
 */
export function stampKernelMetadata(nb: Notebook, pythonVersion: string): void {
  const major = Number(pythonVersion.split('.')[0]) || 3;
  nb.metadata.kernelspec = { display_name: `Python ${major} (ipykernel)`, language: 'python', name: `python${major}` };
  nb.metadata.language_info = {
    codemirror_mode: { name: 'ipython', version: major },
    file_extension: '.py',
    mimetype: 'text/x-python',
    name: 'python',
    nbconvert_exporter: 'python',
    pygments_lexer: `ipython${major}`,
    version: pythonVersion,
  };
}

/** Runs every job, at most `jobs` at a time, all on `pool`. Outcomes keep the input order. */
export async function runAll(pool: Pool, list: RunJob[], jobs: number, s: RunSettings): Promise<RunOutcome[]> {
  const results: RunOutcome[] = new Array(list.length);
  let next = 0;
  const lane = async () => {
    while (next < list.length) {
      const i = next++;
      results[i] = await runNotebook(pool, list[i], s, () => next < list.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, list.length)) }, lane));
  return results;
}
