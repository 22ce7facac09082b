// Turns the events of running cells into nbformat 4 outputs the way Jupyter's
// executor (nbclient) does: consecutive stream text of the same name merges into one
// output, execute_result carries the execution count, binary mime data (the worker
// sends image/png as raw bytes) becomes base64, clear_output(wait=True) clears just
// before the next output, and update_display / a repeated display_id rewrites every
// earlier output with that id, in any cell of the notebook.
import type { CodeCell, MimeBundle, Output } from './nbformat';

const isJsonMime = (m: string) => m === 'application/json' || (m.startsWith('application/') && m.endsWith('+json'));

/** A mime bundle as nbformat stores it: bytes -> base64, text stays text, JSON mimes stay JSON. */
export function toNbBundle(data: Record<string, unknown>): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, v] of Object.entries(data ?? {})) {
    if (v instanceof Uint8Array) out[mime] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    else if (typeof v === 'string' || isJsonMime(mime)) out[mime] = v;
    else if (Array.isArray(v) && v.every(s => typeof s === 'string')) out[mime] = v.join('');
    else out[mime] = JSON.stringify(v);
  }
  return out;
}

function plainMetadata(m: unknown): Record<string, unknown> {
  return typeof m === 'object' && m !== null && !Array.isArray(m) ? { ...(m as Record<string, unknown>) } : {};
}

function displayIdOf(transient: unknown): string | undefined {
  const id = (transient as { display_id?: unknown } | undefined)?.display_id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Output state for a whole notebook run: holds the display_id map that spans cells. */
export class NotebookOutputs {
  // display_id -> cell index -> indices of outputs in that cell carrying the id
  private readonly displays = new Map<string, Map<number, number[]>>();
  private readonly cells = new Map<number, CodeCell>();

  /** Starts a cell: its outputs are emptied, as Jupyter does when a cell re-runs. */
  beginCell(index: number, cell: CodeCell): CellOutputs {
    cell.outputs = [];
    cell.execution_count = null;
    this.cells.set(index, cell);
    this.forgetCell(index);
    return new CellOutputs(this, index, cell);
  }

  /** @internal records that output `outIndex` of cell `cellIndex` shows `id`. */
  track(id: string, cellIndex: number, outIndex: number): void {
    let byCell = this.displays.get(id);
    if (!byCell) this.displays.set(id, byCell = new Map());
    const list = byCell.get(cellIndex) ?? [];
    list.push(outIndex);
    byCell.set(cellIndex, list);
  }

  /** @internal rewrites data+metadata of every output showing `id`. */
  update(id: string, data: MimeBundle, metadata: Record<string, unknown>): void {
    for (const [cellIndex, indices] of this.displays.get(id) ?? []) {
      const outs = this.cells.get(cellIndex)?.outputs ?? [];
      for (const i of indices) {
        const o = outs[i];
        if (o && (o.output_type === 'display_data' || o.output_type === 'execute_result')) {
          o.data = { ...data };
          o.metadata = { ...metadata };
        }
      }
    }
  }

  /** @internal a cleared cell no longer holds any display. */
  forgetCell(cellIndex: number): void {
    for (const byCell of this.displays.values()) byCell.delete(cellIndex);
  }
}

/** The outputs of one running cell; each method is one kind of event from the worker. */
export class CellOutputs {
  private clearPending = false;
  constructor(private readonly nb: NotebookOutputs, private readonly index: number, readonly cell: CodeCell) {}

  private push(o: Output, displayId?: string): void {
    if (this.clearPending) this.clearNow();
    if (displayId) this.nb.track(displayId, this.index, this.cell.outputs.length);
    this.cell.outputs.push(o);
  }

  private clearNow(): void {
    this.clearPending = false;
    this.cell.outputs = [];
    this.nb.forgetCell(this.index);
  }

  stream(name: string, text: string): void {
    if (text === '') return;
    const stream = name === 'stderr' ? 'stderr' : 'stdout';
    if (this.clearPending) this.clearNow();
    const last = this.cell.outputs[this.cell.outputs.length - 1];
    if (last && last.output_type === 'stream' && last.name === stream) {
      last.text = (Array.isArray(last.text) ? last.text.join('') : last.text) + text;
    } else {
      this.cell.outputs.push({ output_type: 'stream', name: stream, text });
    }
  }

  display(data: Record<string, unknown>, metadata: unknown, transient?: unknown): void {
    const bundle = toNbBundle(data);
    const meta = plainMetadata(metadata);
    const id = displayIdOf(transient);
    // Showing an existing display_id again also refreshes its earlier copies (nbclient does).
    if (id) this.nb.update(id, bundle, meta);
    this.push({ output_type: 'display_data', data: bundle, metadata: meta }, id);
  }

  updateDisplay(data: Record<string, unknown>, metadata: unknown, transient?: unknown): void {
    const id = displayIdOf(transient);
    if (id) this.nb.update(id, toNbBundle(data), plainMetadata(metadata));
  }

  clear(wait: boolean): void {
    if (wait) this.clearPending = true;
    else this.clearNow();
  }

  result(data: Record<string, unknown>, metadata: unknown, executionCount: number): void {
    this.push({ output_type: 'execute_result', data: toNbBundle(data), metadata: plainMetadata(metadata), execution_count: executionCount });
  }

  error(ename: string, evalue: string, traceback: string[]): void {
    this.push({ output_type: 'error', ename, evalue, traceback: [...traceback] });
  }

  setExecutionCount(n: number): void {
    this.cell.execution_count = n;
  }
}
