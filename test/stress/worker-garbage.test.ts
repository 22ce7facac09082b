// 1,000 garbage frames sent straight to a real worker process (no pool between):
// random bytes, msgpack values that are not requests, requests with missing or
// mistyped fields. Each must get exactly one error reply, the worker must keep
// serving (a valid request is answered afterwards), and its memory stay put. Then
// a header announcing 2 GiB: refused at once, the worker exits with a protocol
// error instead of waiting to read and discard the body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Packr } from 'msgpackr';
import { FrameDecoder } from '../../src/pool/framing';
import { findPythonDir, workerBootstrap } from '../../src/pool/python';
import { printFigures, prng, rssMiB, TEST_PYTHON } from './stress-helpers';

const MAX = 1 << 20;
const packr = new Packr({ useRecords: false, moreTypes: false });
const framed = (body: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length, 0);
  return Buffer.concat([h, body]);
};

function startWorker() {
  const child = spawn(TEST_PYTHON, ['-c', workerBootstrap(findPythonDir())], {
    stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYCTX_MAX_FRAME_BYTES: String(MAX) },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const replies: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  const dec = new FrameDecoder(MAX, m => { replies.push(m as Record<string, unknown>); wake?.(); });
  child.stdout.on('data', (c: Buffer) => dec.push(c));
  const exited = new Promise<number | null>(r => child.once('exit', code => r(code)));
  /** Final replies (not stream events) so far. */
  const finals = (): Record<string, unknown>[] => replies.filter(r => r.event === undefined);
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 120_000;   // a hang guard, not a timing assertion
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr: ${stderr.slice(-2000)}`);
      await new Promise<void>(r => { wake = r; setTimeout(r, 50); });
    }
  };
  return { child, finals, until, exited, stderr: () => stderr };
}

/** One garbage frame of a kind chosen by `r`; none of them may stop the worker. */
function garbage(r: () => number, i: number): Buffer {
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const kinds: (() => unknown)[] = [
    () => null, () => 42, () => 'eval', () => [1, 2, 3], () => true,
    () => ({}), () => ({ id: i }), () => ({ op: 'eval' }), () => ({ id: 'x', op: 'eval', code: '1' }),
    () => ({ id: i, op: 42 }), () => ({ id: i, op: 'no_such_op' }), () => ({ id: i, op: 'eval', code: 12345 }),
    () => ({ id: i, op: 'eval', code: null }), () => ({ id: i, op: 'exec', code: ['x'] }),
    () => ({ id: i, op: 'call', module: 5, fn: [], args: 'no' }), () => ({ id: i, op: 'call', module: 'os', fn: 'getpid', args: 7 }),
    () => ({ id: i, op: 'method', ref: { __type__: 'ref', id: 3 }, name: 'x' }), () => ({ id: i, op: 'attr', ref: 'nope', name: 9 }),
    () => ({ id: i, op: 'configure', cwd: 12345 }), () => ({ id: i, op: 'refs.release', ref: {} }),
  ];
  const k = Math.floor(r() * (kinds.length + 2));
  if (k === kinds.length) return framed(bytes(1 + Math.floor(r() * 64)));            // random bytes
  if (k === kinds.length + 1) return framed(Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61]));   // str32 announcing 4 GiB
  return framed(packr.pack(kinds[k]()));
}

test('1,000 garbage frames: one error reply each, the worker keeps serving', { timeout: 10 * 60_000 }, async () => {
  const w = startWorker();
  try {
    w.child.stdin.write(framed(packr.pack({ id: 1, op: 'eval', code: '1 + 1' })));
    await w.until(() => w.finals().length === 1, 'the first reply');
    assert.deepEqual(w.finals()[0].value, 2);
    const rssBefore = rssMiB(w.child.pid!);
    const r = prng(1000);
    const N = 1000;
    for (let i = 0; i < N; i++) w.child.stdin.write(garbage(r, 1000 + i));
    await w.until(() => w.finals().length === 1 + N, `${N} error replies`);
    const answers = w.finals().slice(1);
    const ok = answers.filter(a => a.ok === true).length;
    const codes: Record<string, number> = {};
    for (const a of answers) {
      const c = a.ok === true ? 'ok' : String((a.error as { code?: string })?.code);
      codes[c] = (codes[c] ?? 0) + 1;
    }
    w.child.stdin.write(framed(packr.pack({ id: 99999, op: 'eval', code: '6 * 7' })));
    await w.until(() => w.finals().length === 2 + N, 'the valid request after the garbage');
    const last = w.finals()[1 + N];
    const rssAfter = rssMiB(w.child.pid!);
    printFigures('1,000 garbage worker frames', {
      frames: N, replies: answers.length, repliesByCode: codes, validAfterwards: last.value, workerRssMiB: `${rssBefore} -> ${rssAfter}`,
      exited: w.child.exitCode !== null,
    });
    assert.equal(answers.length, N, 'exactly one reply per garbage frame');
    assert.equal(ok, 0, 'no garbage frame succeeded');
    assert.equal(last.id, 99999);
    assert.equal(last.value, 42);
    assert.equal(w.child.exitCode, null, 'the worker is still running');
  } finally {
    w.child.kill('SIGKILL');
    await w.exited;
  }
});

test('a 2 GiB frame header: refused at once, protocol error, the worker exits', { timeout: 10 * 60_000 }, async () => {
  const w = startWorker();
  try {
    w.child.stdin.write(framed(packr.pack({ id: 1, op: 'eval', code: '1' })));
    await w.until(() => w.finals().length === 1, 'the first reply');
    const h = Buffer.alloc(4);
    h.writeUInt32BE(2 ** 31, 0);
    w.child.stdin.write(h);   // and no body: a worker that tried to skip it would wait forever
    const code = await w.exited;
    const reply = w.finals()[1];
    printFigures('2 GiB frame header', { exitCode: code, reply: (reply?.error as { code?: string })?.code, stderr: w.stderr().trim().split('\n').pop() });
    assert.equal((reply.error as { code: string }).code, 'protocol_error');
    assert.equal(code, 76);
    assert.match(w.stderr(), /over the maximum/);
  } finally {
    w.child.kill('SIGKILL');
  }
});
