// Turns the events of running cells into nbformat 4 outputs the way Jupyter's
// executor (nbclient) does: consecutive stream text of the same name merges into one
// output, execute_result carries the execution count, binary mime data (the worker
// sends image/png as raw bytes) becomes base64, clear_output(wait=True) clears just
// before the next output, and update_display / a repeated display_id rewrites every
// earlier output with that id, in any cell of the notebook.
// Also owns the per-cell output cap (`pyctx run --max-output-bytes`, default 4 MiB like
// the server's): stream text and new displays past it are dropped, not kept, so a print
// loop cannot grow memory or the written notebook without bound; one stderr note says so.
import type { CodeCell, MimeBundle, Output } from './nbformat';
// A pure helper (its file imports only types): the server cuts at the same boundary.
import { utf8Prefix } from '../server/outputs';

/** Per-cell output cap when none is given: the pool server's default (outputMaxBytes). */
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

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

/** "4 MiB", "1.5 KiB", "100 bytes": the cap as the note shows it. */
export function formatCap(n: number): string {
  for (const [unit, size] of [['GiB', 1 << 30], ['MiB', 1 << 20], ['KiB', 1 << 10]] as const) {
    if (n >= size) return `${n % size === 0 ? n / size : (n / size).toFixed(1)} ${unit}`;
  }
  return `${n} bytes`;
}

/** Size a display bundle counts against the cap (stored text; base64 for binary), as the server counts it. */
function bundleBytes(data: MimeBundle): number {
  let n = 0;
  for (const v of Object.values(data)) n += typeof v === 'string' ? v.length : JSON.stringify(v ?? null).length;
  return n;
}

/** Output state for a whole notebook run: holds the display_id map that spans cells. */
export class NotebookOutputs {
  // display_id -> cell index -> indices of outputs in that cell carrying the id
  private readonly displays = new Map<string, Map<number, number[]>>();
  private readonly cells = new Map<number, CodeCell>();

  /** @param maxBytes per-cell output cap in bytes; 0 = no cap. */
  constructor(private readonly maxBytes = DEFAULT_MAX_OUTPUT_BYTES) {}

  /** Starts a cell: its outputs are emptied, as Jupyter does when a cell re-runs. */
  beginCell(index: number, cell: CodeCell): CellOutputs {
    cell.outputs = [];
    cell.execution_count = null;
    this.cells.set(index, cell);
    this.forgetCell(index);
    return new CellOutputs(this, index, cell, this.maxBytes);
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
  // Bytes of stream text and displays the cell holds. Counted since the cell began or was
  // last cleared: what is cleared is gone from memory, so a progress loop that clears is fine.
  private heldBytes = 0;
  /** True once the cap was hit (the note is in the outputs; later text is dropped). */
  truncated = false;
  constructor(private readonly nb: NotebookOutputs, private readonly index: number, readonly cell: CodeCell,
    private readonly maxBytes = 0) {}

  private push(o: Output, displayId?: string): void {
    if (this.clearPending) this.clearNow();
    if (displayId) this.nb.track(displayId, this.index, this.cell.outputs.length);
    this.cell.outputs.push(o);
  }

  private clearNow(): void {
    this.clearPending = false;
    this.cell.outputs = [];
    this.nb.forgetCell(this.index);
    this.heldBytes = 0;
    this.truncated = false;
  }

  /** Counts `bytes` more against the cap; false (and nothing counted) when they do not fit. */
  private fits(bytes: number): boolean {
    if (this.maxBytes > 0 && this.heldBytes + bytes > this.maxBytes) return false;
    this.heldBytes += bytes;
    return true;
  }

  /** Appends the one visible note; everything after it in this cell is dropped. */
  private truncate(): void {
    this.truncated = true;
    // An output of its own; still starts a line where a viewer merges it into a cut-off stderr line.
    const last = this.cell.outputs[this.cell.outputs.length - 1];
    const cutLine = last?.output_type === 'stream' && last.name === 'stderr'
      && !(Array.isArray(last.text) ? last.text.join('') : last.text).endsWith('\n');
    const text = `${cutLine ? '\n' : ''}[pyctx] output truncated at ${formatCap(this.maxBytes)}`
      + ` (--max-output-bytes ${this.maxBytes}); the rest of this cell's output was dropped\n`;
    this.cell.outputs.push({ output_type: 'stream', name: 'stderr', text });
  }

  stream(name: string, text: string): void {
    if (text === '') return;
    const stream = name === 'stderr' ? 'stderr' : 'stdout';
    if (this.clearPending) this.clearNow();
    if (this.truncated) return;
    if (!this.fits(Buffer.byteLength(text))) {
      // Keep what fits (whole characters), then drop the rest of the cell's output.
      const fit = utf8Prefix(text, this.maxBytes - this.heldBytes);
      if (fit) this.appendStream(stream, fit);
      this.heldBytes = this.maxBytes;
      this.truncate();
      return;
    }
    this.appendStream(stream, text);
  }

  private appendStream(stream: 'stdout' | 'stderr', text: string): void {
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
    // Showing an existing display_id again also refreshes its earlier copies (nbclient does);
    // that replaces, so it happens even past the cap, which only drops the new copy.
    if (id) this.nb.update(id, bundle, meta);
    if (this.clearPending) this.clearNow();
    if (this.truncated) return;
    if (!this.fits(bundleBytes(bundle))) { this.truncate(); return; }
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
