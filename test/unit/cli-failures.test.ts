// Every way `pyctx run` can fail gives one line on stderr (never a stack trace) and
// a documented exit status: bad files (2), bad usage (2), no Python (3), a cell that
// kills its worker (1, the cell named), a cell over --timeout (1), and Ctrl-C during
// a long cell (130, with what ran written). Real CLI processes, real workers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, collect, lines, makeTmp, readNb, runCli, spawnCli, text, writeNb } from './cli-helpers';

const tmp = makeTmp();
after(() => tmp.cleanup());

function assertOneLine(stderr: string, pattern: RegExp): void {
  const l = lines(stderr);
  assert.equal(l.length, 1, `exactly one line on stderr, got:\n${stderr}`);
  assert.match(l[0], /^pyctx: /);
  assert.match(l[0], pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
}

test('bad input files: one line, exit 2, nothing written', async () => {
  const dir = path.join(tmp.dir, 'bad');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'garbage.ipynb'), 'this is { not json');
  writeFileSync(path.join(dir, 'plain.ipynb'), JSON.stringify({ hello: 'world' }));
  writeFileSync(path.join(dir, 'v3.ipynb'), JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [] }));
  writeFileSync(path.join(dir, 'v5.ipynb'), JSON.stringify({ nbformat: 5, nbformat_minor: 0, metadata: {}, cells: [] }));
  const cases: Array<[string, RegExp]> = [
    ['missing.ipynb', /missing\.ipynb: no such file/],
    ['garbage.ipynb', /garbage\.ipynb: not JSON/],
    ['plain.ipynb', /plain\.ipynb: not a Jupyter notebook/],
    ['v3.ipynb', /v3\.ipynb: nbformat 3 is not supported/],
    ['v5.ipynb', /v5\.ipynb: nbformat 5 is not supported/],
  ];
  for (const [file, pattern] of cases) {
    const r = await runCli(['run', path.join(dir, file)]);
    assert.equal(r.code, 2, `${file}: ${r.stderr}`);
    assertOneLine(r.stderr, pattern);
    assert.equal(r.stdout, '');
  }
  // A bad file among good ones stops everything before any Python starts.
  const good = writeNb(dir, 'good.ipynb', ['print(1)']);
  const r = await runCli(['run', good, path.join(dir, 'garbage.ipynb')]);
  assert.equal(r.code, 2);
  assert.equal(existsSync(path.join(dir, 'good.executed.ipynb')), false);
});

test('bad usage: one line, exit 2', async () => {
  const nb = writeNb(tmp.dir, 'usage.ipynb', ['1']);
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['run'], /run needs at least one notebook/],
    [['run', nb, '--bogus'], /Unknown option '--bogus'/],
    [['run', nb, '-j', 'x'], /-j needs a positive number/],
    [['run', nb, '--timeout=0'], /--timeout needs a positive number/],
    [['run', nb, '-o', 'a.ipynb', '--inplace'], /exclude each other/],
    [['run', nb, nb, '-o', 'a.ipynb'], /-o takes one notebook/],
    [['exec'], /exec takes exactly one argument/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assertOneLine(r.stderr, pattern);
  }
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^pyctx — /);
  assert.match(help.stdout, /pyctx run NOTEBOOK\.ipynb/);
});

test('no usable Python: one line naming what was tried, exit 3', async () => {
  const nb = writeNb(tmp.dir, 'nopy.ipynb', ['1']);
  const r = await runCli(['run', nb, '--python', '/nonexistent/bin/python3']);
  assert.equal(r.code, 3, r.stderr);
  assertOneLine(r.stderr, /no usable Python interpreter: tried \/nonexistent\/bin\/python3/);
  const viaEnv = await runCli(['exec', '1'], { env: { PYCTX_PYTHON: '/nonexistent/bin/python9' } });
  assert.equal(viaEnv.code, 3);
  assertOneLine(viaEnv.stderr, /python9/);
});

test('a cell that kills its worker (os._exit) is reported by its position; what ran is written', async () => {
  const nb = writeNb(tmp.dir, 'crash.ipynb', ['x = 1\nprint("ok")', 'md:# then', 'import os\nos._exit(1)', 'print("never")']);
  const out = path.join(tmp.dir, 'crash.out.ipynb');
  const r = await runCli(['run', nb, '-o', out]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /crash\.ipynb: cell 3 killed its Python worker \(exit code 1\)/);
  const cells = readNb(out).cells;
  assert.equal(text(cells[0].outputs![0].text), 'ok\n');
  assert.equal(cells[2].outputs![0].ename, 'WorkerCrashed');
  assert.match(cells[2].outputs![0].evalue, /exit code 1/);
  assert.deepEqual(cells[3].outputs, []);
});

test('a cell error with a multi-line message is still reported on one line', async () => {
  const nb = writeNb(tmp.dir, 'multiline.ipynb', ['raise ValueError("first line\\nsecond line")']);
  const r = await runCli(['run', nb, '-o', path.join(tmp.dir, 'multiline.out.ipynb')]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /multiline\.ipynb: cell 1 raised ValueError: first line$/);
});

test('--timeout interrupts a cell that runs too long: exit 1, the cell holds a TimeoutError', async () => {
  const nb = writeNb(tmp.dir, 'slow.ipynb', ['print("start")', 'while True:\n    pass', 'print("never")']);
  const out = path.join(tmp.dir, 'slow.out.ipynb');
  const r = await runCli(['run', nb, '-o', out, '--timeout', '0.5']);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /slow\.ipynb: cell 2 timed out after 0\.5 s/);
  const cells = readNb(out).cells;
  // IPython mode first writes its own `KeyboardInterrupt` line to stderr, as under ipykernel.
  assert.equal(cells[1].outputs!.find(o => o.output_type === 'error')?.ename, 'TimeoutError');
  assert.deepEqual(cells[2].outputs, []);
});

test('Ctrl-C during a long cell interrupts it, writes what ran and exits 130', async () => {
  const dir = path.join(tmp.dir, 'sigint');
  mkdirSync(dir);
  const nb = writeNb(dir, 'long.ipynb', [
    'print("first")',
    'import time, pathlib\nprint("sleeping", flush=True)\npathlib.Path("running").touch()\ntime.sleep(60)',
    'print("never")',
  ]);
  const out = path.join(dir, 'long.out.ipynb');
  const child = spawnCli(['run', nb, '-o', out]);
  const done = collect(child);
  for (let i = 0; i < 600 && !existsSync(path.join(dir, 'running')); i++) await sleep(50);
  assert.ok(existsSync(path.join(dir, 'running')), 'cell 2 started');
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted during cell 2/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const cells = readNb(out).cells;
  assert.equal(text(cells[0].outputs![0].text), 'first\n');
  assert.equal(text(cells[1].outputs![0].text), 'sleeping\n');
  assert.equal(cells[1].outputs![1].ename, 'KeyboardInterrupt');
  assert.deepEqual(cells[2].outputs, []);
  assert.equal(cells[2].execution_count, null);
});

test('bin/pyctx.js says to run `npm run build` when dist/cli.js is missing', async () => {
  const fake = path.join(tmp.dir, 'pkg');
  mkdirSync(path.join(fake, 'bin'), { recursive: true });
  copyFileSync(path.join(ROOT, 'bin', 'pyctx.js'), path.join(fake, 'bin', 'pyctx.js'));
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [path.join(fake, 'bin', 'pyctx.js'), '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 3);
  assertOneLine(r.stderr, /dist\/cli\.js is missing; run `npm run build`/);
});
