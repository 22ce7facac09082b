// IPython mode in a real VS Code (issue 15): with pyctx.python = /usr/bin/python3
// (IPython 8.5 + matplotlib_inline) cells run through IPython's shell. One notebook:
// %config InlineBackend.figure_format = 'retina', a plot (its figure after the
// result), a coloured IPython traceback, `_` after a result, and
// get_ipython().run_line_magic('xmode', 'Minimal'). The pool reports the mode.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as vscode from 'vscode';
import { closeAllEditors, waitFor } from './support/notebook';
import { ERROR, describe as describeNb, errorOf, openCells, pyctxApi, run, textOf } from './support/kernel';

const DEBIAN = '/usr/bin/python3';
const hasIPython = (() => {
  try { execFileSync(DEBIAN, ['-c', 'import IPython, matplotlib_inline'], { stdio: 'ignore' }); return true; } catch { return false; }
})();

suite('kernel: IPython mode', function () {
  this.timeout(180_000);

  test('retina plot after its result, coloured traceback, _, xmode Minimal (IPython 8 under /usr/bin/python3)', async function () {
    if (!hasIPython) this.skip();
    const api = await pyctxApi();
    const config = vscode.workspace.getConfiguration('pyctx');
    const before = (await api.pool.stats()).python;
    const ipythonBefore = config.inspect<string>('ipython')?.globalValue;
    const serverOn = (py: string) => waitFor(`the pool server on ${py}`, async () => {
      try { return (await api.pool.stats()).python === py; } catch { return false; }
    }, 60_000);
    const window = vscode.window as { showWarningMessage: unknown };
    const ask = window.showWarningMessage;
    window.showWarningMessage = async () => 'Restart now';   // earlier notebooks may be bound
    try {
      // The suite runs with pyctx.ipython "off" (run-tests.mjs): this test turns IPython mode on.
      if (ipythonBefore !== 'auto') {
        await config.update('ipython', 'auto', vscode.ConfigurationTarget.Global);
        await waitFor('the pool server in IPython mode', async () => {
          try { return (await api.pool.stats()).shell === 'ipython'; } catch { return false; }
        }, 60_000);
      }
      if (before !== DEBIAN) { await config.update('python', DEBIAN, vscode.ConfigurationTarget.Global); await serverOn(DEBIAN); }
      const ed = await openCells('ipython.ipynb', [
        "%config InlineBackend.figure_format = 'retina'\nimport matplotlib.pyplot as plt",
        'plt.plot([1, 4, 9])',
        'def f():\n    return 1 / 0\nf()',
        '6 * 7',
        '_ + 1',
        "get_ipython().run_line_magic('xmode', 'Minimal')\n{}['missing']",
      ]);
      await run(ed, 0);
      const stats = await api.pool.stats();
      assert.equal(stats.shell, 'ipython', JSON.stringify(stats));
      // The plot: the result ([<Line2D>]) first, then the figure (Jupyter's order), at retina size.
      await run(ed, 1);
      const outs = ed.notebook.cellAt(1).outputs;
      const order = outs.map(o => o.items.some(i => i.mime === 'image/png') ? 'figure' : 'result');
      assert.deepEqual(order, ['result', 'figure'], describeNb(ed.notebook));
      assert.match(new TextDecoder().decode(outs[0].items.find(i => i.mime === 'text/plain')!.data), /Line2D/);
      const fig = outs[1];
      const md = (fig.metadata?.metadata ?? {}) as Record<string, { width?: number }>;
      assert.ok((md['image/png']?.width ?? 0) > 0, `retina: shown at half its pixel size: ${JSON.stringify(fig.metadata)}`);
      // IPython's traceback with ANSI colours, `Cell In[3]` header.
      const err = errorOf(await run(ed, 2));
      assert.equal(err?.name, 'ZeroDivisionError', describeNb(ed.notebook));
      assert.ok(err?.stack?.includes('\x1b['), 'coloured');
      assert.match(err!.stack!.replace(/\x1b\[[0-9;]*m/g, ''), /Cell In ?\[3\], line 3/);
      // Output history.
      await run(ed, 3);
      assert.equal(textOf(await run(ed, 4), 'text/plain'), '43', describeNb(ed.notebook));
      // xmode Minimal through get_ipython(): only the exception line.
      const items = await run(ed, 5);
      const minimal = errorOf(items);
      assert.equal(minimal?.name, 'KeyError');
      assert.equal(minimal!.stack!.replace(/\x1b\[[0-9;]*m/g, '').trim(), "KeyError: 'missing'", describeNb(ed.notebook));
      assert.ok(items.some(i => i.mime === ERROR));
    } finally {
      await closeAllEditors();
      if (before !== DEBIAN) {
        await config.update('python', undefined, vscode.ConfigurationTarget.Global);
        await serverOn(before);
      }
      if (ipythonBefore !== 'auto') {
        await config.update('ipython', ipythonBefore, vscode.ConfigurationTarget.Global);
        await waitFor('the pool server back in its mode', async () => {
          try { return (await api.pool.stats()).shell === 'builtin'; } catch { return false; }
        }, 60_000);
      }
      window.showWarningMessage = ask;
    }
  });
});
