// Helpers for the latency bench and its behaviour test (test/vscode/bench-latency.test.ts,
// test/vscode/latency.test.ts): the no-op NotebookController that measures VS Code's own
// floor, and the timing of one execution from the execute command to the cell's
// executionSummary (the moment the editor shows the run as finished).
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { EXTENSION_ID, waitFor } from './notebook';

export const NOOP_CONTROLLER_ID = 'pyctx-bench-noop';

/**
 * VS Code's floor: a controller for the same notebook type that ends each execution
 * at once with one output (text/plain "2", what `1+1` shows). Everything it costs is
 * the editor's own: the command, the execution's start/output/end messages, the
 * workbench applying them. Registered by the test code, which the extension host
 * attributes to the extension under test, so it is selected with EXTENSION_ID.
 */
/** When the no-op controller's handler last ran and ended its execution (performance.timeOrigin + now, as traces). */
export const noopTimes = { handler: 0, end: 0 };

export function registerNoopController(): vscode.NotebookController {
  const c = vscode.notebooks.createNotebookController(NOOP_CONTROLLER_ID, 'jupyter-notebook', 'no-op (VS Code floor)', cells => {
    noopTimes.handler = performance.timeOrigin + performance.now();
    for (const cell of cells) {
      const exec = c.createNotebookCellExecution(cell);
      exec.start(Date.now());
      void exec.replaceOutput([new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text('2', 'text/plain')])]);
      exec.end(true, Date.now());
    }
    noopTimes.end = performance.timeOrigin + performance.now();
  });
  c.supportedLanguages = ['python'];
  c.supportsExecutionOrder = true;
  return c;
}

export async function selectController(editor: vscode.NotebookEditor, id: string): Promise<void> {
  await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id, extension: EXTENSION_ID });
}

/** Resolves (performance.now()) when the cell's executionSummary shows a finished run newer than `before`. */
export function summaryChanged(cell: vscode.NotebookCell, before: number | undefined, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sub.dispose(); reject(new Error(`cell ${cell.index} did not finish within ${timeoutMs} ms`)); }, timeoutMs);
    const sub = vscode.workspace.onDidChangeNotebookDocument(e => {
      if (e.notebook !== cell.notebook) return;
      if (!e.cellChanges.some(c => c.cell === cell && c.executionSummary !== undefined)) return;
      const s = cell.executionSummary;
      if (s?.success === undefined || s.timing?.endTime === undefined || s.timing.endTime === before) return;
      const t = performance.now();
      clearTimeout(timer);
      sub.dispose();
      resolve(t);
    });
  });
}

/**
 * Runs cell `index` of a notebook that is already the active editor and returns the
 * milliseconds from `notebook.cell.execute` to its finished executionSummary, with
 * the command's start time (performance.now()).
 */
export async function timeCell(editor: vscode.NotebookEditor, index: number): Promise<{ ms: number; t0: number }> {
  const cell = editor.notebook.cellAt(index);
  const done = summaryChanged(cell, cell.executionSummary?.timing?.endTime);
  const t0 = performance.now();
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: index, end: index + 1 }], document: editor.notebook.uri });
  return { ms: (await done) - t0, t0 };
}

/** Makes `editor`'s notebook the active one (cell commands act on the active editor), untimed. */
export async function bringToFront(editor: vscode.NotebookEditor): Promise<vscode.NotebookEditor> {
  if (vscode.window.activeNotebookEditor?.notebook === editor.notebook) return editor;
  const e = await vscode.window.showNotebookDocument(editor.notebook);
  await waitFor('the notebook to be active', () => vscode.window.activeNotebookEditor?.notebook === editor.notebook, 10_000);
  return e;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * A bootstrap interval (95 % by default) for median(a) - median(b): both samples are
 * resampled with replacement `iters` times. Seeded, so the same samples print the
 * same interval. It says whether a difference is beyond the noise within one run.
 */
export function medianDiffInterval(a: number[], b: number[], level = 0.95, iters = 4000): [number, number] {
  let seed = 0x9e3779b9;
  const rand = () => {   // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resample = (xs: number[]) => xs.map(() => xs[Math.floor(rand() * xs.length)]);
  const diffs = Array.from({ length: iters }, () => median(resample(a)) - median(resample(b))).sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  return [diffs[Math.floor(tail * iters)], diffs[Math.min(iters - 1, Math.floor((1 - tail) * iters))]];
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Diagnostic controllers (PYCTX_BENCH_SHAPES=1): pyctx's sequence of execution calls, without pyctx. */
export function registerShapeController(id: string, shape: { order?: boolean; delayMs?: number; deferStart?: boolean; meta?: boolean; interrupt?: boolean; lazyCreate?: boolean; work?: () => Promise<unknown> }): vscode.NotebookController {
  const create = (cell: vscode.NotebookCell): vscode.NotebookCellExecution => {
    const exec = c.createNotebookCellExecution(cell);
    if (shape.order) exec.executionOrder = (exec.executionOrder ?? 0) + 1;
    return exec;
  };
  const wait = shape.work ?? (shape.delayMs ? () => sleep(shape.delayMs!) : undefined);
  const c = vscode.notebooks.createNotebookController(id, 'jupyter-notebook', `shape ${id}`, async cells => {
    for (const cell of cells) {
      // lazyCreate: the execution is created only when the result is there (the handler's promise waits for it).
      const early = shape.lazyCreate ? undefined : create(cell);
      const t = Date.now();
      if (early && !shape.deferStart) early.start(t);
      if (wait) await wait();
      const exec = early ?? create(cell);
      if (!early || shape.deferStart) exec.start(t);
      const out = new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text('2', 'text/plain')], shape.meta ? { outputType: 'execute_result', executionCount: exec.executionOrder, metadata: {} } : undefined);
      void exec.replaceOutput([out]);
      exec.end(true, Date.now());
    }
  });
  c.supportedLanguages = ['python'];
  c.supportsExecutionOrder = true;
  // A kernel that can be interrupted (every real one): VS Code shows Interrupt while a cell runs.
  if (shape.interrupt) c.interruptHandler = () => undefined;
  return c;
}
