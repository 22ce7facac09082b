// The control channel and binding options: complete/inspect/workerStats answer
// while a cell runs (and give up within their budget), refs() works mid-cell,
// bind's cwd reaches the worker (cwd and sys.path[0]), preload imports modules
// into warm workers. Real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPool, waitFor } from './pool-helpers';

test('control channel and bind options', async t => {
  const pool = await startPool({ size: 2, warm: 1, preload: ['decimal'] });

  await t.test('complete, inspect, workerStats and refs answer during a running cell', async () => {
    const ctx = await pool.bind('new');
    await ctx.exec('import os\nitems = [1, 2, 3]');
    let started!: () => void;
    const inCode = new Promise<void>(r => { started = r; });
    const cell = ctx.execute('import time\nprint("go", flush=True)\ntime.sleep(1.5)', { onStream: () => started() });
    await inCode;
    assert.equal(ctx.busy, true);
    const c = await ctx.complete('os.pa', 5, { budgetMs: 3000 });
    assert.ok(c.matches.some(m => m.endsWith('path')), `matches: ${c.matches.join(',')}`);
    assert.ok(c.cursorStart <= 5 && c.cursorEnd === 5);
    const i = await ctx.inspect('items', 2, { budgetMs: 3000 });
    assert.equal(i.found, true);
    assert.equal(i.typeName, 'list');
    assert.equal(i.len, 3);
    const s = await ctx.workerStats();
    assert.ok(s.rssBytes > 0);
    assert.ok(s.namespaceSize > 0);
    assert.ok((await ctx.refs()).some(r => r.name === 'items'));
    assert.equal(ctx.busy, true, 'all answered before the cell ended');
    assert.equal((await cell).status, 'ok');
    assert.deepEqual(await ctx.inspect('nope_not_defined', 3), { found: false });
    await ctx.unbind();
  });

  await t.test("bind's cwd becomes the worker's cwd and sys.path[0]", async () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'pyctx-cwd-')));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'nbhelper.py'), 'VALUE = 41\n');
    const ctx = await pool.bind('new', { cwd: dir });
    assert.equal(await ctx.eval('__import__("os").getcwd()'), dir);
    assert.equal(await ctx.eval('__import__("sys").path[0]'), dir);
    assert.equal(await ctx.eval('__import__("nbhelper").VALUE + 1'), 42);
    await ctx.unbind();
  });

  await t.test('preload imports modules into warm workers', async () => {
    const ctx = await pool.bind('new');
    assert.equal(await ctx.eval('"decimal" in __import__("sys").modules'), true);
    await ctx.unbind();
  });

  await t.test('stateless requests wait for a free worker (pendingRequests), or fail fast', async () => {
    const a = await pool.bind('new');
    const b = await pool.bind('new');
    // Both workers bound: a stateless call has nowhere to run until one is unbound.
    const waiting = pool.eval('6 * 7');
    await waitFor(() => pool.stats().pendingRequests === 1, 5000, 'queued stateless request');
    await assert.rejects(pool.eval('1', undefined, { affinity: 'strict_fail_fast' }), (e: { code?: string }) => e.code === 'worker_busy');
    await a.unbind();
    assert.equal(await waiting, 42);
    await b.unbind();
  });
});
