// `pyctx run` and the environment a notebook recorded in VS Code (metadata.pyctx,
// src/cli/environment.ts): the recorded venv runs the notebook (its sys.prefix),
// --python overrides it, notebooks of different environments in one run each get
// their own interpreter, and a recorded interpreter that is gone is bad input
// (exit 3, a plain message) before any Python starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTmp, runCli, writeNb } from './cli-helpers';

const SYSTEM = '/usr/bin/python3';
let tmp: ReturnType<typeof makeTmp>;
let venvPython: string;

function recording(file: string, python: string): string {
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  nb.metadata = { kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' }, pyctx: { python, environment: 'venv' } };
  writeFileSync(file, JSON.stringify(nb));
  return file;
}
const stdoutOf = (file: string): string =>
  JSON.parse(readFileSync(file, 'utf8')).cells[0].outputs.map((o: { text?: string | string[] }) => [o.text ?? ''].flat().join('')).join('');

before(() => {
  tmp = makeTmp();
  tmp.dir = realpathSync(tmp.dir);
  execFileSync('python3', ['-m', 'venv', '--without-pip', path.join(tmp.dir, 'venv')]);
  venvPython = path.join(tmp.dir, 'venv', 'bin', 'python');
});
after(() => tmp.cleanup());

test('the recorded environment runs the notebook; --python overrides it; mixed notebooks get their own', async () => {
  const a = recording(writeNb(tmp.dir, 'a.ipynb', ['import sys; print(sys.prefix)']), venvPython);
  const b = writeNb(tmp.dir, 'b.ipynb', ['import sys; print(sys.prefix)']);
  const r = await runCli(['run', a, b], { timeoutMs: 120_000, env: { PYCTX_PYTHON: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(stdoutOf(path.join(tmp.dir, 'a.executed.ipynb')).trim(), path.join(tmp.dir, 'venv'));
  assert.notEqual(stdoutOf(path.join(tmp.dir, 'b.executed.ipynb')).trim(), path.join(tmp.dir, 'venv'));

  const o = await runCli(['run', a, '--python', SYSTEM, '-o', path.join(tmp.dir, 'sys.ipynb')], { timeoutMs: 120_000 });
  assert.equal(o.code, 0, o.stderr);
  assert.equal(stdoutOf(path.join(tmp.dir, 'sys.ipynb')).trim(), '/usr');
});

test('a recorded interpreter that is gone: exit 3 and a message that says what to do', async () => {
  const gone = path.join(tmp.dir, 'gone', 'bin', 'python');
  const c = recording(writeNb(tmp.dir, 'c.ipynb', ['print(1)']), gone);
  const r = await runCli(['run', c], { timeoutMs: 60_000, env: { PYCTX_PYTHON: '' } });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /records the Python environment .*gone\/bin\/python, which no longer exists; recreate it, or pass --python/);
});
