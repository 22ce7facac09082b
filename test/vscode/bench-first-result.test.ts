// Benchmark (not a test; runs only with PYCTX_BENCH=1, see bench/first-result.sh):
// time to first result in the real VS Code. For each run a fresh notebook
// ['1+1', '1+1'] is opened with the pyctx kernel (untimed: editor warm-up), then
//   first  = `notebook.execute` -> the output `2` of cell 0 (implicit bind of a warm worker)
//   second = re-running cell 1 of the now bound notebook -> its output `2`
// and, in the same run, the same two figures for ipykernel driven by jupyter_client
// (/usr/bin/python3 bench/ipykernel_first_result.py: start_kernel -> first
// execute_result, then a second execute). Prints medians and their ratio, and
// for scale the same `1+1` through the exported API (server + worker, no UI):
// under code-server every notebook update crosses the browser and back.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { EXTENSION_ID, closeAllEditors, waitFor } from './support/notebook';
import { closeNotebook, openCells, pyctxApi } from './support/kernel';

const RUNS = Number(process.env.PYCTX_BENCH_RUNS || 7);
const IPYKERNEL_PYTHON = process.env.PYCTX_BENCH_IPYKERNEL_PYTHON || '/usr/bin/python3';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms  (runs: ${xs.map(x => x.toFixed(0)).join(', ')})`;

/** Resolves at the first change of the cell's outputs, after now, that shows `text` as text/plain. */
function outputShows(cell: vscode.NotebookCell, text: string): Promise<number> {
  return new Promise(resolve => {
    const sub = vscode.workspace.onDidChangeNotebookDocument(e => {
      if (e.notebook !== cell.notebook) return;
      const change = e.cellChanges.find(c => c.cell === cell && c.outputs !== undefined);
      const shown = change?.outputs?.some(o => o.items.some(i => i.mime === 'text/plain' && new TextDecoder().decode(i.data) === text));
      if (shown) { sub.dispose(); resolve(performance.now()); }
    });
  });
}

async function warmWorkerReady(): Promise<void> {
  const api = await pyctxApi();
  await waitFor('a warm idle worker', async () => (await api.pool.stats()).availableWorkers >= 1, 30_000);
}

function ipykernel(runs: number): Promise<{ first_ms: number[]; second_ms: number[] }> {
  const script = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'bench', 'ipykernel_first_result.py');
  return new Promise((resolve, reject) => {
    execFile(IPYKERNEL_PYTHON, [script, String(runs)], { timeout: 240_000, env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } },
      (err, stdout, stderr) => {
        if (err) { reject(new Error(`${IPYKERNEL_PYTHON} ${script}: ${err.message}\n${stderr}`)); return; }
        resolve(JSON.parse(stdout.trim().split('\n').pop()!));
      });
  });
}

suite('bench: time to first result', function () {
  this.timeout(600_000);
  suiteSetup(function () { if (process.env.PYCTX_BENCH !== '1') this.skip(); });
  teardown(closeAllEditors);

  test(`pyctx vs ipykernel, ${RUNS} runs each`, async () => {
    const first: number[] = [];
    const second: number[] = [];
    const apiOnly: number[] = [];   // executeCode through the exported API: server + worker, no notebook UI
    for (let i = 0; i < RUNS; i++) {
      await warmWorkerReady();
      const ed = await openCells(`bench-${i}.ipynb`, ['1+1', '1+1']);
      const nb = ed.notebook;
      const t0 = performance.now();
      const firstShown = outputShows(nb.cellAt(0), '2');
      await vscode.commands.executeCommand('notebook.execute', nb.uri);
      first.push(await firstShown - t0);
      await waitFor('cell 1 to finish', () => nb.cellAt(1).executionSummary?.success === true, 30_000);
      const t1 = performance.now();
      const secondShown = outputShows(nb.cellAt(1), '2');
      await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: 1, end: 2 }], document: nb.uri });
      second.push(await secondShown - t1);
      const kernel = (await (await pyctxApi()).getKernel(nb.uri))!;
      const t2 = performance.now();
      for await (const o of kernel.executeCode('1+1', new vscode.CancellationTokenSource().token)) void o;
      apiOnly.push(performance.now() - t2);
      await closeNotebook(nb);
    }
    const ipk = await ipykernel(RUNS);
    const lines = [
      `time to first result (real VS Code ${vscode.version}, ${RUNS} runs):`,
      `  pyctx     first cell (notebook.execute on a fresh notebook -> "2"): ${fmt(first)}`,
      `  pyctx     second cell (bound notebook):                           ${fmt(second)}`,
      `  pyctx     1+1 via the API's executeCode (no notebook UI):          ${fmt(apiOnly)}`,
      `  ipykernel first result (start_kernel -> execute_result):          ${fmt(ipk.first_ms)}`,
      `  ipykernel second cell:                                            ${fmt(ipk.second_ms)}`,
      `  ratio first result ipykernel/pyctx: ${(median(ipk.first_ms) / median(first)).toFixed(1)}x`,
    ];
    console.log(lines.join('\n'));
    assert.equal(first.length, RUNS);
  });
});
