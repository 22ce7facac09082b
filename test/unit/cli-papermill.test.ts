// What `pyctx run` owes users of nbclient and papermill: nbclient's cell tags
// (`skip-execution` not run and left as it was; a `raises-exception` cell's error does
// not stop the run), a timed-out cell keeps its execution_count, the kernelspec and
// language_info written as ipykernel reports them, and papermill's parameters
// (`-p NAME VALUE`, `-f params.json`) injected as a tagged cell and recorded in the
// metadata. The literal parser and translator are checked directly; the rest runs the
// CLI as a real process on real workers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lines, makeTmp, readNb, runCli, text } from './cli-helpers';
import { injectParameters, parameterSource, parseParamValue, pyString, toJson, toPython, extractParamFlags, readParamsFile } from '../../src/cli/params';
import { CliError } from '../../src/cli/errors';
import type { Notebook } from '../../src/cli/nbformat';

const tmp = makeTmp('pyctx-papermill-');
after(() => tmp.cleanup());

/** Writes a notebook of code cells given as [source, tags?, outputs?, execution_count?]. */
function nbWith(name: string, cells: Array<[string, string[]?, unknown[]?, number?]>): string {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, JSON.stringify({
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'other', display_name: 'Something else' }, language_info: { name: 'python', version: '2.7.0', stale: true } },
    cells: cells.map(([source, tags, outputs, count], i) => ({
      cell_type: 'code', id: `c${i}`, metadata: tags ? { tags } : {}, source, outputs: outputs ?? [], execution_count: count ?? null,
    })),
  }));
  return file;
}

test('-p values: Python literals where they parse, else strings; papermill-style source', () => {
  const cases: Array<[string, string, unknown]> = [
    ['3', '3', 3], ['-2.50', '-2.50', -2.5], ['1_000', '1_000', 1000], ['0x1f', '0x1f', 31], ['1e3', '1e3', 1000],
    ['True', 'True', true], ['None', 'None', null], ["'it''s'", '"\'it\'\'s\'"', "'it''s'"],
    ["'a\\tb'", '"a\\tb"', 'a\tb'], ['"q\\"x"', '"q\\"x"', 'q"x'],
    ['[1, (2,), {"k": None}]', '[1, (2,), {"k": None}]', [1, [2], { k: null }]], ['(1, 2)', '(1, 2)', [1, 2]], ['()', '()', []],
    ['hello world', '"hello world"', 'hello world'], ['007', '"007"', '007'], ['1j', '"1j"', '1j'], ['', '""', ''],
    ['true', '"true"', 'true'], ['[1, 2', '"[1, 2"', '[1, 2'], ['C:\\temp\\new', '"C:\\\\temp\\\\new"', 'C:\\temp\\new'],
    ['café €', '"caf\\xe9 \\u20ac"', 'café €'],
  ];
  for (const [raw, source, json] of cases) {
    const v = parseParamValue(raw);
    assert.equal(toPython(v), source, `source of ${raw}`);
    assert.deepEqual(toJson(v), json, `json of ${raw}`);
  }
  assert.equal(pyString('line\nnext'), '"line\\nnext"');
});

test('-p flags are taken out of argv; a bad name or a missing value is a usage error', () => {
  const { params, rest } = extractParamFlags(['run', 'a.ipynb', '-p', 'alpha', '0.5', '--parameters', 'label', 'x y', '-j', '2']);
  assert.deepEqual(rest, ['run', 'a.ipynb', '-j', '2']);
  assert.equal(parameterSource(params), '# Parameters\nalpha = 0.5\nlabel = "x y"\n');
  assert.throws(() => extractParamFlags(['-p', 'alpha']), (e: CliError) => e.exitCode === 2 && /needs a name and a value/.test(e.message));
  assert.throws(() => extractParamFlags(['-p', '2x', '1']), /"2x" is not a Python identifier/);
  assert.throws(() => extractParamFlags(['-p', 'class', '1']), /"class" is not a Python identifier/);
  const bad = path.join(tmp.dir, 'bad.json');
  writeFileSync(bad, '[1, 2]');
  assert.throws(() => readParamsFile(bad), /must hold a JSON object/);
  writeFileSync(bad, '{"a": ');
  assert.throws(() => readParamsFile(bad), /not JSON/);
  assert.throws(() => readParamsFile(path.join(tmp.dir, 'missing.json')), /no such file/);
});

test('the injected cell goes after the cell tagged parameters, else first; a second injection replaces the first', () => {
  const code = (source: string, tags?: string[]) => ({ cell_type: 'code' as const, id: source, metadata: tags ? { tags } : {}, source, outputs: [], execution_count: null });
  const nb: Notebook = { nbformat: 4, nbformat_minor: 5, metadata: { papermill: { engine: 'kept' } }, cells: [code('a'), code('p', ['parameters']), code('b')] };
  injectParameters(nb, [{ name: 'n', value: parseParamValue('1') }]);
  assert.deepEqual(nb.cells.map(c => c.id === 'a' || c.id === 'p' || c.id === 'b' ? c.id : 'INJ'), ['a', 'p', 'INJ', 'b']);
  assert.match(nb.cells[2].id!, /^[0-9a-f]{8}$/);
  const id = nb.cells[2].id;
  injectParameters(nb, [{ name: 'n', value: parseParamValue('2') }]);
  assert.equal(nb.cells.length, 4);
  assert.equal(nb.cells[2].id, id);
  assert.equal(text(nb.cells[2].source), '# Parameters\nn = 2\n');
  assert.deepEqual(nb.metadata.papermill, { engine: 'kept', parameters: { n: 2 } });
  const plain: Notebook = { nbformat: 4, nbformat_minor: 4, metadata: {}, cells: [{ ...code('x'), id: undefined }] };
  injectParameters(plain, [{ name: 'n', value: parseParamValue('1') }]);
  assert.deepEqual(plain.cells[0].metadata, { tags: ['injected-parameters'] });
  assert.equal(plain.cells[0].id, undefined, 'no cell ids before nbformat 4.5');
});

test('pyctx run -p / -f: parameters override the defaults, are recorded in metadata.papermill', async () => {
  const nb = nbWith('params.ipynb', [
    ['import math', []],
    ["alpha = 0.1\nlabel = 'default'\nsizes = []", ['parameters']],
    ['print(repr(alpha), repr(label), sizes, ratio, type(sizes).__name__)'],
  ]);
  const file = path.join(tmp.dir, 'params.json');
  writeFileSync(file, '{"ratio": 2.0, "label": "from file", "sizes": [1, 2]}');  // 2.0 stays a float
  const out = path.join(tmp.dir, 'params.out.ipynb');
  const r = await runCli(['run', nb, '-o', out, '-f', file, '-p', 'alpha', '0.5', '-p', 'label', 'two words', '-p', 'sizes', '(3, 4)']);
  assert.equal(r.code, 0, r.stderr);
  const done = readNb(out);
  assert.deepEqual(done.cells.map(c => (c as any).metadata.tags ?? []), [[], ['parameters'], ['injected-parameters'], []]);
  assert.equal(text(done.cells[2].source), '# Parameters\nratio = 2.0\nlabel = "two words"\nsizes = (3, 4)\nalpha = 0.5\n');
  assert.equal(done.cells[2].execution_count, 3, 'the injected cell runs like any other');
  assert.equal(text(done.cells[3].outputs![0].text), "0.5 'two words' (3, 4) 2.0 tuple\n");
  assert.deepEqual(done.metadata.papermill.parameters, { ratio: 2, label: 'two words', sizes: [3, 4], alpha: 0.5 });

  const noTag = nbWith('notag.ipynb', [['print(n * 2)']]);
  const r2 = await runCli(['run', noTag, '-p', 'n', '21']);
  assert.equal(r2.code, 0, r2.stderr);
  const done2 = readNb(path.join(tmp.dir, 'notag.executed.ipynb'));
  assert.equal(text(done2.cells[0].source), '# Parameters\nn = 21\n');
  assert.equal(text(done2.cells[1].outputs![0].text), '42\n');

  const r3 = await runCli(['run', noTag, '-p', 'n']);
  assert.equal(r3.code, 2);
  assert.deepEqual(lines(r3.stderr), ['pyctx: -p needs a name and a value (-p NAME VALUE)']);
});

test('skip-execution and raises-exception tags, a timed-out cell keeps its count, ipykernel metadata', async () => {
  const nb = nbWith('tags.ipynb', [
    ['print("one")'],
    ['raise SystemExit("must not run")', ['skip-execution'], [{ output_type: 'stream', name: 'stdout', text: 'kept\n' }], 7],
    ['1/0', ['raises-exception']],
    ['print("after the expected error")'],
    ['import time\nwhile True: time.sleep(0.05)'],
  ]);
  const out = path.join(tmp.dir, 'tags.out.ipynb');
  const r = await runCli(['run', nb, '-o', out, '--timeout', '1', '--python', '/usr/bin/python3']);
  assert.equal(r.code, 1, 'the timeout still fails the run');
  assert.deepEqual(lines(r.stderr), [`pyctx: ${nb}: cell 5 timed out after 1 s`]);
  const done = readNb(out);
  const c = done.cells;
  assert.deepEqual(c[1].outputs, [{ output_type: 'stream', name: 'stdout', text: ['kept\n'] }], 'skipped cell untouched');
  assert.equal(c[1].execution_count, 7);
  const errorOf = (cell: any) => cell.outputs.find((o: any) => o.output_type === 'error');  // IPython mode may add a stderr line first
  assert.equal(errorOf(c[2]).ename, 'ZeroDivisionError');
  assert.equal(text(c[3].outputs![0].text), 'after the expected error\n');
  assert.deepEqual(c.map(x => x.execution_count), [1, 7, 2, 3, 4], 'skipped cell takes no number; the timed-out one keeps its own');
  assert.equal(errorOf(c[4]).ename, 'TimeoutError');
  // What ipykernel itself reports on this interpreter (its kernel_info reply and kernel.json).
  const ipk = spawnSync('/usr/bin/python3', ['-c', 'import json; from ipykernel.ipkernel import IPythonKernel as K; '
    + 'from ipykernel.kernelspec import get_kernel_dict as g, KERNEL_NAME as n; d = g(); '
    + 'print(json.dumps([K.language_info, {"name": n, "display_name": d["display_name"], "language": d["language"]}]))'],
  { encoding: 'utf8', env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
  if (ipk.status === 0) {
    const [languageInfo, kernelspec] = JSON.parse(ipk.stdout);
    assert.deepEqual(done.metadata.language_info, languageInfo);
    assert.deepEqual(done.metadata.kernelspec, kernelspec);
  }
  assert.deepEqual(done.metadata.kernelspec, { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' });
  assert.deepEqual(Object.keys(done.metadata.language_info).sort(), ['codemirror_mode', 'file_extension', 'mimetype', 'name',
    'nbconvert_exporter', 'pygments_lexer', 'version'], 'replaced whole, as nbclient does');
  assert.match(done.metadata.language_info.version, /^3\.\d+\.\d+/);
});
