// The server's LSP message reader (replaces vscode-jsonrpc's stream reader, which
// stalls on a header without Content-Length or with a line lacking a colon, and
// corrupts its byte count on a negative length). Framing is `Header: value\r\n...
// \r\n\r\n` then Content-Length bytes of JSON. A bad header (no Content-Length; a
// non-numeric, negative or oversized one; a line without a colon; no end within
// 8 KiB) or a body that is not a JSON object is reported in one line and skipped:
// the reader resynchronises on the next `Content-Length:` in the stream, so later
// messages are read normally. An oversized body is never read into memory.
import { AbstractMessageReader, Disposable, type DataCallback, type Message, type MessageReader } from 'vscode-languageserver/node';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const MARKER = Buffer.from('Content-Length:', 'latin1');
const MAX_HEADER_BYTES = 8192;
/** Largest message body accepted (cell code, notebook sync); larger is a bad header. */
export const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

/** Splits a byte stream into LSP message bodies, skipping malformed frames. Pure: no I/O. */
export class LspFrameParser {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Body length being read; -1 while reading a header. */
  private want = -1;
  /** After a bad frame: skipping to the next Content-Length: marker. */
  private resyncing = false;

  constructor(
    private readonly onBody: (body: Buffer) => void,
    private readonly onBad: (reason: string) => void,
    private readonly maxBodyBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    for (;;) {
      if (this.want >= 0) {
        if (this.length < this.want) return;
        const buf = this.flat();
        const body = buf.subarray(0, this.want);
        this.keep(buf.subarray(this.want));
        this.want = -1;
        this.onBody(body);
        continue;
      }
      if (this.resyncing && !this.skipToMarker(0)) return;
      if (!this.readHeader()) return;
    }
  }

  /** Parse a header block if complete; false when more bytes are needed. */
  private readHeader(): boolean {
    const buf = this.flat();
    const end = buf.indexOf(HEADER_END);
    if (end < 0) {
      if (buf.length <= MAX_HEADER_BYTES) return false;
      return this.bad(`no end of header within ${MAX_HEADER_BYTES} bytes`);
    }
    if (end > MAX_HEADER_BYTES) return this.bad(`header longer than ${MAX_HEADER_BYTES} bytes`);
    let length: string | undefined;
    for (const line of buf.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) return this.bad(`header line without a colon: ${quote(line)}`);
      if (line.slice(0, colon).trim().toLowerCase() === 'content-length') length = line.slice(colon + 1).trim();
    }
    if (length === undefined) return this.bad('header without Content-Length');
    if (!/^\d{1,16}$/.test(length)) return this.bad(`Content-Length is not a non-negative integer: ${quote(length)}`);
    const n = Number(length);
    if (n > this.maxBodyBytes) return this.bad(`Content-Length ${n} is over the maximum of ${this.maxBodyBytes} bytes`);
    this.keep(buf.subarray(end + HEADER_END.length));
    this.want = n;
    return true;
  }

  /** Report a bad frame and skip past its first byte to the next marker. True: go on parsing. */
  private bad(reason: string): boolean {
    this.onBad(reason);
    this.resyncing = true;
    return this.skipToMarker(1);
  }

  /** Drop bytes before the next Content-Length: at or after `from`; false when none is buffered yet. */
  private skipToMarker(from: number): boolean {
    const buf = this.flat();
    const at = buf.indexOf(MARKER, from);
    if (at < 0) {
      // Keep a tail that could be the start of a marker split across chunks.
      this.keep(buf.subarray(Math.max(from, buf.length - (MARKER.length - 1))));
      return false;
    }
    this.keep(buf.subarray(at));
    this.resyncing = false;
    return true;
  }

  private flat(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0];
  }

  private keep(rest: Buffer): void {
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
  }
}

const quote = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);

/**
 * One line per problem for the first `burst`, then one summary line at most every
 * `everyMs` (a flood of bad frames must not flood the log as well).
 */
export function rateLimitedLog(write: (line: string) => void, burst = 20, everyMs = 10_000): (line: string) => void {
  let logged = 0;
  let skipped = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (skipped > 0) write(`pyctx server: ${skipped} more malformed LSP messages skipped`);
    skipped = 0;
  };
  return line => {
    if (logged < burst) { logged++; write(line); return; }
    skipped++;
    timer ??= setTimeout(flush, everyMs);
    timer.unref?.();
  };
}

export interface ReaderOptions {
  maxMessageBytes?: number;
  /** Where problems are reported (default: stderr, which the client shows in its output channel). */
  log?: (line: string) => void;
}

/** A MessageReader over a byte stream (the server's stdin) built on LspFrameParser. */
export class ResyncingMessageReader extends AbstractMessageReader implements MessageReader {
  private readonly log: (line: string) => void;

  constructor(private readonly readable: NodeJS.ReadableStream, private readonly opts: ReaderOptions = {}) {
    super();
    this.log = opts.log ?? rateLimitedLog(line => { process.stderr.write(`${line}\n`); });
  }

  listen(callback: DataCallback): Disposable {
    const parser = new LspFrameParser(body => {
      let msg: unknown;
      try {
        msg = JSON.parse(body.toString('utf8'));
      } catch (e) {
        this.log(`pyctx server: skipped an LSP message whose body is not JSON (${(e as Error).message})`);
        return;
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        this.log('pyctx server: skipped an LSP message that is not a JSON object');
        return;
      }
      callback(msg as Message);
    }, reason => this.log(`pyctx server: skipped a malformed LSP message (${reason}); resynchronising on the next Content-Length`),
    this.opts.maxMessageBytes);
    const onData = (chunk: Buffer | string): void => parser.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    const onError = (e: unknown): void => this.fireError(e);
    const onClose = (): void => this.fireClose();
    this.readable.on('data', onData);
    this.readable.on('error', onError);
    this.readable.on('close', onClose);
    this.readable.on('end', onClose);
    return Disposable.create(() => {
      this.readable.off('data', onData);
      this.readable.off('error', onError);
      this.readable.off('close', onClose);
      this.readable.off('end', onClose);
    });
  }
}
