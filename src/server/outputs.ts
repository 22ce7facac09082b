// The output path of one running cell: turns pool callbacks into `pyctx/output`
// notifications. Owns three rules:
//  - stream text is coalesced: consecutive chunks of the same stream are joined and
//    sent when the coalesce timer fires (default 16 ms), when the buffer passes
//    FLUSH_BYTES, or before any other output (so order is kept);
//  - a per-cell cap (ServerOptions.outputMaxBytes): once the cell has sent that
//    many bytes of output, the rest is dropped and one `truncated` output says so;
//  - binary mime data (Uint8Array from the worker) is sent as base64 strings.
import type { MimeBundle, OutputPayload } from '../protocol/lsp';

const FLUSH_BYTES = 256 * 1024;   // keeps each notification a sane size

export interface OutputSinkOptions {
  executionId: string;
  send: (o: OutputPayload) => void;
  coalesceMs: number;
  maxBytes: number;
  /** Tag every payload `late: true` (output after the reply, see execute.ts LateOutputs). */
  late?: boolean;
}

/** Replaces binary values (Uint8Array/Buffer) of a mime bundle by base64 strings. */
export function jsonSafeBundle(data: unknown): MimeBundle {
  const out: MimeBundle = {};
  if (!data || typeof data !== 'object') return out;
  for (const [mime, value] of Object.entries(data as Record<string, unknown>)) {
    out[mime] = value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : value;
  }
  return out;
}

/**
 * The longest start of `text` whose UTF-8 encoding fits in `maxBytes`, cut at a
 * character boundary (a split character decodes to U+FFFD, which is dropped).
 * Pure; the CLI's per-cell cap (src/cli/outputs.ts) uses it too.
 */
export function utf8Prefix(text: string, maxBytes: number): string {
  return maxBytes > 0 ? Buffer.from(text).subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '') : '';
}

function bundleBytes(data: MimeBundle): number {
  let n = 0;
  for (const v of Object.values(data)) n += typeof v === 'string' ? v.length : JSON.stringify(v ?? null).length;
  return n;
}

export class OutputSink {
  private pendingName: 'stdout' | 'stderr' | undefined;
  private pendingText: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private sentBytes = 0;
  /** True once the cap was hit (the `truncated` note has been sent). */
  truncated = false;
  /** Notifications sent so far (bench/diagnostics). */
  notifications = 0;

  constructor(private readonly opts: OutputSinkOptions) {}

  stream(name: 'stdout' | 'stderr', text: string): void {
    if (this.truncated || !text) return;
    if (this.pendingName !== undefined && this.pendingName !== name) this.flush();
    const room = this.opts.maxBytes - this.sentBytes - this.pendingBytes;
    const bytes = Buffer.byteLength(text);
    if (bytes > room) {
      // Keep what fits (cut at a character boundary), then stop the cell's output.
      const fit = utf8Prefix(text, room);
      if (fit) this.push(name, fit, Buffer.byteLength(fit));
      this.truncate();
      return;
    }
    this.push(name, text, bytes);
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.coalesceMs);
  }

  display(kind: 'display' | 'update_display', data: unknown, metadata: unknown, displayId?: string): void {
    if (this.truncated) return;
    this.flush();
    const bundle = jsonSafeBundle(data);
    const size = bundleBytes(bundle);
    if (this.sentBytes + size > this.opts.maxBytes) { this.truncate(); return; }
    this.sentBytes += size;
    const meta = (metadata && typeof metadata === 'object' ? metadata : {}) as Record<string, unknown>;
    if (kind === 'update_display' && displayId !== undefined) {
      this.send({ executionId: this.opts.executionId, kind, data: bundle, metadata: meta, displayId });
    } else {
      this.send({ executionId: this.opts.executionId, kind: 'display', data: bundle, metadata: meta, ...(displayId !== undefined ? { displayId } : {}) });
    }
  }

  clearOutput(wait: boolean): void {
    if (this.truncated) return;
    this.flush();
    this.send({ executionId: this.opts.executionId, kind: 'clear_output', wait });
  }

  /** Sends whatever is buffered; call before the execute reply. */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.pendingName === undefined) return;
    const text = this.pendingText.length === 1 ? this.pendingText[0] : this.pendingText.join('');
    const name = this.pendingName;
    this.sentBytes += this.pendingBytes;
    this.pendingName = undefined;
    this.pendingText = [];
    this.pendingBytes = 0;
    this.send({ executionId: this.opts.executionId, kind: 'stream', name, text });
  }

  /** Stops the timer without sending (execution abandoned). */
  dispose(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
  }

  private push(name: 'stdout' | 'stderr', text: string, bytes: number): void {
    this.pendingName = name;
    this.pendingText.push(text);
    this.pendingBytes += bytes;
  }

  private truncate(): void {
    this.flush();
    this.truncated = true;
    this.send({ executionId: this.opts.executionId, kind: 'truncated', limitBytes: this.opts.maxBytes });
  }

  private send(o: OutputPayload): void {
    this.notifications++;
    this.opts.send(this.opts.late ? { ...o, late: true } : o);
  }
}
