// Framing of the pool side (src/pool/framing.ts), without a worker: round trips,
// split and coalesced chunks, the size limit on both directions, bad bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder } from '../../src/pool/framing';
import { PyCtxError } from '../../src/pool/errors';

function collect(max = 1 << 20): { dec: FrameDecoder; out: unknown[] } {
  const out: unknown[] = [];
  return { dec: new FrameDecoder(max, m => out.push(m)), out };
}

test('a frame is a 4-byte big-endian length and a standard msgpack map', () => {
  const f = encodeFrame({ id: 1, op: 'eval', code: '1+1' }, 1 << 20);
  assert.equal(f.readUInt32BE(0), f.length - 4);
  assert.ok((f[4] & 0xf0) === 0x80 || f[4] === 0xde || f[4] === 0xdf, 'a map, not a record/extension');
});

test('frames survive being split byte by byte and coalesced', () => {
  const msgs = [{ id: 1, v: 'a'.repeat(300) }, { id: 2, v: Buffer.from([1, 2, 3]) }, { id: 3, v: [1.5, null, true] }];
  const all = Buffer.concat(msgs.map(m => encodeFrame(m, 1 << 20)));
  const split = collect();
  for (let i = 0; i < all.length; i++) split.dec.push(all.subarray(i, i + 1));
  const whole = collect();
  whole.dec.push(all);
  for (const got of [split.out, whole.out]) {
    assert.equal(got.length, 3);
    assert.deepEqual((got[1] as { v: Buffer }).v, Buffer.from([1, 2, 3]));
    assert.deepEqual((got[2] as { v: unknown }).v, [1.5, null, true]);
    assert.equal((got[0] as { v: string }).v.length, 300);
  }
});

test('undefined encodes as nil and large ints decode exactly', () => {
  const { dec, out } = collect();
  dec.push(encodeFrame({ a: undefined, b: 2 ** 40, c: -(2 ** 33) }, 1 << 20));
  assert.deepEqual(out[0], { a: null, b: 2 ** 40, c: -(2 ** 33) });
});

test('an outgoing frame over the limit is refused with frame_too_large', () => {
  assert.throws(() => encodeFrame({ blob: Buffer.alloc(2000) }, 1000),
    (e: unknown) => e instanceof PyCtxError && e.code === 'frame_too_large');
});

test('an incoming header over the limit is refused before buffering the body', () => {
  const { dec } = collect(100);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1_000_000, 0);
  assert.throws(() => dec.push(header), (e: unknown) => e instanceof PyCtxError && e.code === 'frame_too_large');
});

test('undecodable bytes are a protocol_error', () => {
  const { dec } = collect();
  const bad = Buffer.from([0, 0, 0, 2, 0x92, 1]); // an array of 2 holding 1 item
  assert.throws(() => dec.push(bad), (e: unknown) => e instanceof PyCtxError && e.code === 'protocol_error');
});
