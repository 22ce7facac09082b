// TEMPORARY probe (deleted after use): where the time of an output flood goes.
import * as vscode from 'vscode';
import { performance } from 'node:perf_hooks';
import { closeAllEditors } from './support/notebook';
import { openCells, pyctxApi, run } from './support/kernel';
suite('probe', function () {
  this.timeout(120_000);
  teardown(closeAllEditors);
  test('flood', async function () {
    if (process.env.PYCTX_PROBE !== '1') this.skip();
    const code = 'import sys\nfor _ in range(12):\n    sys.stdout.write("x" * (1 << 20))\nprint("done")';
    const ed = await openCells('probe.ipynb', ['1', code, 'import sys\nfor _ in range(12):\n    sys.stdout.write((("y" * 99) + "\\n") * (1 << 20 >> 7 << 0) )\nprint("done")']);
    await run(ed, 0);
    const k = (await (await pyctxApi()).getKernel(ed.notebook.uri))!;
    let t = performance.now(); let n = 0;
    for await (const o of k.executeCode(code, new vscode.CancellationTokenSource().token)) n++;
    console.log(`API flood: ${(performance.now() - t).toFixed(0)} ms, ${n} outputs`);
    let changes = 0;
    const sub = vscode.workspace.onDidChangeNotebookDocument(() => changes++);
    t = performance.now(); await run(ed, 1);
    console.log(`cell flood: ${(performance.now() - t).toFixed(0)} ms, ${changes} change events`);
    changes = 0;
    t = performance.now(); await run(ed, 2);
    console.log(`cell 12 MiB in 100-char lines: ${(performance.now() - t).toFixed(0)} ms, ${changes} change events`);
    sub.dispose();
  });
});
