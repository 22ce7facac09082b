// `pyctx run` end to end: the CLI as a real process, real Python workers. Checks the
// written nbformat outputs (merged streams, execute_result counts, PNG bytes exact
// through base64, errors with tracebacks), --allow-errors vs stop-at-first-error,
// -o / --inplace / the default output name, -j 2 with isolated contexts, and that the
// progress line appears only when asked for (stderr is not a terminal here).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, lines, makeTmp, readNb, runCli, text, writeNb } from './cli-helpers';

const tmp = makeTmp();
after(() => tmp.cleanup());

function fixture(name: string): string {
  const dst = path.join(tmp.dir, name);
  copyFileSync(path.join(FIXTURES, name), dst);
  return dst;
}

test('run basics.ipynb: streams merged, results with execution counts, state across cells, cwd = notebook folder', async () => {
  const input = fixture('basics.ipynb');
  const out = path.join(tmp.dir, 'out', 'basics.out.ipynb');
  const r = await runCli(['run', input, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'quiet when stderr is not a terminal');
  assert.match(r.stdout, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(14/14 cells`));
  const nb = readNb(out);
  const code = nb.cells.filter(c => c.cell_type === 'code');
  // cell 1: two prints -> one stdout output
  assert.deepEqual(code[0].outputs, [{ output_type: 'stream', name: 'stdout', text: ['hello\n', 'multi\n', 'line\n'] }]);
  assert.equal(code[0].execution_count, 1);
  assert.deepEqual(code[1].outputs, [], 'assignment has no output');
  assert.deepEqual(code[2].outputs, [{ output_type: 'execute_result', execution_count: 3, metadata: {}, data: { 'text/plain': ['42'] } }]);
  assert.equal(text(code[3].outputs![0].text), 'no newline ... continued\n');
  assert.deepEqual(code[4].outputs!.map(o => [o.name, text(o.text)]), [['stdout', 'via write\n'], ['stderr', 'to stderr\n']]);
  assert.equal(code[5].execution_count, null, 'blank cells are skipped like Jupyter');
  assert.deepEqual(code[5].outputs, []);
  const cwdCell = code.find(c => text(c.source).includes('getcwd'))!;
  assert.equal(text(cwdCell.outputs![0].data['text/plain']), `'${path.basename(tmp.dir)}'`);
  assert.equal(nb.metadata.language_info.name, 'python');
  assert.match(nb.metadata.language_info.version, /^3\.\d+/);
});

test('PNG from a cell round-trips byte-exact through base64; display_data and execute_result both mapped', async () => {
  const { dir, cleanup } = makeTmp();
  try {
    const png = [
      'import struct, zlib',
      'raw = b"".join(b"\\x00" + bytes(range(y, y + 9)) for y in range(5))',
      'chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))',
      'data = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 5, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")',
      'open("expected.png", "wb").write(data)',
      'class P:',
      '    def _repr_png_(self): return data',
      '    def __repr__(self): return "P()"',
      'display(P())',
      'P()',
    ].join('\n');
    const nbFile = writeNb(dir, 'png.ipynb', [png]);
    const r = await runCli(['run', nbFile, '-o', path.join(dir, 'png.out.ipynb')]);
    assert.equal(r.code, 0, r.stderr);
    const expected = readFileSync(path.join(dir, 'expected.png'));
    const [cell] = readNb(path.join(dir, 'png.out.ipynb')).cells;
    assert.deepEqual(cell.outputs!.map(o => o.output_type), ['display_data', 'execute_result']);
    for (const o of cell.outputs!) {
      assert.equal(typeof o.data['image/png'], 'string', 'base64 stays one string on disk');
      assert.deepEqual(Buffer.from(o.data['image/png'], 'base64'), expected);
      assert.equal(text(o.data['text/plain']), 'P()');
    }
  } finally { cleanup(); }
});

test('first error stops the run (exit 1, later cells untouched); --allow-errors runs everything (exit 0)', async () => {
  const input = fixture('errors.ipynb');
  const stop = path.join(tmp.dir, 'errors.stop.ipynb');
  const r1 = await runCli(['run', input, '-o', stop]);
  assert.equal(r1.code, 1);
  assert.deepEqual(lines(r1.stderr), [`pyctx: ${input}: cell 2 raised ValueError: bad value`]);
  assert.match(r1.stdout, /wrote .*errors\.stop\.ipynb \(2\/5 cells/);
  const c1 = readNb(stop).cells;
  assert.equal(text(c1[1].outputs![0].text), 'about to fail\n');
  const err = c1[1].outputs![1];
  assert.equal(err.output_type, 'error');
  assert.equal(err.ename, 'ValueError');
  assert.equal(err.evalue, 'bad value');
  assert.ok(err.traceback.length > 0 && err.traceback.some((l: string) => l.includes('ValueError')), 'traceback kept');
  assert.deepEqual([c1[2].outputs, c1[2].execution_count], [[], null], 'cells after the error did not run');

  const all = path.join(tmp.dir, 'errors.all.ipynb');
  const r2 = await runCli(['run', input, '-o', all, '--allow-errors']);
  assert.equal(r2.code, 0, r2.stderr);
  const c2 = readNb(all).cells;
  assert.deepEqual(c2.map(c => c.execution_count), [1, 2, 3, 4, 5]);
  assert.equal(text(c2[2].outputs![0].data['text/plain']), '2');
  assert.equal(c2[3].outputs![0].ename, 'KeyError');
  assert.ok(c2[3].outputs![0].traceback.join('\n').includes('inner'), 'traceback names the inner frame');
  assert.equal(text(c2[4].outputs![0].text), 'still alive\n');
});

test('--inplace rewrites the input; without -o the copy goes to NAME.executed.ipynb next to it', async () => {
  const { dir, cleanup } = makeTmp();
  try {
    const nbFile = writeNb(dir, 'note.ipynb', ['print(6 * 7)']);
    const r1 = await runCli(['run', nbFile]);
    assert.equal(r1.code, 0, r1.stderr);
    const copy = path.join(dir, 'note.executed.ipynb');
    assert.ok(existsSync(copy));
    assert.equal(text(readNb(copy).cells[0].outputs![0].text), '42\n');
    assert.deepEqual(readNb(nbFile).cells[0].outputs, [], 'input untouched without --inplace');
    const r2 = await runCli(['run', '--inplace', nbFile]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(text(readNb(nbFile).cells[0].outputs![0].text), '42\n');
    assert.equal(readNb(nbFile).cells[0].execution_count, 1);
  } finally { cleanup(); }
});

test('-j 2 runs two notebooks at once on one pool, each in its own context', async () => {
  const { dir, cleanup } = makeTmp();
  try {
    // Each notebook waits until the other has started: only possible if both run in parallel.
    const wait = (me: string, other: string) => [
      `import os, time, pathlib\npathlib.Path('${me}.started').touch()\nsecret_${me} = os.getpid()`,
      `deadline = time.time() + 30\nwhile not pathlib.Path('${other}.started').exists() and time.time() < deadline:\n    time.sleep(0.02)\npathlib.Path('${other}.started').exists()`,
      `print(os.getpid(), sorted(k for k in globals() if k.startswith('secret_')))`,
    ];
    const a = writeNb(dir, 'a.ipynb', wait('a', 'b'));
    const b = writeNb(dir, 'b.ipynb', wait('b', 'a'));
    const r = await runCli(['run', '-j', '2', a, b, '--progress']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(r.stdout).length, 2);
    const outA = readNb(path.join(dir, 'a.executed.ipynb')).cells;
    const outB = readNb(path.join(dir, 'b.executed.ipynb')).cells;
    assert.equal(text(outA[1].outputs![0].data['text/plain']), 'True', 'a saw b running');
    assert.equal(text(outB[1].outputs![0].data['text/plain']), 'True', 'b saw a running');
    const [pidA, varsA] = text(outA[2].outputs![0].text).trim().split(' ', 2);
    const [pidB, varsB] = text(outB[2].outputs![0].text).trim().split(' ', 2);
    assert.notEqual(pidA, pidB, 'two workers');
    assert.equal(varsA, "['secret_a']");
    assert.equal(varsB, "['secret_b']");
    // --progress: one line per code cell, 3 per notebook.
    const progress = lines(r.stderr);
    assert.equal(progress.length, 6, r.stderr);
    assert.ok(progress.every(l => /^\[\d\/3\] [ab]\.ipynb cell \d  ok\s+\d+\.\d\ds$/.test(l)), r.stderr);
  } finally { cleanup(); }
});

test('input() in a headless run raises StdinNotImplementedError, as under nbconvert, and the run goes on with --allow-errors', async () => {
  const nb = writeNb(tmp.dir, 'input.ipynb', ["name = input('name? ')", "print('after')"]);
  const out = path.join(tmp.dir, 'input.out.ipynb');
  const r = await runCli(['run', nb, '-o', out, '--allow-errors']);
  assert.equal(r.code, 0, r.stderr);
  const cells = readNb(out).cells;
  assert.equal(cells[0].outputs![0].ename, 'StdinNotImplementedError');
  assert.match(cells[0].outputs![0].evalue, /does not support input requests/);
  assert.equal(text(cells[1].outputs![0].text), 'after\n');
});
