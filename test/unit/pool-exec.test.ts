// Cells and plain calls on a bound context: stream capture (print, os.write,
// subprocesses, in order), rich display events, input(), execute results and
// errors, SystemExit, the frame size limit, and stateless calls. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DisplayEvent, StreamEvent } from '../../src/pool/index';
import { alive, rejectsWith, startPool, waitFor } from './pool-helpers';

// User code that writes raw bytes onto the worker's protocol fd (found through gc,
// no mock): the pool must treat what arrives as a protocol break.
const WRITE_RAW = (bytes: string): string => [
  'import gc, os',
  "w = next(o for o in gc.get_objects() if type(o).__name__ == 'Worker' and type(o).__module__ == 'pyctx_worker.worker')",
  `os.write(w.out_fd, ${bytes})`,
  'import time; time.sleep(5)',
].join('\n');

test('exec, eval, streams and display', async t => {
  const pool = await startPool({ size: 2, warm: 1, maxFrameBytes: 64 * 1024 });
  const ctx = await pool.bind('new');
  t.after(() => ctx.unbind());

  await t.test('print, os.write(1) and subprocess output arrive in order', async () => {
    const streams: StreamEvent[] = [];
    const r = await ctx.execute([
      'import os, subprocess, sys',
      'print("one")',
      'sys.stdout.flush()',
      'os.write(1, b"two\\n")',
      'subprocess.run(["echo", "three"])',
      'print("four")',
      'print("err", file=sys.stderr)',
    ].join('\n'), { onStream: e => streams.push(e) });
    assert.equal(r.status, 'ok');
    const out = streams.filter(s => s.name === 'stdout').map(s => s.text).join('');
    assert.equal(out, 'one\ntwo\nthree\nfour\n');
    assert.equal(streams.filter(s => s.name === 'stderr').map(s => s.text).join(''), 'err\n');
  });

  await t.test('the last expression is an execute_result with an execution count', async () => {
    const r1 = await ctx.execute('21 * 2');
    assert.equal(r1.status, 'ok');
    assert.equal(r1.result!.data['text/plain'], '42');
    const r2 = await ctx.execute('x = 1');
    assert.equal(r2.executionCount, r1.executionCount + 1);
    assert.equal(r2.result, undefined);
    await ctx.execute('None', { storeHistory: false });
    const r4 = await ctx.execute('None');
    assert.equal(r4.executionCount, r2.executionCount + 1, 'a storeHistory:false cell is not counted');
  });

  await t.test('a Python error is a normal cell outcome', async () => {
    const r = await ctx.execute('1/0');
    assert.equal(r.status, 'error');
    assert.equal(r.error!.ename, 'ZeroDivisionError');
    assert.ok(r.error!.traceback.length > 0);
  });

  await t.test('sys.exit(3) in a cell is an error and the context survives', async () => {
    const pid = ctx.pid;
    const r = await ctx.execute('import sys; sys.exit(3)');
    assert.equal(r.status, 'error');
    assert.equal(r.error!.ename, 'SystemExit');
    const e = await rejectsWith(ctx.exec('raise SystemExit(4)'), 'python_error');
    assert.equal(e.ename, 'SystemExit');
    assert.equal(await ctx.eval('1+1'), 2);
    assert.equal(ctx.pid, pid);
  });

  await t.test('rich display, update_display and clear_output events', async () => {
    const displays: DisplayEvent[] = [];
    const clears: boolean[] = [];
    const r = await ctx.execute([
      'class H:',
      '    def _repr_html_(self): return "<b>hi</b>"',
      'h = display(H(), display_id="d1")',
      'update_display({"text/plain": "new"}, display_id="d1", raw=True)',
      'clear_output(wait=True)',
      'H()',
    ].join('\n'), { onDisplay: d => displays.push(d), onClearOutput: c => clears.push(c.wait) });
    assert.equal(r.status, 'ok');
    assert.equal(displays.length, 2);
    assert.equal(displays[0].data['text/html'], '<b>hi</b>');
    assert.equal(displays[0].update, false);
    assert.equal(displays[0].displayId, 'd1');
    assert.equal(displays[1].update, true);
    assert.equal(displays[1].displayId, 'd1');
    assert.deepEqual(clears, [true]);
    assert.equal(r.result!.data['text/html'], '<b>hi</b>');
  });

  await t.test('input() asks onInput; null cancels', async () => {
    const prompts: string[] = [];
    const r = await ctx.execute('name = input("who? ")\nname.upper()', {
      onInput: async req => { prompts.push(req.prompt); return 'ada'; },
    });
    assert.deepEqual(prompts, ['who? ']);
    assert.equal(r.result!.data['text/plain'], "'ADA'");
    const c = await ctx.execute('input("x")', { onInput: () => null });
    assert.equal(c.status, 'error');
    const none = await ctx.execute('input("x")');
    assert.equal(none.status, 'error', 'without onInput, input() is cancelled');
    assert.equal(await ctx.eval('2+2'), 4);
  });

  await t.test('a frame over the limit is refused cleanly; the worker is untouched', async () => {
    const pid = ctx.pid;
    await ctx.exec('keep = "still here"');
    await rejectsWith(ctx.eval('len(s)', { s: 'x'.repeat(100 * 1024) }), 'frame_too_large');
    await rejectsWith(ctx.call('len', 'x', ['y'.repeat(100 * 1024)]), 'frame_too_large');
    assert.equal(ctx.pid, pid);
    assert.equal(await ctx.eval('keep'), 'still here');
    // A result over the limit is refused by the worker and the context stays usable.
    await assert.rejects(ctx.eval('"z" * (200 * 1024)'));
    assert.equal(await ctx.eval('keep'), 'still here');
  });

  await t.test('an incoming frame over the limit breaks the protocol: worker removed and replaced', async () => {
    const other = await pool.bind('new');
    const pid = other.pid;
    const lost = new Promise(r => other.once('lost', r));
    await rejectsWith(other.exec(WRITE_RAW("b'\\x7f\\xff\\xff\\xff'")), 'protocol_error');
    assert.match(((await lost) as { message: string }).message, /protocol break/);
    await waitFor(() => !alive(pid), 5000, 'worker removed');
    await rejectsWith(other.eval('1'), 'session_worker_unavailable');
    await other.unbind();
    const fresh = await pool.bind('new');
    assert.equal(await fresh.eval('1+1'), 2);
    await fresh.unbind();
  });

  await t.test('a frame for an unknown request id breaks the protocol too', async () => {
    const other = await pool.bind('new');
    // A valid frame: length 1, body 0x80 (an empty msgpack map: no id).
    await rejectsWith(other.exec(WRITE_RAW("b'\\x00\\x00\\x00\\x01\\x80'")), 'protocol_error');
    await other.unbind();
  });

  await t.test('plain values cross the wire in both directions', async () => {
    const v = await ctx.eval('(a, b, c, d)', { a: [1, 'two', null], b: { k: true }, c: Buffer.from([0, 255]), d: 1.5 });
    assert.deepEqual(v, [[1, 'two', null], { k: true }, Buffer.from([0, 255]), 1.5]);
    assert.equal(await ctx.eval('2**40'), 2 ** 40);
  });
});
