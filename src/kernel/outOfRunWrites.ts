// Writes to a notebook's cells outside their own run: output a cell's run printed
// after it ended (a thread, timer or child process of that cell), and update_display
// of an output in a cell that is not running. Each is a short-lived execution that
// keeps the cell's order number, status and timing. The NotebookRunner owns one and
// tells it about each cell run (remember) and its end.
import * as vscode from 'vscode';
import type { OutputPayload } from '../protocol/lsp';
import { CellOutputWriter, type DisplayRegistry, outputId as outputIdOf } from './cellOutputs';

/** How a run ended, as its cell's executionSummary shows it (late appends keep it). */
export interface RunSummary { executionOrder?: number; startTime?: number; endTime?: number; success?: boolean }
/** A cell run whose late output (printed after it ended) still goes to its cell. */
interface RecentRun { cell: vscode.NotebookCell; done: Promise<void>; summary?: RunSummary }
/** How many recent runs are remembered (the server tags late output with the last one). */
const RECENT_RUNS = 16;

export interface OutOfRunHost {
  readonly notebook: vscode.NotebookDocument;
  readonly controller: vscode.NotebookController;
  readonly displays: DisplayRegistry;
  /** The cell is queued to run again: what it shows now is about to be replaced. */
  isQueued(cell: vscode.NotebookCell): boolean;
}

export class OutOfRunWrites {
  private readonly recentRuns = new Map<string, RecentRun>();
  /** Per cell: its newest run's executionId (older runs' late output is dropped). */
  private readonly newestRun = new Map<vscode.NotebookCell, string>();
  /** Per cell: late outputs not yet written, and the write in progress (serialized per cell). */
  private readonly lateQueues = new Map<vscode.NotebookCell, { pending: OutputPayload[]; chain: Promise<void> }>();

  constructor(private readonly host: OutOfRunHost) {}

  /** Remembers a cell run for its late output; call the returned function once the run's execution ended. */
  remember(executionId: string, cell: vscode.NotebookCell): (summary: RunSummary) => void {
    let resolveDone!: () => void;
    const done = new Promise<void>(resolve => { resolveDone = resolve; });
    const run: RecentRun = { cell, done };
    // The summary is kept here because the cell's executionSummary only reflects the
    // end once the workbench has applied it (a round trip after exec.end).
    const ended = (summary: RunSummary): void => { run.summary = summary; resolveDone(); };
    this.recentRuns.set(executionId, run);
    this.newestRun.set(cell, executionId);
    for (const id of this.recentRuns.keys()) {
      if (this.recentRuns.size <= RECENT_RUNS) break;
      const old = this.recentRuns.get(id);
      this.recentRuns.delete(id);
      if (old && this.newestRun.get(old.cell) === id) this.newestRun.delete(old.cell);
    }
    return ended;
  }

  /**
   * Output printed after its cell ended (a thread, timer or child process of that
   * cell): appended to the cell once its run's execution is over, by a short-lived
   * execution that keeps the cell's order number, status and timing. Writes are
   * serialized per cell and batched; output of a run the cell has since replaced
   * (it runs or is queued again) is dropped. Never throws.
   */
  onLateOutput(o: OutputPayload): void {
    const run = this.recentRuns.get(o.executionId);
    if (!run) return;
    const cell = run.cell;
    let q = this.lateQueues.get(cell);
    if (!q) { q = { pending: [], chain: Promise.resolve() }; this.lateQueues.set(cell, q); }
    const queue = q;
    queue.pending.push(o);
    if (queue.pending.length > 1) return;   // a write is already scheduled: it takes this one too
    queue.chain = queue.chain
      .then(async () => {
        // The cell's newest run must have ended (its own execution owns the cell until then).
        await this.recentRuns.get(this.newestRun.get(cell) ?? '')?.done;
        const newest = this.newestRun.get(cell);
        return this.appendLate(cell, queue.pending.splice(0).filter(p => p.executionId === newest), this.recentRuns.get(newest ?? '')?.summary);
      })
      .catch(() => undefined)
      .finally(() => { if (queue.pending.length === 0 && this.lateQueues.get(cell) === queue) this.lateQueues.delete(cell); });
  }

  private async appendLate(cell: vscode.NotebookCell, batch: OutputPayload[], run: RunSummary | undefined): Promise<void> {
    const queuedAgain = this.host.isQueued(cell);
    if (!batch.length || queuedAgain || cell.index < 0 || this.host.notebook.isClosed) return;
    const shown = cell.executionSummary;
    const summary = run ?? { executionOrder: shown?.executionOrder, startTime: shown?.timing?.startTime, endTime: shown?.timing?.endTime, success: shown?.success };
    const exec = this.host.controller.createNotebookCellExecution(cell);
    try {
      exec.executionOrder = summary.executionOrder;
      exec.start(summary.startTime);
      const writer = new CellOutputWriter(exec, this.host.displays, (c, id, items) => this.updateOtherCell(c, id, items), true);
      for (const o of batch) writer.handle(o);
      await writer.settled();
    } finally {
      exec.end(summary.success, summary.endTime);
    }
  }

  /** update_display for an output in a cell that is not running: a short execution that keeps the cell's summary. */
  async updateOtherCell(cell: vscode.NotebookCell, outputId: string, items: vscode.NotebookCellOutputItem[]): Promise<void> {
    const output = cell.outputs.find(o => outputIdOf(o) === outputId);
    if (!output || this.host.isQueued(cell)) return;
    const summary = cell.executionSummary;
    const exec = this.host.controller.createNotebookCellExecution(cell);
    exec.executionOrder = summary?.executionOrder;
    exec.start(summary?.timing?.startTime);
    await exec.replaceOutputItems(items, output);
    exec.end(summary?.success, summary?.timing?.endTime);
  }
}
