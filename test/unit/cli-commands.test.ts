// `pyctx exec`, `pyctx eval` and `pyctx stats` as real processes on real workers:
// what reaches stdout/stderr, exit statuses, and the fields of `stats --json`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { lines, makeTmp, readNb, runCli, text, writeNb } from './cli-helpers';

test('exec: streams in order, rich output as text/plain, last value on stdout', async () => {
  const code = [
    'import sys',
    'print("out 1")',
    'print("err 1", file=sys.stderr)',
    'class H:',
    '    def _repr_html_(self): return "<b>h</b>"',
    '    def __repr__(self): return "H!"',
    'display(H())',
    '6 * 7',
  ].join('\n');
  const r = await runCli(['exec', code]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'out 1\nH!\n42\n');
  assert.equal(r.stderr, 'err 1\n');
});

test('exec -: reads the code from stdin', async () => {
  const r = await runCli(['exec', '-'], { input: 'x = 20\nprint(x + 1)\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '21\n');
});

test('exec: a Python error prints its traceback on stderr and exits 1', async () => {
  const r = await runCli(['exec', 'def f():\n    raise ValueError("nope")\nf()']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Traceback/);
  assert.equal(lines(r.stderr).at(-1), 'ValueError: nope');
});

test('--preload imports modules into the worker before the code runs', async () => {
  const probe = 'import sys; print("wave" in sys.modules)';  // a module IPython's shell does not import
  const without = await runCli(['exec', probe]);
  assert.equal(without.stdout, 'False\n', without.stderr);
  const withIt = await runCli(['exec', probe, '--preload', 'wave']);
  assert.equal(withIt.stdout, 'True\n', withIt.stderr);
});

test('--memory-limit: a runaway allocation is a MemoryError (exit 1); below 128 MiB is a usage error', { skip: process.platform !== 'linux' && 'RLIMIT_AS is enforced on Linux' }, async () => {
  const r = await runCli(['exec', '--memory-limit', '256', 'print("before")\nbig = bytearray(1 << 30)']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, 'before\n');
  assert.match(lines(r.stderr).at(-1)!, /^MemoryError(: )?$/);  // IPython's shell adds ': '
  const small = await runCli(['exec', '--memory-limit', '10', '1']);
  assert.equal(small.code, 2);
  assert.match(small.stderr, /--memory-limit needs at least 128/);
});

test('exec: runs in the current directory of the caller', async () => {
  const r = await runCli(['exec', 'import os; print(os.getcwd())'], { cwd: '/' });
  assert.equal(r.stdout, '/\n');
});

test('eval: plain data as JSON, other objects as their repr, errors exit 1', async () => {
  const r1 = await runCli(['eval', '{"a": [1, 2.5, None, True], "s": "x"}']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.deepEqual(JSON.parse(r1.stdout), { a: [1, 2.5, null, true], s: 'x' });
  const r2 = await runCli(['eval', 're.compile("ab+") if (re := __import__("re")) else 0']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(r2.stdout, "re.compile('ab+')\n");
  const r3 = await runCli(['eval', '1/0']);
  assert.equal(r3.code, 1);
  assert.equal(lines(r3.stderr).at(-1), 'ZeroDivisionError: division by zero');
  const r4 = await runCli(['eval', 'x = 1']);
  assert.equal(r4.code, 1, 'statements are not expressions');
  assert.match(r4.stderr, /SyntaxError/);
});

test('stats --json: pool figures, interpreter and codec', async () => {
  const r = await runCli(['stats', '--json', '--size', '3', '--warm', '2']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  for (const k of ['numWorkers', 'availableWorkers', 'checkedOut', 'pendingRequests']) assert.equal(typeof s[k], 'number', k);
  assert.equal(s.numWorkers, 2, 'the warm workers are started');
  assert.equal(s.availableWorkers, 3);
  assert.equal(s.checkedOut, 0);
  assert.equal(s.pendingRequests, 0);
  assert.match(s.python, /python/);
  assert.match(s.pythonVersion, /^3\.\d+\.\d+/);
  assert.ok(typeof s.codec === 'string' && s.codec.length > 0, 'codec named');
  assert.equal(s.workers.length, 2);
  for (const w of s.workers) {
    assert.ok(w.pid > 0);
    assert.equal(w.state, 'idle');
    assert.ok(w.rssBytes >= 0);
  }
});

test('stats (text): one labelled line per figure', async () => {
  const r = await runCli(['stats', '--python', '/usr/bin/python3']);
  assert.equal(r.code, 0, r.stderr);
  for (const k of ['numWorkers', 'availableWorkers', 'checkedOut', 'pendingRequests', 'interpreter', 'codec']) {
    assert.match(r.stdout, new RegExp(`^${k}\\s+\\S`, 'm'), k);
  }
  assert.match(r.stdout, /^interpreter\s+\/usr\/bin\/python3\.?\d* \(Python 3/m);
  assert.match(r.stdout, /^codec\s+msgpack/m, "Debian's python3 has the C msgpack");
  assert.match(r.stdout, /^cells\s+(IPython \d+\.\d+\S* shell|built-in layer)/m);
});

test('stats --ipython off: the built-in layer runs cells; a bad mode is a usage error', async () => {
  const r = await runCli(['stats', '--json', '--ipython', 'off']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.shell, 'builtin');
  assert.equal(info.ipythonVersion, null);
  const bad = await runCli(['stats', '--ipython', 'maybe']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--ipython takes auto or off, got "maybe"/);
});

test('bench: prints the table for a tiny notebook; without nbconvert it says the comparison was skipped', async () => {
  // No nbconvert keeps this test cheap; `npm run bench` measures the real ratio.
  const r = await runCli(['bench', '--runs', '1', '--cells', '3', '--python', '/usr/bin/python3'],
    { env: { PYCTX_NBCONVERT: '/nonexistent/jupyter-nbconvert' }, timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^notebook of 3 small cells, 1 runs each/m);
  assert.match(r.stdout, /^pyctx run\s+\d+\.\d{3} s\s+\d+\.\d{3} s\s+\d+\.\d{3} s$/m);
  assert.match(r.stdout, /^jupyter-nbconvert not installed: comparison skipped/m);
});

test('run: an unknown magic fails its cell (UsageError on stderr, as in Jupyter) and stops the run', async () => {
  const { dir, cleanup } = makeTmp();
  try {
    const nb = writeNb(dir, 'magic.ipynb', ['%no_such_magic', 'print("not reached")']);
    const out = path.join(dir, 'magic.out.ipynb');
    const r = await runCli(['run', nb, '-o', out]);
    assert.equal(r.code, 1, r.stderr);
    const cells = readNb(out).cells;
    const stderr = (cells[0].outputs ?? []).filter((o: { name?: string }) => o.name === 'stderr').map((o: { text: unknown }) => text(o.text)).join('');
    assert.match(stderr, /UsageError: Line magic function `%no_such_magic` not found\./);
    assert.deepEqual(cells[1].outputs ?? [], []);
  } finally { cleanup(); }
});
