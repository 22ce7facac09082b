// Workers follow tabs, not documents: VS Code can keep a notebook document alive for
// minutes after its last tab closed (here the test's openNotebookDocument holds it), so
// pyctx releases a notebook's worker once no tab has shown it for
// pyctx.releaseClosedAfterSeconds, and a notebook shown again within that time keeps
// its worker and its state. The click-through version (Close, Close All, Save then
// Close) is test/ui/editor.test.mjs.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, waitFor } from './support/notebook';
import { describe as describeNb, openWithKernel, pyctxApi, run, textOf, writeNotebook } from './support/kernel';

const GRACE_S = 3;

function tabOf(nb: vscode.NotebookDocument): vscode.Tab | undefined {
  return vscode.window.tabGroups.all.flatMap(g => g.tabs)
    .find(t => t.input instanceof vscode.TabInputNotebook && t.input.uri.toString() === nb.uri.toString());
}

/** Closes the notebook's tab, saved first (a dirty one would ask Save / Don't Save). */
async function closeTab(nb: vscode.NotebookDocument): Promise<void> {
  if (nb.isDirty) assert.ok(await nb.save(), 'saved');
  const tab = tabOf(nb);
  assert.ok(tab, `a tab shows ${nb.uri.path}`);
  await vscode.window.tabGroups.close(tab, true);
  await waitFor('the tab to close', () => tabOf(nb) === undefined, 10_000);
}

suite('kernel: workers follow tabs', function () {
  this.timeout(120_000);
  const config = () => vscode.workspace.getConfiguration('pyctx');
  suiteSetup(() => config().update('releaseClosedAfterSeconds', GRACE_S, vscode.ConfigurationTarget.Global));
  suiteTeardown(() => config().update('releaseClosedAfterSeconds', undefined, vscode.ConfigurationTarget.Global));
  teardown(closeAllEditors);

  test('a notebook shown again within the grace period keeps its worker and state; one left in no tab is released while its document stays open', async () => {
    const api = await pyctxApi();
    // Opened by an extension first (openNotebookDocument), then shown: VS Code keeps
    // such a document after its tab closes (as it kept them in #16's long session).
    const doc = await vscode.workspace.openNotebookDocument(writeNotebook('tabs.ipynb', ['import os\nkept = "yes"\nos.getpid()', 'kept, os.getpid()']));
    const ed = await openWithKernel(doc.uri);
    const pid = Number(textOf(await run(ed, 0), 'text/plain'));
    assert.ok(pid > 0, describeNb(ed.notebook));
    const nb = ed.notebook;
    const bound = async () => (await api.pool.sessions()).some(s => s.notebookUri === nb.uri.toString());

    try {
      // Closed, then shown again before the grace period ends: same worker, same state.
      await closeTab(nb);
      assert.ok(!nb.isClosed, 'closing the tab leaves the document open');
      await new Promise(r => setTimeout(r, (GRACE_S * 1000) / 3));
      const again = await vscode.window.showNotebookDocument(nb);
      await new Promise(r => setTimeout(r, GRACE_S * 1000 + 1500));
      assert.ok(await bound(), 'still bound after the grace period: it was shown again in time');
      assert.equal(textOf(await run(again, 1), 'text/plain'), `('yes', ${pid})`, describeNb(nb));

      // Closed for good: released after the grace period, although VS Code keeps the document.
      await closeTab(nb);
      assert.ok(await bound(), 'not released at once');
      await waitFor('the worker to be released', async () => !(await bound()), (GRACE_S + 20) * 1000);
      assert.ok(vscode.workspace.notebookDocuments.includes(nb), 'the document is still open: the tab path released it');
    } finally {
      // Whatever failed above, the next suites start from a pool with this notebook released.
      await closeAllEditors();
      await waitFor('the notebook to be released', async () => !(await bound()), (GRACE_S + 20) * 1000).catch(() => undefined);
    }
  });
});
