// Behaviour (never timings) of the latency tooling: the end-to-end cell trace that
// PYCTX_TRACE=1 prints (every hop present, in path order, times not going back), for
// a cell and for the API's executeCode; and the no-op controller the latency bench
// measures VS Code's floor with (it ends each run at once with exactly one output).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TraceRecord } from '../../src/kernel/trace';
import { closeAllEditors, outputItems, waitFor } from './support/notebook';
import { openCells, pyctxApi, run, STDOUT, textOf } from './support/kernel';
import { NOOP_CONTROLLER_ID, registerNoopController, selectController, timeCell } from './support/latency';

// exec.start comes with the cell's first write (here its first output), see CellOutputWriter.
const CELL_HOPS = ['kernel.executeHandler', 'client.request', 'server.received', 'server.session',
  'pool.write', 'pool.reply', 'server.reply', 'client.output', 'exec.start', 'client.reply', 'exec.end', 'outputs.applied'];
const CODE_HOPS = ['api.executeCode', 'runner.start', 'client.request', 'server.received', 'server.session',
  'pool.write', 'pool.reply', 'server.reply', 'client.reply'];

function assertOrdered(r: TraceRecord, side: (hop: string) => boolean): void {
  const ts = r.hops.filter(h => side(h.hop));
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i].t >= ts[i - 1].t, `${ts[i].hop} is timed before ${ts[i - 1].hop}`);
}
const serverSide = (hop: string) => hop.startsWith('server.') || hop.startsWith('pool.');

suite('latency: cell trace and the no-op floor controller', function () {
  this.timeout(180_000);
  const saved = process.env.PYCTX_TRACE;
  teardown(async () => {
    if (saved === undefined) delete process.env.PYCTX_TRACE; else process.env.PYCTX_TRACE = saved;
    await closeAllEditors();
  });

  test('PYCTX_TRACE=1: a cell and an executeCode each give one trace with every hop, in path order', async () => {
    const api = await pyctxApi();
    const records: TraceRecord[] = [];
    const sub = api.debug.onTrace(r => records.push(r));
    try {
      process.env.PYCTX_TRACE = '1';
      const ed = await openCells('trace.ipynb', ['print("hi")\n1+1']);
      const items = await run(ed, 0);
      assert.equal(textOf(items, STDOUT), 'hi\n');
      assert.equal(textOf(items, 'text/plain'), '2');
      const cell = await waitFor('the cell trace', () => records.find(r => r.kind === 'cell'), 30_000);
      assert.equal(cell.notebookUri, ed.notebook.uri.toString());
      assert.equal(cell.cellIndex, 0);
      assert.deepEqual(cell.hops.map(h => h.hop), CELL_HOPS);
      assertOrdered(cell, h => !serverSide(h));
      assertOrdered(cell, serverSide);

      const kernel = (await api.getKernel(ed.notebook.uri))!;
      for await (const o of kernel.executeCode('1+1', new vscode.CancellationTokenSource().token)) void o;
      const code = await waitFor('the executeCode trace', () => records.find(r => r.kind === 'code'), 30_000);
      assert.deepEqual(code.hops.map(h => h.hop), CODE_HOPS);
      assertOrdered(code, h => !serverSide(h));

      // Off again: no trace.
      delete process.env.PYCTX_TRACE;
      const n = records.length;
      await run(ed, 0);
      await new Promise(r => setTimeout(r, 300));
      assert.equal(records.length, n, 'no trace without PYCTX_TRACE=1');
    } finally {
      sub.dispose();
    }
  });

  test('the no-op controller ends each execution at once with exactly one output', async () => {
    const noop = registerNoopController();
    try {
      const ed = await openCells('noop.ipynb', ['1+1', 'anything at all']);
      await selectController(ed, NOOP_CONTROLLER_ID);
      for (const i of [0, 1, 0]) {
        await timeCell(ed, i);
        const cell = ed.notebook.cellAt(i);
        assert.equal(cell.executionSummary?.success, true);
        assert.deepEqual(outputItems(cell), [{ mime: 'text/plain', text: '2' }]);
      }
    } finally {
      noop.dispose();
    }
  });
});
