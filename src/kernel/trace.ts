// The extension's side of the end-to-end trace of one cell (PYCTX_TRACE=1 in the
// extension host's environment, read at each run): timestamps of every hop the
// extension sees (executeHandler, request sent, first output, exec.start,
// reply arrived, exec.end, outputs applied), merged with the server's hops
// (server.received … server.reply, returned in the ExecuteResult) and printed
// as one block on the extension host's console. Also fired on `onDidTrace` (the
// exported API's `debug.onTrace`) for tests and tools. Off, a run creates no
// trace and each hop costs one `undefined` check.
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { TraceHop } from '../protocol/lsp';

/** Milliseconds since the epoch, sub-millisecond; the server's clock (src/server/trace.ts) is the same. */
export const traceClock = (): number => performance.timeOrigin + performance.now();

export interface TraceRecord {
  /** 'cell': a notebook cell; 'code': the API's executeCode. */
  kind: 'cell' | 'code';
  notebookUri: string;
  cellIndex?: number;
  /** In the order they happened on the path; server hops sit between client.request and client.reply. */
  hops: TraceHop[];
}

const traces = new vscode.EventEmitter<TraceRecord>();
/** Every finished trace (only while PYCTX_TRACE=1). */
export const onDidTrace = traces.event;

export function tracingEnabled(): boolean { return process.env.PYCTX_TRACE === '1'; }

export class CellTrace {
  private readonly hops: TraceHop[] = [];
  private done = false;

  private constructor(private readonly kind: TraceRecord['kind'], private readonly notebookUri: string, private readonly cellIndex?: number) {}

  /** A trace when PYCTX_TRACE=1, else undefined. `startedAt`: when the first hop happened, if earlier than now. */
  static begin(kind: TraceRecord['kind'], notebookUri: string, cellIndex: number | undefined, first: string, startedAt = traceClock()): CellTrace | undefined {
    if (!tracingEnabled()) return undefined;
    const t = new CellTrace(kind, notebookUri, cellIndex);
    t.hops.push({ hop: first, t: startedAt });
    return t;
  }

  mark(hop: string): void { if (!this.done) this.hops.push({ hop, t: traceClock() }); }

  /** Only the first occurrence of `hop` is kept (e.g. the first output notification). */
  markOnce(hop: string): void { if (!this.hops.some(h => h.hop === hop)) this.mark(hop); }

  /** The server's hops, placed where they happened: after client.request. */
  addServer(hops: TraceHop[] | undefined): void {
    if (!hops?.length || this.done) return;
    const i = this.hops.findIndex(h => h.hop === 'client.request');
    this.hops.splice(i < 0 ? this.hops.length : i + 1, 0, ...hops);
  }

  /** Prints the trace and fires onDidTrace; later marks are ignored. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    const record: TraceRecord = { kind: this.kind, notebookUri: this.notebookUri, cellIndex: this.cellIndex, hops: this.hops };
    console.log(formatTrace(record));
    traces.fire(record);
  }
}

/** `pyctx trace: cell 2 of a.ipynb: 3.10 ms` then one line per hop: time since the first, and since the previous. */
export function formatTrace(r: TraceRecord): string {
  const t0 = r.hops[0]?.t ?? 0;
  const total = (r.hops.at(-1)?.t ?? t0) - t0;
  const name = r.notebookUri.split('/').pop();
  const what = r.kind === 'cell' ? `cell ${r.cellIndex ?? '?'} of ${name}` : `executeCode in ${name}`;
  const width = Math.max(...r.hops.map(h => h.hop.length));
  const lines = r.hops.map((h, i) => {
    const since = (h.t - t0).toFixed(2).padStart(8);
    const step = i === 0 ? '' : `  (+${(h.t - r.hops[i - 1].t).toFixed(2)})`;
    return `  ${since} ms  ${h.hop.padEnd(width)}${step}`;
  });
  return [`pyctx trace: ${what}: ${total.toFixed(2)} ms`, ...lines].join('\n');
}
