// The server's pure parts, without processes: the output sink (coalescing, order,
// cap, binary data), UTF-16 <-> code point cursors, and initializationOptions
// parsing. The same code runs inside the real server in server.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { codePointsToUtf16, utf16ToCodePoints } from '../../src/server/cursor';
import { parseServerOptions } from '../../src/server/options';
import { jsonSafeBundle, OutputSink } from '../../src/server/outputs';
import type { OutputPayload } from '../../src/protocol/lsp';

function sink(maxBytes = 1 << 20, coalesceMs = 10_000) {
  const sent: OutputPayload[] = [];
  const s = new OutputSink({ executionId: 'e1', send: o => sent.push(o), coalesceMs, maxBytes });
  return { s, sent };
}

describe('OutputSink', () => {
  test('joins chunks of one stream, flushes on a stream switch and before displays, keeping order', () => {
    const { s, sent } = sink();
    s.stream('stdout', 'a');
    s.stream('stdout', 'b');
    s.stream('stderr', 'E');
    s.display('display', { 'text/plain': 'D' }, {});
    s.stream('stdout', 'c');
    s.flush();
    assert.deepEqual(sent.map(o => (o.kind === 'stream' ? `${o.name}:${o.text}` : o.kind)),
      ['stdout:ab', 'stderr:E', 'display', 'stdout:c']);
    assert.ok(sent.every(o => o.executionId === 'e1'));
  });

  test('the coalesce timer sends pending text without a flush call', async () => {
    const sent: OutputPayload[] = [];
    const got = new Promise<void>(resolve => {
      const s = new OutputSink({ executionId: 'e', send: o => { sent.push(o); resolve(); }, coalesceMs: 5, maxBytes: 100 });
      s.stream('stdout', 'x');
      s.stream('stdout', 'y');
    });
    await got;
    assert.deepEqual(sent, [{ executionId: 'e', kind: 'stream', name: 'stdout', text: 'xy' }]);
  });

  test('the cap keeps what fits (whole characters), sends one truncated note, then drops everything', () => {
    const { s, sent } = sink(10);
    s.stream('stdout', 'abcdefgh');      // 8 bytes
    s.stream('stdout', 'ééé');           // 6 bytes: only one é (2 bytes) fits
    s.stream('stdout', 'more');
    s.display('display', { 'text/plain': 'x' }, {});
    s.clearOutput(false);
    s.flush();
    assert.equal(s.truncated, true);
    assert.deepEqual(sent, [
      { executionId: 'e1', kind: 'stream', name: 'stdout', text: 'abcdefghé' },
      { executionId: 'e1', kind: 'truncated', limitBytes: 10 },
    ]);
  });

  test('a display larger than what is left of the cap is replaced by the note', () => {
    const { s, sent } = sink(100);
    s.display('display', { 'text/html': 'x'.repeat(200) }, {});
    assert.deepEqual(sent.map(o => o.kind), ['truncated']);
  });

  test('display updates keep their display id', () => {
    const { s, sent } = sink();
    s.display('display', { 'text/plain': '1' }, {}, 'd1');
    s.display('update_display', { 'text/plain': '2' }, {}, 'd1');
    assert.deepEqual(sent.map(o => (o.kind === 'display' || o.kind === 'update_display' ? [o.kind, o.displayId] : [])),
      [['display', 'd1'], ['update_display', 'd1']]);
  });

  test('binary mime data becomes base64, other values pass unchanged', () => {
    const png = new Uint8Array([137, 80, 78, 71, 0, 255]);
    const out = jsonSafeBundle({ 'image/png': png, 'text/plain': 'p', 'application/json': { a: 1 } });
    assert.equal(out['image/png'], Buffer.from(png).toString('base64'));
    assert.equal(out['text/plain'], 'p');
    assert.deepEqual(out['application/json'], { a: 1 });
  });
});

describe('cursor offsets', () => {
  test('UTF-16 offsets map to Python code points and back, also past astral characters', () => {
    const text = 'a😀b.c';
    assert.equal(utf16ToCodePoints(text, 4), 3);   // after "a😀b"
    assert.equal(codePointsToUtf16(text, 3), 4);
    assert.equal(utf16ToCodePoints('x.', 2), 2);
    assert.equal(codePointsToUtf16('x.', 2), 2);
  });
});

describe('initializationOptions', () => {
  test('valid settings pass, malformed ones fall back to defaults instead of failing the start', () => {
    assert.deepEqual(parseServerOptions({
      python: ' /usr/bin/python3 ', poolSize: 3, warm: 0, preload: ['numpy', 'bad name;', 7], affinity: 'hint',
      refTtlSeconds: null, maxRefsPerSession: 50, outputMaxBytes: 1024, streamCoalesceMs: 8,
    }), {
      python: '/usr/bin/python3', poolSize: 3, warm: 0, preload: ['numpy'], affinity: 'hint',
      refTtlSeconds: null, maxRefsPerSession: 50, outputMaxBytes: 1024, streamCoalesceMs: 8,
    });
    const bad = parseServerOptions({ poolSize: -1, warm: 1.5, affinity: 'any', outputMaxBytes: '4MB', refTtlSeconds: -3 });
    assert.equal(bad.poolSize, undefined);
    assert.equal(bad.warm, undefined);
    assert.equal(bad.affinity, undefined);
    assert.equal(bad.outputMaxBytes, undefined);
    assert.equal(bad.refTtlSeconds, undefined);
    assert.equal(bad.idleShutdownMinutes, undefined);
    assert.equal(parseServerOptions({ idleShutdownMinutes: 0.5 }).idleShutdownMinutes, 0.5);
    assert.equal(parseServerOptions({ idleShutdownMinutes: -1 }).idleShutdownMinutes, undefined);
    assert.deepEqual(parseServerOptions(null), parseServerOptions({}));
    // Memory limit: 0 (none) or >= 128 MiB; a smaller one would keep workers from starting.
    assert.equal(parseServerOptions({ memoryLimitMB: 512 }).memoryLimitMB, 512);
    assert.equal(parseServerOptions({ memoryLimitMB: 0 }).memoryLimitMB, 0);
    assert.equal(parseServerOptions({ memoryLimitMB: 64 }).memoryLimitMB, undefined);
    // pyctx.ipython: auto | off; anything else falls back to the default (auto).
    assert.equal(parseServerOptions({ ipython: 'off' }).ipython, 'off');
    assert.equal(parseServerOptions({ ipython: 'auto' }).ipython, 'auto');
    assert.equal(parseServerOptions({ ipython: 'yes' }).ipython, undefined);
    assert.equal(parseServerOptions({ memoryLimitMB: '1G' }).memoryLimitMB, undefined);
    // Launcher: a non-empty argv of non-empty strings, else local workers.
    assert.deepEqual(parseServerOptions({ launcher: ['srun', '--unbuffered', '-N1', '-n1'] }).launcher, ['srun', '--unbuffered', '-N1', '-n1']);
    assert.equal(parseServerOptions({ launcher: [] }).launcher, undefined);
    assert.equal(parseServerOptions({ launcher: 'srun -n1' }).launcher, undefined);
    assert.equal(parseServerOptions({ launcher: ['srun', 3] }).launcher, undefined);
  });
});
