// nbformat side of the CLI without Python: reading (each bad-input error), the
// validator, the Jupyter-style writer, and the event -> output mapping (stream
// merging, clear_output, display_id updates across cells, PNG bytes -> base64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readNotebook, serializeNotebook, splitLines, validateNotebook, writeNotebook, type CodeCell, type Notebook } from '../../src/cli/nbformat';
import { NotebookOutputs } from '../../src/cli/outputs';
import { CliError } from '../../src/cli/errors';

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyctx-nbformat-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

function codeCell(source = 'x'): CodeCell {
  return { cell_type: 'code', id: 'a', metadata: {}, source, outputs: [], execution_count: null };
}

function readError(dir: string, name: string, content: string | null): CliError {
  const file = path.join(dir, name);
  if (content !== null) writeFileSync(file, content);
  try {
    readNotebook(file);
  } catch (e) {
    assert.ok(e instanceof CliError, `expected CliError, got ${e}`);
    return e;
  }
  assert.fail('readNotebook accepted bad input');
}

test('readNotebook: each kind of bad input has its own code and a one-line message', () => withTmp(dir => {
  const cases: Array<[string, string | null, string, RegExp]> = [
    ['missing.ipynb', null, 'file_not_found', /no such file/],
    ['garbage.ipynb', '{not json', 'not_json', /not JSON/],
    ['list.ipynb', '[1, 2]', 'not_a_notebook', /not a Jupyter notebook/],
    ['v3.ipynb', JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }), 'unsupported_nbformat', /nbformat 3 is not supported/],
    ['badcell.ipynb', JSON.stringify({ nbformat: 4, nbformat_minor: 4, metadata: {}, cells: [{ cell_type: 'nope', metadata: {}, source: '' }] }), 'not_a_notebook', /cells\[0\]\.cell_type/],
  ];
  for (const [name, content, code, msg] of cases) {
    const e = readError(dir, name, content);
    assert.equal(e.code, code, name);
    assert.match(e.message, msg, name);
    assert.equal(e.message.includes('\n'), false, `${name}: message is one line`);
    assert.equal(e.exitCode, 2, name);
  }
}));

test('validateNotebook (strict) refuses what the nbformat 4.5 schema refuses', () => {
  const good: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [codeCell()] };
  assert.equal(validateNotebook(good, { strict: true }), undefined);
  const bad = (mut: (nb: any) => void) => { const nb = structuredClone(good) as any; mut(nb); return validateNotebook(nb, { strict: true }); };
  assert.match(bad(nb => { delete nb.cells[0].id; }) ?? '', /\.id/);
  assert.match(bad(nb => { nb.cells.push({ ...nb.cells[0] }); }) ?? '', /duplicate id/);
  assert.match(bad(nb => { nb.cells[0].outputs = [{ output_type: 'stream', name: 'stdout', text: 'x', extra: 1 }]; }) ?? '', /unexpected property "extra"/);
  assert.match(bad(nb => { nb.cells[0].outputs = [{ output_type: 'display_data', data: { 'text/plain': 3 }, metadata: {} }]; }) ?? '', /text\/plain/);
  assert.match(bad(nb => { nb.cells[0].outputs = [{ output_type: 'execute_result', data: {}, metadata: {}, execution_count: -1 }]; }) ?? '', /execution_count/);
  assert.match(bad(nb => { nb.cells[0].outputs = [{ output_type: 'error', ename: 'E', evalue: 'v', traceback: [1] }]; }) ?? '', /traceback/);
  assert.match(bad(nb => { nb.cells[0].transient = {}; }) ?? '', /unexpected property "transient"/);
  // JSON mime types may hold any JSON value.
  assert.equal(bad(nb => { nb.cells[0].outputs = [{ output_type: 'display_data', data: { 'application/json': { a: [1] } }, metadata: {} }]; }), undefined);
});

test('splitLines behaves like str.splitlines(True)', () => {
  assert.deepEqual(splitLines('a\nb\r\nc\rd'), ['a\n', 'b\r\n', 'c\r', 'd']);
  assert.deepEqual(splitLines('a\n'), ['a\n']);
  assert.deepEqual(splitLines(''), []);
});

test('serializeNotebook writes what nbformat writes (indent 1, sorted keys, split lines)', () => {
  const nb: Notebook = {
    nbformat: 4, nbformat_minor: 5, metadata: { z: 1, a: 2 },
    cells: [{ ...codeCell('print(1)\nx'), outputs: [
      { output_type: 'stream', name: 'stdout', text: 'one\ntwo\n' },
      { output_type: 'display_data', data: { 'text/plain': 'a\nb', 'image/png': 'iVBO', 'image/svg+xml': '<svg>\n</svg>' }, metadata: {} },
    ] }],
  };
  const text = serializeNotebook(nb);
  assert.ok(text.endsWith('}\n'));
  const back = JSON.parse(text);
  assert.deepEqual(Object.keys(back), ['cells', 'metadata', 'nbformat', 'nbformat_minor']);
  assert.deepEqual(Object.keys(back.metadata), ['a', 'z']);
  assert.deepEqual(back.cells[0].source, ['print(1)\n', 'x']);
  assert.deepEqual(back.cells[0].outputs[0].text, ['one\n', 'two\n']);
  assert.deepEqual(back.cells[0].outputs[1].data['text/plain'], ['a\n', 'b']);
  assert.equal(back.cells[0].outputs[1].data['image/png'], 'iVBO', 'base64 is never split');
  assert.deepEqual(back.cells[0].outputs[1].data['image/svg+xml'], ['<svg>\n', '</svg>']);
  assert.match(text, /^{\n "cells": \[\n  {\n   "cell_type": "code",/);
});

test('writeNotebook refuses to write an invalid notebook and leaves no file', () => withTmp(dir => {
  const file = path.join(dir, 'out.ipynb');
  const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ ...codeCell(), outputs: [{ output_type: 'bogus' }] }] } as unknown as Notebook;
  assert.throws(() => writeNotebook(file, nb), (e: unknown) => e instanceof CliError && e.code === 'invalid_output');
  assert.deepEqual(readdirSync(dir), []);
  writeNotebook(file, { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [codeCell()] });
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).cells[0].id, 'a');
}));

test('jupyter nbformat.validate accepts what writeNotebook writes', (t) => withTmp(dir => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import nbformat'], { stdio: 'ignore' });
  if (probe.status !== 0) { t.skip('/usr/bin/python3 has no nbformat module'); return; }
  const nbs = new NotebookOutputs();
  const cell = codeCell('x');
  const out = nbs.beginCell(0, cell);
  out.stream('stdout', 'hi\n');
  out.display({ 'image/png': new Uint8Array([137, 80, 78, 71]), 'text/plain': 'img' }, {}, { display_id: 'd' });
  out.result({ 'text/plain': '1', 'application/json': { a: 1 } }, {}, 1);
  out.error('ValueError', 'bad', ['Traceback...', 'ValueError: bad']);
  out.setExecutionCount(1);
  const file = path.join(dir, 'v.ipynb');
  writeNotebook(file, { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } }, cells: [cell] });
  const r = spawnSync('/usr/bin/python3', ['-c', 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print("valid")', file], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'valid', r.stderr);
}));

test('outputs: consecutive streams of one name merge; a different name or a display splits them', () => {
  const cell = codeCell();
  const out = new NotebookOutputs().beginCell(0, cell);
  out.stream('stdout', 'a\n');
  out.stream('stdout', 'b\n');
  out.stream('stderr', 'e\n');
  out.stream('stdout', 'c');
  out.stream('stdout', '');
  out.display({ 'text/plain': 'D' }, {});
  out.stream('stdout', 'd\n');
  assert.deepEqual(cell.outputs, [
    { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
    { output_type: 'stream', name: 'stderr', text: 'e\n' },
    { output_type: 'stream', name: 'stdout', text: 'c' },
    { output_type: 'display_data', data: { 'text/plain': 'D' }, metadata: {} },
    { output_type: 'stream', name: 'stdout', text: 'd\n' },
  ]);
});

test('outputs: PNG bytes become base64 that decodes to the same bytes; results carry the count', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 128, 7]);
  const cell = codeCell();
  const out = new NotebookOutputs().beginCell(0, cell);
  out.result({ 'image/png': new Uint8Array(png), 'text/plain': 'P' }, { 'image/png': { width: 3 } }, 7);
  const o = cell.outputs[0];
  assert.equal(o.output_type, 'execute_result');
  if (o.output_type !== 'execute_result') return;
  assert.equal(o.execution_count, 7);
  assert.deepEqual(Buffer.from(o.data['image/png'] as string, 'base64'), png);
  assert.deepEqual(o.metadata, { 'image/png': { width: 3 } });
});

test('outputs: clear_output now empties, clear_output(wait) empties just before the next output', () => {
  const cell = codeCell();
  const out = new NotebookOutputs().beginCell(0, cell);
  out.stream('stdout', 'gone\n');
  out.clear(false);
  assert.deepEqual(cell.outputs, []);
  out.stream('stdout', 'old\n');
  out.clear(true);
  assert.equal(cell.outputs.length, 1, 'wait=True keeps outputs until the next one');
  out.stream('stdout', 'new\n');
  assert.deepEqual(cell.outputs, [{ output_type: 'stream', name: 'stdout', text: 'new\n' }]);
});

test('outputs: update_display rewrites every output with the display_id, across cells; cleared ones are forgotten', () => {
  const nbs = new NotebookOutputs();
  const c0 = codeCell(); const c1 = codeCell(); const c2 = codeCell();
  const o0 = nbs.beginCell(0, c0);
  o0.display({ 'text/plain': 'v1' }, {}, { display_id: 'x' });
  o0.display({ 'text/plain': 'other' }, {}, { display_id: 'y' });
  const o1 = nbs.beginCell(1, c1);
  o1.display({ 'text/plain': 'v1 again' }, {}, { display_id: 'x' });
  assert.deepEqual(c0.outputs[0], { output_type: 'display_data', data: { 'text/plain': 'v1 again' }, metadata: {} },
    'showing an id again refreshes the earlier copy');
  const o2 = nbs.beginCell(2, c2);
  o2.updateDisplay({ 'text/plain': 'v2' }, { m: 1 }, { display_id: 'x' });
  assert.deepEqual(c2.outputs, [], 'update_display adds no output of its own');
  for (const c of [c0, c1]) assert.deepEqual(c.outputs[0], { output_type: 'display_data', data: { 'text/plain': 'v2' }, metadata: { m: 1 } });
  assert.deepEqual(c0.outputs[1], { output_type: 'display_data', data: { 'text/plain': 'other' }, metadata: {} });
  o2.updateDisplay({ 'text/plain': 'nobody' }, {}, { display_id: 'unknown' });
  // Re-running cell 1 forgets its display: a later update only reaches cell 0.
  const again = nbs.beginCell(1, c1);
  again.stream('stdout', 'rerun\n');
  o2.updateDisplay({ 'text/plain': 'v3' }, {}, { display_id: 'x' });
  assert.deepEqual(c0.outputs[0].output_type === 'display_data' && c0.outputs[0].data, { 'text/plain': 'v3' });
  assert.deepEqual(c1.outputs, [{ output_type: 'stream', name: 'stdout', text: 'rerun\n' }]);
});

test('the writer drops what nbformat strips as transient: a stale signature, orig_nbformat, cell "trusted"', () => {
  const nb: Notebook = {
    nbformat: 4, nbformat_minor: 5, metadata: { signature: 'sha256:0f', orig_nbformat: 3, orig_nbformat_minor: 0, keep: 1 },
    cells: [{ ...codeCell(), metadata: { trusted: true, tags: ['x'] } }],
  };
  const written = JSON.parse(serializeNotebook(nb));
  assert.deepEqual(written.metadata, { keep: 1 });
  assert.deepEqual(written.cells[0].metadata, { tags: ['x'] });
  assert.equal((nb.cells[0].metadata as any).trusted, true, 'the notebook in memory is left as it was');
});
