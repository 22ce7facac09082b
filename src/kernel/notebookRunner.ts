// One notebook's side of the kernel: its binding to a pool context, its queue of
// cell executions (run in order, one at a time; the queue stops at the first
// error as in Jupyter), interrupt with a grace period, restart, and what happens
// when the context is lost (worker crash, server reset). The controller
// (controller.ts) owns one NotebookRunner per notebook it has run.
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { KernelStatus } from '@vscode/jupyter-extension';
import { errorCode, type PyctxClient } from '../client';
import type { ExecuteResult, OutputPayload, SessionInfo, SessionLostParams, WaitingForWorkerParams } from '../protocol/lsp';
import { CellOutputWriter, DisplayRegistry } from './cellOutputs';
import { OutOfRunWrites, type OutOfRunHost } from './outOfRunWrites';
import { errorOutput } from './mime';
import { CellTrace } from './trace';
import { offerSelectEnvironment } from './environmentErrors';
import { crashOutput, describeExit, notifyCrash, requestErrorOutput } from './crashReport';
import { releasedNames } from './released';
import { waitingText } from './waiting';

interface Task {
  readonly cell?: vscode.NotebookCell;
  run(): Promise<void>;
  cancel(): void;
}

interface Running { executionId: string; restarted: boolean; interruptedAt?: number }

/**
 * A cell shows as running (spinner, cleared outputs, as Jupyter clears at the start)
 * at its first output or after this long; a faster one goes from queued to done at once.
 */
const SHOW_RUNNING_AFTER_MS = 100;

/** The notebook folder: the worker's cwd and first sys.path entry. */
export function notebookCwd(notebook: vscode.NotebookDocument): string | undefined {
  if (notebook.uri.scheme === 'file') return path.dirname(notebook.uri.fsPath);
  const folder = vscode.workspace.getWorkspaceFolder(notebook.uri) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
}

export class NotebookRunner implements vscode.Disposable, OutOfRunHost {
  private readonly queue: Task[] = [];
  private draining = false;
  private running: Running | undefined;
  private restarting: Promise<void> | undefined;
  private lastCount = 0;
  private statusValue: KernelStatus = 'unknown';
  private readonly statusEmitter = new vscode.EventEmitter<KernelStatus>();
  readonly displays = new DisplayRegistry();
  /** Late output of ended runs and update_display of cells not running. */
  private readonly outOfRun = new OutOfRunWrites(this);
  /** The output writer of the cell run in progress (it carries the "waiting for a free worker" notice). */
  private currentWriter: CellOutputWriter | undefined;
  /** An explicit bind is in flight (it may be waiting for a free worker). */
  private binding = false;
  /** Worker pid of the current context, when known. */
  pid: number | undefined;
  /** Whether the notebook currently holds a pool context (implicit bind on first run). */
  bound = false;

  readonly onDidChangeStatus = this.statusEmitter.event;
  /** Where crash details go (the "pyctx" output channel), and how to show it. */
  log: ((line: string) => void) | undefined;
  showLog: (() => void) | undefined;

  constructor(
    readonly notebook: vscode.NotebookDocument,
    private readonly client: PyctxClient,
    readonly controller: vscode.NotebookController,
    /** The notebook's environment: its interpreter, sent with every request (undefined: the default pool). */
    readonly python?: string,
  ) {}

  get uri(): string { return this.notebook.uri.toString(); }
  get status(): KernelStatus { return this.statusValue; }
  get isBusy(): boolean { return this.running !== undefined; }

  // ---- cells ---------------------------------------------------------------

  /** Queues cells in order; each shows as pending until its turn. */
  enqueueCells(cells: readonly vscode.NotebookCell[]): void {
    for (const cell of cells) {
      const trace = CellTrace.begin('cell', this.uri, cell.index, 'kernel.executeHandler');
      const exec = this.controller.createNotebookCellExecution(cell);
      const task: Task = {
        cell,
        run: () => this.runCell(exec, trace),
        cancel: () => exec.end(undefined),
      };
      exec.token.onCancellationRequested(() => {
        const i = this.queue.indexOf(task);
        if (i >= 0) { this.queue.splice(i, 1); task.cancel(); }
        else if (this.running) void this.interrupt();
      });
      this.queue.push(task);
    }
    void this.drain();
  }

  /**
   * Runs code in this notebook's context outside any cell (the exported API's
   * executeCode), queued behind running cells. Outputs go to `onOutput`. Silent,
   * as Jupyter's executeCode: the next cell's execution order is not bumped.
   */
  runCode(code: string, onOutput: (o: OutputPayload) => void, token?: vscode.CancellationToken): Promise<ExecuteResult> {
    const trace = CellTrace.begin('code', this.uri, undefined, 'api.executeCode');
    return new Promise<ExecuteResult>((resolve, reject) => {
      let started = false;
      let done = false;
      const task: Task = {
        run: async () => {
          if (token?.isCancellationRequested) { reject(new vscode.CancellationError()); return; }
          started = true;
          trace?.mark('runner.start');
          try { resolve(await this.execute(code, undefined, onOutput, true, undefined, trace)); } catch (err) { reject(err); } finally { done = true; trace?.finish(); }
        },
        cancel: () => reject(new vscode.CancellationError()),
      };
      token?.onCancellationRequested(() => {
        if (!started) {
          const i = this.queue.indexOf(task);
          if (i >= 0) { this.queue.splice(i, 1); task.cancel(); }
        } else if (!done) {
          void this.client.interrupt(this.uri).catch(() => undefined);
        }
      });
      this.queue.push(task);
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let task = this.queue.shift(); task; task = this.queue.shift()) {
        await this.restarting?.catch(() => undefined);
        // A task that throws (its notebook closed under it) must not stop the queue.
        try { await task.run(); } catch { /* nothing left to report to */ }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Ends every queued (not yet started) cell without running it. */
  cancelPending(): void {
    for (const task of this.queue.splice(0)) {
      try { task.cancel(); } catch { /* the notebook is already closed */ }
    }
  }

  private async execute(code: string, cell: vscode.NotebookCell | undefined, onOutput: (o: OutputPayload) => void, silent = false, executionId = randomUUID(), trace?: CellTrace): Promise<ExecuteResult & { restarted?: boolean }> {
    const running: Running = { executionId, restarted: false };
    this.running = running;
    this.setStatus('busy');
    try {
      trace?.mark('client.request');
      const result = await this.client.execute(
        { executionId: running.executionId, notebookUri: this.uri, code, cellIndex: cell?.index, cwd: notebookCwd(this.notebook), python: this.python, ...(silent ? { silent } : {}), ...(trace ? { trace: true } : {}) },
        trace ? o => { trace.markOnce('client.output'); onOutput(o); } : onOutput,
      );
      trace?.mark('client.reply');
      trace?.addServer(result.trace);
      // An abort caused by our own restart is not a loss: restart() holds the new context.
      if (running.restarted && result.status === 'aborted') return { ...result, restarted: true };
      if (result.crash) this.markLost(result.crash.exitCode !== null || result.crash.signal !== null ? 'dead' : 'unknown');
      else {
        // The reply names the worker: an implicit bind needs no pyctx/sessions round trip
        // after the run to learn it (that request used to follow every first cell).
        if (result.pid !== undefined) this.pid = result.pid;
        this.bound = true;
        if (!silent) this.lastCount = result.executionCount || this.lastCount;
      }
      return result;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'worker_crashed' || code === 'context_not_bound' || code === 'session_worker_unavailable') this.markLost('dead');
      throw err;
    } finally {
      this.running = undefined;
      if (this.statusValue === 'busy') this.setStatus(this.bound ? 'idle' : 'unknown');
    }
  }

  private async runCell(exec: vscode.NotebookCellExecution, trace?: CellTrace): Promise<void> {
    const cell = exec.cell;
    const code = cell.document.getText();
    const startTime = Date.now();
    if (!code.trim()) { exec.start(startTime); void exec.clearOutput(); exec.end(true, Date.now()); trace?.mark('exec.end'); trace?.finish(); return; }
    // exec.start() and the expected count wait for the first write (see CellOutputWriter's
    // `fresh`), with the real start time; each executionOrder assignment is a message to
    // the workbench of its own, so the reply's count is only set when it differs.
    const writer = new CellOutputWriter(exec, this.displays, (c, id, items) => this.outOfRun.updateOtherCell(c, id, items), false, {
      showAfterMs: SHOW_RUNNING_AFTER_MS,
      begin: () => {
        exec.start(startTime);
        exec.executionOrder = this.bound ? this.lastCount + 1 : 1;
        trace?.mark('exec.start');
      },
    });
    const executionId = randomUUID();
    const ended = this.outOfRun.remember(executionId, cell);
    let ok = false;
    let cancelled = false;
    this.currentWriter = writer;
    try {
      const r = await this.execute(code, cell, o => writer.handle(o), false, executionId, trace);
      writer.started();
      if (r.executionCount && r.executionCount !== exec.executionOrder) exec.executionOrder = r.executionCount;
      if (r.result) writer.display(r.result.data, r.result.metadata, undefined, exec.executionOrder);
      if (r.error) {
        writer.appendOutput(errorOutput(r.error.ename, r.error.evalue, r.error.traceback));
        const note = releasedNames.noteFor(this.uri, r.error.ename, r.error.evalue);
        if (note) writer.appendOutput(new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.stderr(note)], { outputType: 'stream' }));
      }
      for (const d of r.afterResult ?? []) writer.display(d.data, d.metadata, d.displayId);
      if (r.crash) {
        writer.appendOutput(crashOutput(r.crash, r.restarted === true));
        if (!r.restarted && (r.crash.exitCode !== null || r.crash.signal !== null)) this.reportCrash(r.crash);
      }
      ok = r.status === 'ok';
    } catch (err) {
      if (errorCode(err) === 'environment_unavailable') {
        // The interpreter went away (or broke) since it was listed: say so, offer the picker.
        const message = err instanceof Error ? err.message : String(err);
        writer.appendOutput(errorOutput('EnvironmentUnavailable', message, [`EnvironmentUnavailable: ${message}`]));
        void offerSelectEnvironment(this.notebook, this.controller.label.replace(/^pyctx: /, ''));
      } else if (errorCode(err) === 'wait_cancelled') {
        // A cell cancelled while it waited for a free worker ends as cancelled, with nothing to report.
        cancelled = true;
        writer.notice();
      } else {
        writer.appendOutput(requestErrorOutput(err));
      }
    } finally {
      this.currentWriter = undefined;
    }
    // No wait for this execution's own output writes: exec.end() sends VS Code's pending
    // batch of them first, in order, and then completes the execution. Awaiting them (as
    // this did) cost VS Code's 10 ms update-batching timer plus a round trip to the
    // workbench on every cell. Only writes to other cells (update_display by id, each a
    // short execution of its own) are still awaited, and only when there are some.
    const foreign = writer.endOfRun();
    if (foreign) await foreign;
    const endTime = Date.now();
    exec.end(cancelled ? undefined : ok, endTime);
    trace?.mark('exec.end');
    // Late output waits (off the cell's path) until this run's outputs are in
    // cell.outputs, so that it continues the run's last stream output.
    const summary = { executionOrder: exec.executionOrder, startTime, endTime, success: ok };
    void writer.settled().then(() => {
      ended(summary);
      if (trace) { trace.mark('outputs.applied'); trace.finish(); }
    });
    if (!ok) this.cancelPending();
  }

  /**
   * Output printed after its cell ended (a thread, timer or child process of that
   * cell): appended to the cell once its run's execution is over (outOfRunWrites.ts).
   */
  onLateOutput(o: OutputPayload): void { this.outOfRun.onLateOutput(o); }

  isQueued(cell: vscode.NotebookCell): boolean { return this.queue.some(t => t.cell === cell); }

  // ---- lifecycle -------------------------------------------------------------

  /** The server's bind for this notebook waits for a free worker, or stopped waiting. */
  onWaiting(p: WaitingForWorkerParams): void {
    const writer = this.currentWriter;
    if (!writer) return;
    // Nothing ran yet (the cell has no worker): the notice is the cell's only output until then.
    writer.notice(p.waiting ? new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text(waitingText(p), 'text/plain')]) : undefined);
  }

  /** Explicit bind (command): a context now, without running a cell; in a full pool it waits for one. */
  async bind(): Promise<void> {
    this.binding = true;
    let r;
    try { r = await this.client.bind(this.uri, notebookCwd(this.notebook), this.python); } finally { this.binding = false; }
    if (r.fresh) this.lastCount = 0;
    this.bound = true;
    this.pid = r.pid;
    if (!this.running) this.setStatus('idle');
  }

  /** Releases the worker (recycled by the pool); the next run binds fresh. */
  async unbind(): Promise<void> {
    this.cancelPending();
    this.markLost('unknown');
    // Always asked of the server, which knows the binding: the runner's own flag can lag
    // (a bind it did not see finish), and a stale "not bound" once left a saved-then-closed
    // notebook holding its worker. Unbinding a notebook that holds none is a no-op there.
    await this.client.unbind(this.uri);
  }

  /**
   * KeyboardInterrupt in the running cell; queued cells are cancelled. If the cell
   * is still running after the grace period, offers a restart (which works even
   * when the worker ignores SIGINT).
   */
  async interrupt(graceSeconds = readGraceSeconds()): Promise<void> {
    this.cancelPending();
    const target = this.running;
    if (!target) return;
    target.interruptedAt ??= Date.now();
    try { await this.client.interrupt(this.uri); } catch { /* not bound any more: nothing runs */ }
    setTimeout(() => { if (this.running === target) void this.offerRestart(graceSeconds); }, graceSeconds * 1000);
  }

  private async offerRestart(graceSeconds: number): Promise<void> {
    const name = path.basename(this.notebook.uri.path);
    const choice = await vscode.window.showWarningMessage(
      `pyctx: the cell in ${name} did not stop ${graceSeconds} s after the interrupt. Restart its Python context? (variables are lost, outputs kept)`,
      'Restart', 'Keep waiting');
    if (choice === 'Restart') await this.restart();
  }

  /** Fresh context for the notebook; the old worker is recycled; outputs stay. */
  restart(): Promise<void> {
    this.restarting ??= (async () => {
      this.cancelPending();
      if (this.running) this.running.restarted = true;
      this.setStatus('restarting');
      try {
        const r = await this.client.restart(this.uri, this.python);
        this.bound = true;
        this.pid = r.pid;
        this.lastCount = 0;
        this.displays.clear();
      } finally {
        this.restarting = undefined;
        if (this.statusValue === 'restarting') this.setStatus(this.bound ? 'idle' : 'unknown');
      }
    })();
    return this.restarting;
  }

  /**
   * The server's list of sessions changed (pushed stats): follow binds, unbinds
   * and restarts made elsewhere (the Ref Explorer, another extension). Skipped
   * while this runner itself is mid-request, when the list may lag behind.
   */
  syncFromServer(info: SessionInfo | undefined): void {
    if (this.running || this.restarting) return;
    if (info) {
      this.pid = info.pid;
      this.lastCount = info.executionCount;
      if (!this.bound) { this.bound = true; this.setStatus('idle'); }
    } else if (this.bound) {
      this.markLost('unknown');
    }
  }

  /** The server says this notebook's context is gone. */
  onSessionLost(l: SessionLostParams): void {
    if (l.reason === 'restarted') return;   // restart() already holds the new binding
    const idleCrash = l.reason === 'crashed' && !this.running && this.bound;
    this.markLost(l.reason === 'crashed' ? 'dead' : 'unknown');
    if (idleCrash) this.reportCrash(l);
  }

  /** The notification of a dead worker (the cell, if one ran, carries the notice too). */
  private reportCrash(c: { exitCode: number | null; signal: string | null; message: string }): void {
    const cause = describeExit(c.exitCode, c.signal);
    this.log?.(`${path.basename(this.notebook.uri.path)}: the Python worker died (${cause}).${c.message ? `\n  ${c.message}` : ''}`);
    void notifyCrash(this.notebook, cause, { restart: () => this.restart(), showOutput: () => this.showLog?.() });
  }

  /** The pool server restarted: nothing of this notebook's context survives. */
  onServerReset(): void {
    this.markLost('unknown');
  }

  private markLost(status: KernelStatus): void {
    releasedNames.forget(this.uri);
    this.bound = false;
    this.pid = undefined;
    this.lastCount = 0;
    this.displays.clear();
    this.setStatus(status);
  }

  private setStatus(s: KernelStatus): void {
    if (s === this.statusValue) return;
    this.statusValue = s;
    this.statusEmitter.fire(s);
  }

  dispose(): void {
    this.cancelPending();
    this.statusEmitter.dispose();
  }
}

function readGraceSeconds(): number {
  const v = vscode.workspace.getConfiguration('pyctx').get<number>('interrupt.graceSeconds');
  return typeof v === 'number' && v >= 0 ? v : 5;
}
