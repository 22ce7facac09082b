// A worker that dies of a fatal signal still says what it had to say: the output it
// printed just before (still in its capture pipes, recovered through /proc on Linux)
// arrives on onStream before execute() rejects, followed by faulthandler's report cut
// to the user's frames; a crash after the cell ended arrives as late output. Also the
// report splitter on canned stderr texts. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LateOutputEvent, StreamEvent } from '../../src/pool/index';
import { splitFaultReport } from '../../src/pool/leftovers';
import { gate, rejectsWith, startPool, waitFor } from './pool-helpers';

const linux = process.platform === 'linux';
const textOf = (evs: { name: string; text: string }[], name: string): string =>
  evs.filter(e => e.name === name).map(e => e.text).join('');

test('a segfault right after printing: the text, then the fault report, then worker_crashed with SIGSEGV', { skip: !linux && 'pipes are recovered through /proc' }, async () => {
  const pool = await startPool({ size: 1, warm: 1 });
  try {
    const ctx = await pool.bind('new');
    const streams: StreamEvent[] = [];
    const err = await rejectsWith(ctx.execute([
      'import ctypes, os, sys',
      "print('to stdout')",
      "sys.stderr.write('to stderr\\n')",
      "os.write(1, b'raw write\\n')",
      'def crash():',
      '    ctypes.string_at(0)',
      'crash()',
    ].join('\n'), { onStream: e => streams.push(e) }), 'worker_crashed');
    assert.equal(err.signal, 'SIGSEGV');
    assert.match(err.message, /Fatal Python error: Segmentation fault$/);
    assert.equal(textOf(streams, 'stdout'), 'to stdout\nraw write\n');
    const stderr = textOf(streams, 'stderr');
    assert.ok(stderr.startsWith('to stderr\nFatal Python error: Segmentation fault\n'), stderr);
    // Most recent call first: ctypes, then the cell's function, then the cell itself.
    const frames = stderr.split('\n').filter(l => l.startsWith('  File '));
    assert.match(frames[0], /ctypes.*in string_at$/);
    // The cell's file name: <cell-1> (built-in layer) or <ipython-input-1-...> (IPython's shell).
    assert.match(frames[1], /"<(cell-1|ipython-input-1-\w+)>", line 6 in crash$/);
    assert.match(frames[2], /"<(cell-1|ipython-input-1-\w+)>", line 7 in <module>$/);
    assert.equal(frames.length, 3, `no frames of the worker itself: ${stderr}`);
  } finally {
    await pool.close();
  }
});

test('a thread that segfaults after its cell ended: its last output and the report arrive as late output', { skip: !linux && 'pipes are recovered through /proc' }, async () => {
  const pool = await startPool({ size: 1, warm: 1 });
  try {
    const ctx = await pool.bind('new');
    const late: LateOutputEvent[] = [];
    pool.on('lateOutput', e => late.push(e));
    const lost: unknown[] = [];
    pool.on('contextLost', e => lost.push(e));
    const g = gate();
    const r = await ctx.execute([
      'import ctypes, os, threading, time',
      'def _later():',
      `    while not os.path.exists(${JSON.stringify(g.file)}): time.sleep(0.01)`,
      "    print('last words')",
      '    ctypes.string_at(0)',
      'threading.Thread(target=_later, daemon=True).start()',
    ].join('\n'));
    assert.equal(r.status, 'ok');
    g.open();
    await waitFor(() => lost.length > 0, 10000, 'contextLost');
    await waitFor(() => late.some(e => e.kind === 'stream' && e.text.includes('Fatal Python error')), 5000, 'the fault report');
    const streams = late.filter(e => e.kind === 'stream') as (LateOutputEvent & { name: string; text: string })[];
    assert.equal(textOf(streams, 'stdout'), 'last words\n');
    assert.match(textOf(streams, 'stderr'), /"<(cell-1|ipython-input-1-\w+)>", line 5 in _later/);
  } finally {
    await pool.close();
  }
});

test('splitFaultReport: the header and the user frames, without the worker frames or the module list', () => {
  const stderr = [
    'something printed earlier',
    'Fatal Python error: Segmentation fault',
    '',
    'Current thread 0x00007f0000000000 (most recent call first):',
    '  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at',
    '  File "<cell-3>", line 2 in <module>',
    '  File "/opt/ext/python/pyctx_worker/execution.py", line 210 in run_code',
    '  File "/opt/ext/python/pyctx_worker/worker.py", line 300 in serve',
    '  File "<string>", line 1 in <module>',
    '',
    'Extension modules: numpy.core._multiarray_umath (total: 1)',
    '',
  ].join('\n');
  const { report, rest } = splitFaultReport(stderr);
  assert.equal(report, [
    'Fatal Python error: Segmentation fault',
    '',
    'Current thread 0x00007f0000000000 (most recent call first):',
    '  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at',
    '  File "<cell-3>", line 2 in <module>',
    '',
  ].join('\n'));
  assert.equal(rest, 'something printed earlier');
  assert.deepEqual(splitFaultReport('plain stderr\n'), { rest: 'plain stderr\n' });
  // Python 3.8: no module list; a crash in the worker's own code keeps only the header.
  const own = splitFaultReport('Fatal Python error: Aborted\n\nStack (most recent call first):\n  File "/x/pyctx_worker/capture.py", line 9 in _run\n');
  assert.equal(own.report, 'Fatal Python error: Aborted\n\nStack (most recent call first):\n');
  assert.equal(own.rest, '');
});
