// The pyctx kernel in a real VS Code: binding and isolation, state across cells,
// closing returns the worker, outputs (streams, rich mime bundles, errors,
// display updates), execution order, run-all stopping at an error, input()
// through the input box, magics and shell escapes, saving in Jupyter's format, and
// the exported Jupyter-shaped API (executeCode silent).
// Faults (interrupt, restart, kill -9, sys.exit) are in kernel-faults.test.ts.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { closeAllEditors, outputItems, waitFor } from './support/notebook';
import { ERROR, STDERR, STDOUT, closeNotebook, describe as describeNb, errorOf, openCells, pyctxApi, run, textOf, waitForStdout } from './support/kernel';

suite('kernel: execution', function () {
  this.timeout(90_000);
  teardown(closeAllEditors);

  test('state persists across cells; cwd and sys.path[0] are the notebook folder', async () => {
    const ed = await openCells('state.ipynb', ['x = 41', 'x + 1', 'import os, sys\nprint(os.getcwd()); print(sys.path[0])']);
    await run(ed, 0);
    const second = await run(ed, 1);
    assert.equal(textOf(second, 'text/plain'), '42', describeNb(ed.notebook));
    const third = await run(ed, 2);
    const folder = path.dirname(ed.notebook.uri.fsPath);
    assert.deepEqual(textOf(third, STDOUT).trim().split('\n'), [folder, folder], describeNb(ed.notebook));
  });

  test('two notebooks are bound to different workers with isolated variables', async () => {
    const api = await pyctxApi();
    const a = await openCells('a.ipynb', ['import os\nonly_in_a = 1\nos.getpid()']);
    const b = await openCells('b.ipynb', ['import os\nos.getpid()', 'only_in_a']);
    const pidA = Number(textOf(await run(a, 0), 'text/plain'));
    const pidB = Number(textOf(await run(b, 0), 'text/plain'));
    assert.ok(pidA > 0 && pidB > 0, `pids ${pidA} ${pidB}`);
    assert.notEqual(pidA, pidB, 'each notebook has its own worker');
    const err = errorOf(await run(b, 1));
    assert.equal(err?.name, 'NameError', describeNb(b.notebook));
    // The API agrees on which worker holds which notebook.
    assert.equal((await api.getKernel(a.notebook.uri))?.pid, pidA);
    const sessions = await api.pool.sessions();
    assert.equal(sessions.find(s => s.notebookUri === b.notebook.uri.toString())?.pid, pidB, JSON.stringify(sessions));
  });

  test('closing a notebook unbinds it and returns its worker', async () => {
    const api = await pyctxApi();
    const ed = await openCells('closing.ipynb', ['import os\nos.getpid()']);
    const pid = Number(textOf(await run(ed, 0), 'text/plain'));
    const uri = ed.notebook.uri.toString();
    const bound = await api.pool.stats();
    assert.ok(bound.workers.some(w => w.pid === pid && w.owner !== null), `worker ${pid} is checked out: ${JSON.stringify(bound.workers)}`);
    const closed = new Promise<void>(resolve => {
      const sub = vscode.workspace.onDidCloseNotebookDocument(nb => { if (nb.uri.toString() === uri) { sub.dispose(); resolve(); } });
    });
    await closeNotebook(ed.notebook);
    await closed;
    await waitFor('the session of the closed notebook to be gone', async () =>
      !(await api.pool.sessions()).some(s => s.notebookUri === uri), 15_000);
    const after = await api.pool.stats();
    assert.ok(!after.workers.some(w => w.pid === pid && w.owner !== null), `worker ${pid} was returned: ${JSON.stringify(after.workers)}`);
    assert.equal(await api.getKernel(ed.notebook.uri), undefined);
  });

  test('streams are appended live into one output per stream; order numbers count up', async () => {
    const ed = await openCells('streams.ipynb', [
      'import sys\nfor i in range(100):\n    print(i)\nprint("warn", file=sys.stderr)\nprint("more")',
      '1', '2',
    ]);
    const items = await run(ed, 0);
    const cell = ed.notebook.cellAt(0);
    // 101 prints become at most two stdout outputs (before/after the stderr line), not 101.
    const kinds = cell.outputs.map(o => o.items[0]?.mime);
    assert.ok(kinds.filter(k => k === STDOUT).length <= 2 && kinds.filter(k => k === STDERR).length === 1, describeNb(ed.notebook));
    assert.ok(cell.outputs.every(o => o.items.every(i => i.mime === o.items[0].mime)), 'one stream per output');
    assert.equal(textOf(items, STDOUT), Array.from({ length: 100 }, (_, i) => `${i}\n`).join('') + 'more\n');
    assert.equal(textOf(items, STDERR), 'warn\n');
    await run(ed, 1);
    await run(ed, 2);
    const orders = [0, 1, 2].map(i => ed.notebook.cellAt(i).executionSummary?.executionOrder);
    assert.deepEqual(orders, [1, 2, 3], describeNb(ed.notebook));
    const t = cell.executionSummary?.timing;
    assert.ok(t && t.startTime > 0 && t.endTime >= t.startTime, `timing ${JSON.stringify(t)}`);
  });

  test('output printed after the cell ended (a timer) is appended to that cell; its order, status and timing stay', async () => {
    const ed = await openCells('late.ipynb', [
      "import threading\nthreading.Timer(1.0, lambda: print('late', flush=True)).start()\nprint('early')",
      "print('next')",
    ]);
    await run(ed, 0);
    const cell = ed.notebook.cellAt(0);
    const summary = cell.executionSummary;
    assert.equal(summary?.success, true, describeNb(ed.notebook));
    const out = await waitForStdout(cell, 'late');
    assert.equal(out, 'early\nlate\n', describeNb(ed.notebook));
    // The append is a short execution of its own: once it ended the run's summary is back unchanged.
    await waitFor('the late append to end', () => cell.executionSummary?.success !== undefined);
    // Appended into the cell's stdout output, not a new one.
    assert.equal(cell.outputs.filter(o => o.items[0]?.mime === STDOUT).length, 1, describeNb(ed.notebook));
    assert.equal(cell.executionSummary?.executionOrder, summary?.executionOrder);
    assert.equal(cell.executionSummary?.success, true);
    assert.deepEqual(cell.executionSummary?.timing, summary?.timing);
    const next = await run(ed, 1);
    assert.equal(textOf(next, STDOUT), 'next\n', describeNb(ed.notebook));
    assert.equal(ed.notebook.cellAt(1).executionSummary?.executionOrder, (summary?.executionOrder ?? 0) + 1);
    assert.equal(textOf(outputItems(cell), STDOUT), 'early\nlate\n', 'the first cell keeps its outputs');
  });

  test('rich outputs: HTML, PNG, SVG, Markdown, JSON mime bundles', async () => {
    // A 1x1 PNG, base64: the bytes must reach VS Code unchanged.
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';
    const ed = await openCells('rich.ipynb', [
      'class H:\n    def _repr_html_(self): return "<b>bold</b>"\nH()',
      `import base64\nclass P:\n    def _repr_png_(self): return base64.b64decode("${png}")\nP()`,
      'class S:\n    def _repr_svg_(self): return "<svg xmlns=\'http://www.w3.org/2000/svg\'/>"\n    def _repr_markdown_(self): return "# title"\n    def _repr_json_(self): return {"a": [1, 2]}\ndisplay(S())\nprint("after")',
    ]);
    const html = await run(ed, 0);
    assert.equal(textOf(html, 'text/html'), '<b>bold</b>', describeNb(ed.notebook));
    // repr() (`<__main__.H object at 0x..>`) or IPython's pretty form (`<__main__.H at 0x..>`).
    assert.match(textOf(html, 'text/plain'), /<__main__\.H (object )?at 0x/, 'text/plain fallback is kept');
    await run(ed, 1);
    const pngItem = ed.notebook.cellAt(1).outputs.flatMap(o => o.items).find(i => i.mime === 'image/png');
    assert.ok(pngItem, describeNb(ed.notebook));
    assert.equal(Buffer.from(pngItem.data).toString('base64'), png, 'PNG bytes arrive unchanged');
    const rich = await run(ed, 2);
    assert.equal(textOf(rich, 'image/svg+xml'), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    assert.equal(textOf(rich, 'text/markdown'), '# title');
    assert.deepEqual(JSON.parse(textOf(rich, 'application/json')), { a: [1, 2] });
    // display() output comes before the later print, as in Jupyter.
    const mimes = ed.notebook.cellAt(2).outputs.map(o => o.items.map(i => i.mime));
    assert.ok(mimes[mimes.length - 1].includes(STDOUT), JSON.stringify(mimes));
  });

  test('errors carry the Python traceback; clear_output(wait) and update_display', async () => {
    const ed = await openCells('errors.ipynb', [
      'def f():\n    raise ValueError("bad value")\nf()',
      'print("gone")\nclear_output(wait=True)\nprint("kept")',
      'h = display("first", display_id=True)\nprint("between")\nh.update("second")',
      'h.update("third")',
    ]);
    const err = errorOf(await run(ed, 0));
    assert.equal(err?.name, 'ValueError', describeNb(ed.notebook));
    assert.equal(err?.message, 'bad value');
    assert.ok(err?.stack?.includes('f()') && err.stack.includes('raise ValueError'), `traceback in the stack: ${err?.stack}`);
    assert.equal(ed.notebook.cellAt(0).executionSummary?.success, false);

    const cleared = await run(ed, 1);
    assert.equal(textOf(cleared, STDOUT), 'kept\n', describeNb(ed.notebook));

    const updated = await run(ed, 2);
    assert.equal(textOf(updated, 'text/plain'), "'second'", describeNb(ed.notebook));
    assert.equal(textOf(updated, STDOUT), 'between\n');
    // An update from a later cell reaches the display in the earlier one.
    await run(ed, 3);
    await waitFor(`cell 2's display to show 'third' (${describeNb(ed.notebook)})`,
      () => textOf(outputItems(ed.notebook.cellAt(2)), 'text/plain') === "'third'", 10_000);
  });

  test('saved, the notebook is Jupyter\'s format: stream, display_data, execute_result with its count, error with the traceback list', async () => {
    const ed = await openCells('saved.ipynb', [
      'print("hi")\nfrom IPython.display import HTML\ndisplay(HTML("<b>bold</b>"))\n6 * 7',
      '1/0',
    ]);
    await run(ed, 0);
    await run(ed, 1);
    const order = ed.notebook.cellAt(0).executionSummary?.executionOrder;
    assert.ok(order && order > 0, describeNb(ed.notebook));
    await ed.notebook.save();
    const saved = JSON.parse(fs.readFileSync(ed.notebook.uri.fsPath, 'utf8'));
    const [first, second] = saved.cells;
    assert.equal(first.execution_count, order);
    assert.deepEqual(first.outputs.map((o: { output_type: string }) => o.output_type), ['stream', 'display_data', 'execute_result'], JSON.stringify(first.outputs));
    assert.equal(first.outputs[0].name, 'stdout');
    assert.match(first.outputs[1].data['text/html'].join?.('') ?? first.outputs[1].data['text/html'], /<b>bold<\/b>/);
    assert.deepEqual(first.outputs[1].metadata, {});
    assert.equal(first.outputs[2].execution_count, order);
    assert.deepEqual(first.outputs[2].data['text/plain'], ['42']);
    const err = second.outputs[0];
    assert.equal(err.output_type, 'error', JSON.stringify(second.outputs));
    assert.equal(err.ename, 'ZeroDivisionError');
    assert.equal(err.evalue, 'division by zero');
    // Python's own list (a frame is one multi-line entry), not the stack split into lines.
    assert.equal(err.traceback.length, 3, JSON.stringify(err.traceback));
    assert.match(err.traceback[1], /<cell-\d+>.*\n\s+1\/0/);
  });

  test('Jupyter magics and shell escapes run: !cmd, x = !cmd, %%writefile, %pwd, obj?', async () => {
    const ed = await openCells('magics.ipynb', [
      '%matplotlib inline\n!echo from the shell',
      '%%writefile note.txt\nwritten by a magic',
      'lines = !cat note.txt\nlines',
      '%pwd',
      'len?',
    ]);
    assert.equal(textOf(await run(ed, 0), STDOUT), 'from the shell\n', describeNb(ed.notebook));
    assert.equal(textOf(await run(ed, 1), STDOUT), 'Writing note.txt\n');
    assert.equal(textOf(await run(ed, 2), 'text/plain'), "['written by a magic']");
    assert.equal(textOf(await run(ed, 3), 'text/plain'), `'${path.dirname(ed.notebook.uri.fsPath)}'`, 'the notebook folder is the cwd');
    assert.match(textOf(await run(ed, 4), STDOUT), /^Signature: len\(obj, \/\)/);
  });

  test('run all stops at the first error', async () => {
    const ed = await openCells('runall.ipynb', ['a = 1', '1/0', 'b = 2', 'print("never")']);
    await vscode.commands.executeCommand('notebook.execute', ed.notebook.uri);
    await waitFor(`cell 1 to fail (${describeNb(ed.notebook)})`, () => ed.notebook.cellAt(1).executionSummary?.success === false, 60_000);
    assert.equal(ed.notebook.cellAt(0).executionSummary?.success, true);
    assert.equal(errorOf(outputItems(ed.notebook.cellAt(1)))?.name, 'ZeroDivisionError');
    for (const i of [2, 3]) {
      assert.equal(ed.notebook.cellAt(i).outputs.length, 0, describeNb(ed.notebook));
      assert.notEqual(ed.notebook.cellAt(i).executionSummary?.success, true, describeNb(ed.notebook));
    }
    // b was never assigned: the cells after the error did not run.
    const api = await pyctxApi();
    const kernel = await api.getKernel(ed.notebook.uri);
    assert.ok(kernel, 'the notebook is bound');
    const outs = [];
    for await (const o of kernel.executeCode('print("b" in globals(), "a" in globals())', new vscode.CancellationTokenSource().token)) outs.push(o);
    const text = outs.flatMap(o => o.items).map(i => new TextDecoder().decode(i.data)).join('');
    assert.equal(text, 'False True\n');
  });

  test('input() and getpass are answered through the input box; cancel raises KeyboardInterrupt', async () => {
    const window = vscode.window as { showInputBox: typeof vscode.window.showInputBox };
    const original = window.showInputBox;
    const asked: vscode.InputBoxOptions[] = [];
    const answers: (string | undefined)[] = ['Ada', 's3cret', undefined];
    window.showInputBox = async (options?: vscode.InputBoxOptions) => { asked.push(options ?? {}); return answers.shift(); };
    try {
      const ed = await openCells('input.ipynb', [
        'name = input("Name? ")\nprint("hello", name)',
        'import getpass\npw = getpass.getpass("Password: ")\nlen(pw)',
        'input("again? ")',
      ]);
      const first = await run(ed, 0);
      assert.ok(textOf(first, STDOUT).includes('hello Ada'), describeNb(ed.notebook));
      assert.equal(asked[0]?.prompt, 'Name? ');
      assert.equal(asked[0]?.password, false);
      const second = await run(ed, 1);
      assert.equal(textOf(second, 'text/plain'), '6', describeNb(ed.notebook));
      assert.equal(asked[1]?.password, true, 'getpass masks the input box');
      const third = await run(ed, 2);
      assert.equal(errorOf(third)?.name, 'KeyboardInterrupt', describeNb(ed.notebook));
    } finally {
      window.showInputBox = original;
    }
  });

  test('commands: bind binds before any run, unbind releases the worker, showStats reports the pool', async () => {
    const api = await pyctxApi();
    const ed = await openCells('commands.ipynb', ['import os\nos.getpid()', 'bound_var = 1', 'bound_var']);
    const uri = ed.notebook.uri.toString();
    const bound = await vscode.commands.executeCommand<{ pid?: number }>('pyctx.bind', ed.notebook.uri);
    assert.ok(bound?.pid, `bind returns the worker pid: ${JSON.stringify(bound)}`);
    assert.equal((await api.pool.sessions()).find(s => s.notebookUri === uri)?.pid, bound.pid);
    assert.equal(Number(textOf(await run(ed, 0), 'text/plain')), bound.pid, 'the first run uses the bound worker');
    await run(ed, 1);

    const stats = await vscode.commands.executeCommand<{ numWorkers: number; sessions: { notebookUri: string }[] }>('pyctx.showStats');
    assert.ok(stats && stats.numWorkers >= 1 && stats.sessions.some(s => s.notebookUri === uri), JSON.stringify(stats));

    assert.deepEqual(await vscode.commands.executeCommand('pyctx.unbind', ed.notebook.uri), { unbound: true });
    assert.ok(!(await api.pool.sessions()).some(s => s.notebookUri === uri), 'no session after unbind');
    assert.equal(await api.getKernel(ed.notebook.uri), undefined);
    assert.deepEqual(await vscode.commands.executeCommand('pyctx.unbind', ed.notebook.uri), { unbound: false }, 'second unbind is a no-op');
    // The next run binds a fresh context: the variable is gone, the worker is another.
    assert.equal(errorOf(await run(ed, 2))?.name, 'NameError', describeNb(ed.notebook));
    const pid = Number(textOf(await run(ed, 0), 'text/plain'));
    assert.notEqual(pid, bound.pid, 'a recycled worker is never handed back with old state');
  });

  test('exported API is shaped after the Jupyter kernels API', async () => {
    const api = await pyctxApi();
    const ed = await openCells('api.ipynb', ['v = 7']);
    assert.equal(await api.kernels.getKernel(ed.notebook.uri), undefined, 'no kernel before the first run');
    await run(ed, 0);
    const kernel = await api.kernels.getKernel(ed.notebook.uri);
    assert.ok(kernel);
    assert.equal(kernel.language, 'python');
    assert.equal(kernel.status, 'idle');
    const statuses: string[] = [];
    const sub = kernel.onDidChangeStatus(s => statuses.push(s));
    const outs = [];
    for await (const o of kernel.executeCode('print(v * 6)\nv * 2', new vscode.CancellationTokenSource().token)) outs.push(o);
    sub.dispose();
    const items = outs.flatMap(o => o.items.map(i => ({ mime: i.mime, text: new TextDecoder().decode(i.data) })));
    assert.deepEqual(items.map(i => [i.mime, i.text]), [[STDOUT, '42\n'], ['text/plain', '14']]);
    assert.deepEqual(statuses, ['busy', 'idle']);
    // An error in executeCode is an error output item, not a thrown exception.
    const errs = [];
    for await (const o of kernel.executeCode('1/0', new vscode.CancellationTokenSource().token)) errs.push(...o.items);
    assert.equal(errs[0]?.mime, ERROR);
    const stats = await api.pool.stats();
    assert.ok(stats.numWorkers >= 1 && typeof stats.python === 'string', JSON.stringify(stats));
  });

  test('executeCode is silent: it does not count as a cell run (the next cell\'s order is n+1)', async () => {
    const api = await pyctxApi();
    const ed = await openCells('silent.ipynb', ['a = 1', 'a + 1']);
    await run(ed, 0);
    const n = ed.notebook.cellAt(0).executionSummary?.executionOrder;
    assert.ok(typeof n === 'number' && n >= 1, describeNb(ed.notebook));
    const kernel = await api.getKernel(ed.notebook.uri);
    assert.ok(kernel);
    const items = [];
    for await (const o of kernel.executeCode('1+1', new vscode.CancellationTokenSource().token)) items.push(...o.items);
    assert.deepEqual(items.map(i => [i.mime, new TextDecoder().decode(i.data)]), [['text/plain', '2']]);
    const second = await run(ed, 1);
    assert.equal(textOf(second, 'text/plain'), '2', describeNb(ed.notebook));
    assert.equal(ed.notebook.cellAt(1).executionSummary?.executionOrder, n + 1, describeNb(ed.notebook));
    const session = (await api.pool.sessions()).find(s => s.notebookUri === ed.notebook.uri.toString());
    assert.equal(session?.executionCount, n + 1, 'the server counts cells only');
  });

  test('a pool server restart (server setting changed) forgets every binding; the next run binds fresh', async () => {
    const api = await pyctxApi();
    const ed = await openCells('reset.ipynb', ['q = 1\nq', 'q']);
    await run(ed, 0);
    assert.ok(await api.getKernel(ed.notebook.uri), 'bound before the restart');
    const config = vscode.workspace.getConfiguration('pyctx');
    const restarted = async () => {
      try { return (await api.pool.sessions()).every(s => s.notebookUri !== ed.notebook.uri.toString()); } catch { return false; }
    };
    // pool.warm needs a new pool; with a notebook bound the client asks first (answered here).
    const window = vscode.window as { showWarningMessage: unknown };
    const ask = window.showWarningMessage;
    window.showWarningMessage = async () => 'Restart now';
    try {
      await config.update('pool.warm', 2, vscode.ConfigurationTarget.Global);   // restarts the server
      await waitFor('the server restart to drop the session', restarted, 30_000);
      await waitFor('the kernel to be forgotten', async () => (await api.getKernel(ed.notebook.uri)) === undefined, 10_000);
      const err = errorOf(await run(ed, 1));
      assert.equal(err?.name, 'NameError', `state is gone, the run works: ${describeNb(ed.notebook)}`);
      assert.equal(ed.notebook.cellAt(1).executionSummary?.executionOrder, 1, 'a fresh context counts from 1');
    } finally {
      await closeAllEditors();
      // Setting it back restarts once more (asynchronously): wait until no worker of the old pool answers.
      const old = (await api.pool.stats().catch(() => ({ workers: [] as { pid: number }[] }))).workers.map(w => w.pid);
      await config.update('pool.warm', undefined, vscode.ConfigurationTarget.Global);
      await waitFor('the server back after the reset', async () => {
        try { return (await api.pool.stats()).workers.every(w => !old.includes(w.pid)); } catch { return false; }
      }, 30_000);
      window.showWarningMessage = ask;
    }
  });

  test('matplotlib figure renders as PNG (switching pyctx.python to an interpreter that has it)', async function () {
    // The default python3 here has no packages; Debian's has matplotlib. Switching the
    // setting restarts the server on the new interpreter (every notebook binds fresh).
    const api = await pyctxApi();
    const withMpl = '/usr/bin/python3';
    const has = (py: string) => { try { execFileSync(py, ['-c', 'import matplotlib'], { stdio: 'ignore' }); return true; } catch { return false; } };
    const current = (await api.pool.stats()).python;
    const target = has(current) ? undefined : has(withMpl) ? withMpl : null;
    if (target === null) this.skip();
    const config = vscode.workspace.getConfiguration('pyctx');
    const serverOn = (py: string) => waitFor(`the pool server on ${py}`, async () => {
      try { return (await api.pool.stats()).python === py; } catch { return false; }   // restarting
    }, 30_000);
    // Notebooks of earlier tests may still be bound: the client then asks before restarting.
    const window = vscode.window as { showWarningMessage: unknown };
    const ask = window.showWarningMessage;
    window.showWarningMessage = async () => 'Restart now';
    try {
      if (target) { await config.update('python', target, vscode.ConfigurationTarget.Global); await serverOn(target); }
      const ed = await openCells('plot.ipynb', ['import matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()']);
      await run(ed, 0);
      const png = ed.notebook.cellAt(0).outputs.flatMap(o => o.items).find(i => i.mime === 'image/png');
      assert.ok(png && Buffer.from(png.data).subarray(1, 4).toString() === 'PNG', describeNb(ed.notebook));
    } finally {
      if (target) {
        await closeAllEditors();
        await config.update('python', undefined, vscode.ConfigurationTarget.Global);
        await serverOn(current);
      }
      window.showWarningMessage = ask;
    }
  });
});
