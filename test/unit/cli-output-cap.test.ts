// `pyctx run --max-output-bytes`: the per-cell output cap. End to end (real CLI, real
// workers): a cell printing ~20 MB keeps exactly the default 4 MiB plus one note, runs
// to its end, and the notebook written is small; an endless print loop stays bounded
// until --timeout stops it; cells under the cap are unchanged; a clear_output resets
// the budget; displays count, the result is always kept; 0 = no cap; bad values are
// usage errors. In process: the cut never splits a character.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { makeTmp, readNb, runCli, text, writeNb } from './cli-helpers';
import { DEFAULT_MAX_OUTPUT_BYTES, NotebookOutputs, formatCap } from '../../src/cli/outputs';
import type { CodeCell } from '../../src/cli/nbformat';
import { utf8Prefix } from '../../src/server/outputs';
import { DEFAULT_OPTIONS } from '../../src/server/poolHost';

const tmp = makeTmp();
after(() => tmp.cleanup());

const NOTE = /^\[pyctx\] output truncated at (.+) \(--max-output-bytes (\d+)\); the rest of this cell's output was dropped\n$/;
const summary = (outs: any[]) => outs.map(o => o.output_type === 'stream' ? `${o.name}:${text(o.text).length}` : o.output_type);

test('a cell printing ~20 MB keeps 4 MiB plus one note, runs to its end, and the notebook stays small', async () => {
  const nbFile = writeNb(tmp.dir, 'flood.ipynb', [
    'for i in range(20000):\n    print("x" * 999)\nfinished = i',
    'print("after", finished)',
  ]);
  const out = path.join(tmp.dir, 'flood.out.ipynb');
  const r = await runCli(['run', nbFile, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const [flood, after] = readNb(out).cells;
  assert.deepEqual(summary(flood.outputs!), [`stdout:${DEFAULT_MAX_OUTPUT_BYTES}`, 'stderr:' + text(flood.outputs![1].text).length]);
  assert.equal(text(flood.outputs![0].text), 'x'.repeat(999).concat('\n').repeat(20000).slice(0, DEFAULT_MAX_OUTPUT_BYTES));
  const m = NOTE.exec(text(flood.outputs![1].text));
  assert.ok(m, text(flood.outputs![1].text));
  assert.deepEqual([m[1], Number(m[2])], ['4 MiB', 4 * 1024 * 1024]);
  assert.deepEqual(after.outputs, [{ output_type: 'stream', name: 'stdout', text: ['after 19999\n'] }], 'the cell ran to its end');
  assert.ok(statSync(out).size < DEFAULT_MAX_OUTPUT_BYTES + 200_000, `notebook is ${statSync(out).size} bytes`);
});

test('an endless print loop stays bounded until --timeout stops it: 4 MiB, the note, then the TimeoutError', async () => {
  const nbFile = writeNb(tmp.dir, 'endless.ipynb', ['while True:\n    print("x" * 1000)', 'print("not reached")']);
  const out = path.join(tmp.dir, 'endless.out.ipynb');
  const r = await runCli(['run', nbFile, '-o', out, '--timeout', '2']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cell 1 timed out after 2 s/);
  const [loop, next] = readNb(out).cells;
  assert.deepEqual(summary(loop.outputs!).slice(0, 1), [`stdout:${DEFAULT_MAX_OUTPUT_BYTES}`]);
  assert.match(text(loop.outputs![1].text), NOTE);
  assert.deepEqual(loop.outputs!.slice(2).map(o => o.ename), ['TimeoutError']);
  assert.deepEqual(next.outputs, []);
  assert.ok(statSync(out).size < DEFAULT_MAX_OUTPUT_BYTES + 200_000, `notebook is ${statSync(out).size} bytes`);
});

test('--max-output-bytes N: under the cap unchanged; over it cut at a character; clear resets; displays count, results stay', async () => {
  const cells = [
    'print("hello")\nimport sys; print("warn", file=sys.stderr)',
    'print("é" * 600)',                                                  // 1201 bytes: cut after 500 é
    'print("a" * 800)\nclear_output()\nprint("b" * 800)',                 // clear_output is a worker builtin
    'import sys\nsys.stderr.write("e" * 700)\nsys.stderr.write("f" * 700)\nn = sys.stderr.write("dropped")',
    'class D:\n    def __repr__(self): return "d" * 600\nprint("o" * 599)\ndisplay(D())\nprint("dropped")\n42',
  ];
  const nbFile = writeNb(tmp.dir, 'cap.ipynb', cells);
  const out = path.join(tmp.dir, 'cap.out.ipynb');
  const r = await runCli(['run', nbFile, '-o', out, '--max-output-bytes', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const [small, accents, cleared, stderrCut, display] = readNb(out).cells.map(c => c.outputs!);
  const note = (o: any) => { assert.equal(o.name, 'stderr'); return text(o.text); };

  assert.deepEqual(small, [
    { output_type: 'stream', name: 'stdout', text: ['hello\n'] },
    { output_type: 'stream', name: 'stderr', text: ['warn\n'] },
  ]);

  assert.equal(text(accents[0].text), 'é'.repeat(500));
  assert.match(note(accents[1]), NOTE);
  assert.match(note(accents[1]), /at 1000 bytes \(--max-output-bytes 1000\)/);
  assert.equal(accents.length, 2);

  assert.deepEqual(cleared, [{ output_type: 'stream', name: 'stdout', text: ['b'.repeat(800) + '\n'] }]);

  // A stderr line cut mid-way: the note starts a line of its own.
  assert.deepEqual(summary(stderrCut), ['stderr:1000', 'stderr:' + note(stderrCut[1]).length]);
  assert.equal(text(stderrCut[0].text), 'e'.repeat(700) + 'f'.repeat(300));
  assert.match(note(stderrCut[1]).slice(1), NOTE);
  assert.equal(note(stderrCut[1])[0], '\n');

  // 600 B stdout + a 600 B display: the display is dropped whole; the result is the cell's outcome and stays.
  assert.equal(display.length, 3, JSON.stringify(summary(display)));
  assert.equal(text(display[0].text), 'o'.repeat(599) + '\n');
  assert.match(note(display[1]), NOTE);
  assert.equal(display[2].output_type, 'execute_result');
  assert.equal(text(display[2].data['text/plain']), '42');
});

test('--max-output-bytes 0 turns the cap off', async () => {
  const nbFile = writeNb(tmp.dir, 'nocap.ipynb', ['print("y" * (5 * 1024 * 1024))']);
  const out = path.join(tmp.dir, 'nocap.out.ipynb');
  const r = await runCli(['run', nbFile, '-o', out, '--max-output-bytes', '0']);
  assert.equal(r.code, 0, r.stderr);
  const [cell] = readNb(out).cells;
  assert.deepEqual(summary(cell.outputs!), [`stdout:${5 * 1024 * 1024 + 1}`]);
});

test('bad --max-output-bytes values are usage errors (exit 2) before Python starts', async () => {
  const nbFile = writeNb(tmp.dir, 'unused.ipynb', ['print(1)']);
  for (const bad of ['-1', '4M', '1.5', 'lots', '1e6']) {
    const r = await runCli(['run', nbFile, `--max-output-bytes=${bad}`]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.equal(r.stderr, `pyctx: --max-output-bytes needs a whole number of bytes (0 = no limit), got "${bad}"\n`);
  }
});

test('in process: the cut keeps whole characters (4-byte emoji), later text is dropped, the note is single', () => {
  assert.equal(utf8Prefix('ab😀c', 5), 'ab', 'a split emoji is dropped, not mangled');
  assert.equal(utf8Prefix('ab😀c', 6), 'ab😀');
  assert.equal(utf8Prefix('abc', 0), '');
  const cell: CodeCell = { cell_type: 'code', metadata: {}, source: '', outputs: [], execution_count: null };
  const out = new NotebookOutputs(10).beginCell(0, cell);
  out.stream('stdout', '12345678😀😀');
  for (let i = 0; i < 1000; i++) out.stream('stdout', 'more text that must not be kept\n');
  out.stream('stderr', 'also dropped\n');
  assert.equal(out.truncated, true);
  assert.deepEqual(cell.outputs.map(o => [o.output_type, (o as { name?: string }).name, text((o as { text?: string }).text)]), [
    ['stream', 'stdout', '12345678'],
    ['stream', 'stderr', '[pyctx] output truncated at 10 bytes (--max-output-bytes 10); the rest of this cell\'s output was dropped\n'],
  ]);
});

test('the default cap is the server\'s default, and reads as the note shows it', () => {
  assert.equal(DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_OPTIONS.outputMaxBytes);
  assert.deepEqual([formatCap(4 * 1024 * 1024), formatCap(1536), formatCap(1000), formatCap(3 * 2 ** 30)], ['4 MiB', '1.5 KiB', '1000 bytes', '3 GiB']);
});
