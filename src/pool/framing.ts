// Framing of the pool<->worker wire (see src/protocol/wire.ts): 4-byte big-endian
// length + one standard msgpack map. msgpackr runs with records and extensions
// off so any msgpack reader (the worker's C msgpack or its own codec) decodes it.
// The decoder is incremental and refuses a header announcing more than the
// maximum before buffering anything.
import { Packr, Unpackr } from 'msgpackr';
import { PyCtxError } from './errors';

const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true });
// int64AsType 'auto': safe integers as numbers, larger ones as BigInt (typing lists
// only the other three values, the runtime accepts 'auto').
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });

/** Encode one message into a ready-to-write frame (header + body in one Buffer). */
export function encodeFrame(msg: unknown, maxFrameBytes: number): Buffer {
  const body = packr.pack(msg);
  if (body.length > maxFrameBytes) {
    throw new PyCtxError('frame_too_large',
      `request frame of ${body.length} bytes exceeds maxFrameBytes ${maxFrameBytes}; nothing was sent`);
  }
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

export function decodeBody(body: Buffer): unknown {
  return unpackr.unpack(body);
}

/**
 * Incremental frame reader. `push` each chunk; `onFrame` gets each decoded message.
 * Throws PyCtxError('frame_too_large' | 'protocol_error') on a broken stream; the
 * caller treats that as a protocol break of the whole channel.
 */
export class FrameDecoder {
  // Leftover bytes of an incomplete frame, kept as a chunk list so a large frame
  // arriving in many chunks is concatenated once, not once per chunk.
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private expected = 0; // full size (header + body) of the incomplete frame, 0 if header not yet known

  constructor(private readonly maxFrameBytes: number, private readonly onFrame: (msg: unknown) => void) {}

  push(chunk: Buffer): void {
    if (this.pendingLen > 0) {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      if (this.expected > 0 && this.pendingLen < this.expected) return;
      chunk = Buffer.concat(this.pending, this.pendingLen);
      this.pending = [];
      this.pendingLen = 0;
      this.expected = 0;
    }
    let off = 0;
    while (chunk.length - off >= 4) {
      const len = chunk.readUInt32BE(off);
      if (len > this.maxFrameBytes) {
        throw new PyCtxError('frame_too_large',
          `worker sent a frame of ${len} bytes, over maxFrameBytes ${this.maxFrameBytes}`);
      }
      if (chunk.length - off - 4 < len) { this.expected = 4 + len; break; }
      let msg: unknown;
      try {
        msg = unpackr.unpack(chunk.subarray(off + 4, off + 4 + len));
      } catch (e) {
        throw new PyCtxError('protocol_error', `undecodable frame from worker: ${(e as Error).message}`, { cause: e });
      }
      off += 4 + len;
      this.onFrame(msg);
    }
    if (off < chunk.length) {
      const rest = chunk.subarray(off);
      this.pending = [rest];
      this.pendingLen = rest.length;
    }
  }
}
