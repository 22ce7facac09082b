// Applies one execution's stream of pyctx/output notifications to its
// NotebookCellExecution, with Jupyter's semantics: stream text appended live to the
// last output of the same stream (throttled as the output grows), display_data as new outputs, clear_output(wait)
// deferred until the next output, update_display by display_id (also in other
// cells, through the notebook's DisplayRegistry).
import * as vscode from 'vscode';
import type { MimeBundle, OutputPayload } from '../protocol/lsp';
import { bundleItems, displayOutput, streamItem, streamNameOf } from './mime';

/**
 * An output's id. VS Code gives every NotebookCellOutput one and keeps it across
 * the extension host boundary (replaceOutputItems finds outputs by it), but only
 * the proposed API types it.
 */
export function outputId(o: vscode.NotebookCellOutput): string {
  return (o as vscode.NotebookCellOutput & { id: string }).id;
}

interface DisplayTarget { cell: vscode.NotebookCell; outputId: string }

/**
 * display_id -> outputs showing it, for one notebook. An update replaces the items
 * of every output registered under that id, wherever it is.
 */
export class DisplayRegistry {
  private readonly targets = new Map<string, DisplayTarget[]>();

  add(displayId: string, cell: vscode.NotebookCell, outputId: string): void {
    const list = this.targets.get(displayId) ?? [];
    list.push({ cell, outputId });
    this.targets.set(displayId, list);
  }
  get(displayId: string): DisplayTarget[] { return this.targets.get(displayId) ?? []; }
  /** Outputs of `cell` were cleared: forget them. */
  forgetCell(cell: vscode.NotebookCell): void {
    for (const [id, list] of this.targets) {
      const kept = list.filter(t => t.cell !== cell);
      if (kept.length) this.targets.set(id, kept); else this.targets.delete(id);
    }
  }
  clear(): void { this.targets.clear(); }
}

/** Updates an output in a cell that is not the running one (a short-lived execution keeps its summary). */
export type ForeignUpdate = (cell: vscode.NotebookCell, outputId: string, items: vscode.NotebookCellOutputItem[]) => Promise<void>;

/**
 * Minimum time between two stream writes of one cell. Every write makes the
 * workbench re-render the whole stream output, so a flood is written in a few
 * large appends instead of many: short while the output is small (live progress
 * prints), longer as it grows (1 MiB -> ~300 ms, capped at 1 s).
 */
export function streamFlushInterval(bytesSoFar: number): number {
  return Math.min(1000, 50 + Math.floor((bytesSoFar / (1 << 20)) * 250));
}

export class CellOutputWriter {
  private last: { output: vscode.NotebookCellOutput; stream?: 'stdout' | 'stderr' } | undefined;
  private clearPending = false;
  /** Outputs this execution appended, by id (cell.outputs lags behind the batched writes). */
  private readonly own = new Map<string, vscode.NotebookCellOutput>();
  /** Writes to this execution are applied in order, so awaiting the last one is enough. */
  private lastWrite: Thenable<void> = Promise.resolve();
  private readonly foreign = new Set<Promise<void>>();
  /** Stream text not written yet (throttled, see streamFlushInterval). */
  private buffered: { name: 'stdout' | 'stderr'; parts: string[] } | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private clearTimer: ReturnType<typeof setTimeout> | undefined;
  /** Starts the execution before its first write (once); undefined once started. */
  private begin: (() => void) | undefined;
  private lastStreamWrite = 0;
  private streamBytes = 0;

  constructor(
    private readonly exec: vscode.NotebookCellExecution,
    private readonly displays: DisplayRegistry,
    private readonly updateForeign: ForeignUpdate,
    /** Appending to outputs already in the cell (late output): stream text continues its last stream output. */
    continueOutputs = false,
    /**
     * A new run that has not called exec.start() yet: `begin` starts it (start time,
     * execution order) right before the first write, at the end, or after `showAfterMs`,
     * whichever comes first; the cell's old outputs go with that first write. A fast cell
     * thus goes from queued to done in one step (VS Code renders the running state in a
     * frame of its own, 30-45 ms a cell measured) and never flickers empty.
     */
    fresh?: { begin: () => void; showAfterMs: number },
  ) {
    if (fresh) {
      this.begin = fresh.begin;
      this.clearPending = true;
      // The notebook may have closed meanwhile (its execution is gone): nothing to show then.
      this.clearTimer = setTimeout(() => { try { this.flushPendingClear(); } catch { /* closed */ } }, fresh.showAfterMs);
    }
    const last = continueOutputs ? exec.cell.outputs.at(-1) : undefined;
    const stream = last && last.items.length > 0 ? streamNameOf(last.items[0]) : undefined;
    if (last && stream) this.last = { output: last, stream };
  }

  handle(o: OutputPayload): void {
    if (o.kind === 'stream') return this.stream(o.name, o.text);
    this.flushStream();   // everything else keeps its place after the text before it
    switch (o.kind) {
      case 'display': return this.display(o.data, o.metadata, o.displayId);
      case 'update_display': return this.updateDisplay(o.displayId, o.data);
      case 'clear_output':
        if (o.wait) this.clearPending = true; else this.clearNow();
        return;
      case 'truncated':
        return this.stream('stderr', `\n[pyctx] output truncated: this cell exceeded ${formatBytes(o.limitBytes)} (setting pyctx.output.maxBytes)\n`);
    }
  }

  stream(name: 'stdout' | 'stderr', text: string): void {
    if (!text) return;
    if (this.buffered && this.buffered.name !== name) this.flushStream();
    (this.buffered ??= { name, parts: [] }).parts.push(text);
    this.streamBytes += text.length;
    const wait = this.lastStreamWrite + streamFlushInterval(this.streamBytes) - Date.now();
    if (wait <= 0) this.flushStream();
    else this.flushTimer ??= setTimeout(() => this.flushStream(), wait);
  }

  /** Writes buffered stream text: appended to the last output when it is the same stream. */
  private flushStream(): void {
    if (this.flushTimer) { clearTimeout(this.flushTimer); this.flushTimer = undefined; }
    const b = this.buffered;
    if (!b) return;
    this.buffered = undefined;
    this.lastStreamWrite = Date.now();
    const text = b.parts.length === 1 ? b.parts[0] : b.parts.join('');
    if (!this.clearPending && this.last?.stream === b.name) {
      this.track(this.out.appendOutputItems(streamItem(b.name, text), this.last.output));
      return;
    }
    this.append(new vscode.NotebookCellOutput([streamItem(b.name, text)]), b.name);
  }

  /** display_data, or the cell's execute_result when `executionCount` is given. */
  display(data: MimeBundle, metadata: Record<string, unknown> = {}, displayId?: string, executionCount?: number): void {
    this.flushStream();
    const output = displayOutput(data, metadata, executionCount);
    this.append(output);   // first: a pending clear forgets the cell's displays
    if (displayId) this.displays.add(displayId, this.exec.cell, outputId(output));
  }

  /** An output that is not a stream or display (errors, notices). */
  appendOutput(output: vscode.NotebookCellOutput): void {
    this.flushStream();
    this.append(output);
  }

  /** A notice that stands for the whole cell until the run writes (e.g. "waiting for a free worker"); none: an empty cell. */
  notice(output?: vscode.NotebookCellOutput): void {
    this.flushStream();
    this.clearNow();
    if (output) this.append(output);
  }

  /**
   * The run is over: buffered stream text is written now. Returns a promise only when
   * updates of other cells' outputs are in flight (their own short executions); this
   * execution's writes need no wait, since exec.end() applies them first, in order.
   */
  endOfRun(): Promise<void> | undefined {
    this.flushStream();
    this.flushPendingClear();
    return this.foreign.size ? Promise.allSettled([...this.foreign]).then(() => undefined) : undefined;
  }

  /** Resolves when every write issued so far has been applied. */
  async settled(): Promise<void> {
    this.flushStream();
    await Promise.allSettled([this.lastWrite, ...this.foreign]);
  }

  private updateDisplay(displayId: string, data: MimeBundle): void {
    const items = bundleItems(data);
    for (const t of this.displays.get(displayId)) {
      const own = t.cell === this.exec.cell
        ? this.own.get(t.outputId) ?? this.exec.cell.outputs.find(out => outputId(out) === t.outputId)
        : undefined;
      if (own) {
        this.track(this.out.replaceOutputItems(items, own));
      } else if (t.cell !== this.exec.cell) {
        const p = this.updateForeign(t.cell, t.outputId, items).catch(() => undefined);
        this.foreign.add(p);
        void p.finally(() => this.foreign.delete(p));
      }
    }
  }

  // A clear still pending goes with the write: one replaceOutput, not clearOutput then
  // appendOutput (two output edits the workbench lays out one after the other).
  private append(output: vscode.NotebookCellOutput, stream?: 'stdout' | 'stderr'): void {
    const replacing = this.clearPending;
    if (replacing) this.forgetOutputs();
    this.last = { output, stream };
    this.own.set(outputId(output), output);
    this.track(replacing ? this.out.replaceOutput([output]) : this.out.appendOutput(output));
  }

  private clearNow(): void {
    this.forgetOutputs();
    this.track(this.out.clearOutput());
  }

  /** Forgets the cell's outputs so far (the next write replaces them, or clearNow clears them). */
  private forgetOutputs(): void {
    this.clearPending = false;
    if (this.clearTimer) { clearTimeout(this.clearTimer); this.clearTimer = undefined; }
    this.streamBytes = 0;
    this.last = undefined;
    this.own.clear();
    this.displays.forgetCell(this.exec.cell);
  }

  private flushPendingClear(): void {
    if (this.clearPending) this.clearNow();
  }

  /** The execution, started (see `fresh`). */
  private get out(): vscode.NotebookCellExecution {
    this.started();
    return this.exec;
  }

  /** Starts the execution now if it was not (its end needs it started). */
  started(): void {
    const begin = this.begin;
    this.begin = undefined;
    begin?.();
  }

  private track(t: Thenable<void>): void {
    this.lastWrite = t;
  }
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
