// Python environments per notebook in a real VS Code (src/client/environments,
// src/kernel/controllers.ts, src/server/pools.ts): a workspace .venv created here
// with `python -m venv --without-pip` is listed with its own controller; two
// notebooks bound at the same time to the .venv and to /usr/bin/python3 each run in
// their own interpreter (sys.prefix / sys.executable) and pool; a notebook records
// its environment (ipykernel's kernelspec + metadata.pyctx) and gets it back when
// reopened; a removed interpreter gives the actionable cell error.
// The kernel picker itself is clicked in test/ui/environments.test.mjs.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, closeAllEditors, waitFor, workspaceDir } from './support/notebook';
import { ERROR, STDOUT, describe as describeNb, pyctxApi, run, textOf, writeNotebook } from './support/kernel';
import type { EnvironmentInfo } from '../../src/api';

const SYSTEM = '/usr/bin/python3';
const PROBE = 'import sys\nprint(sys.prefix)\nprint(sys.executable)';

/** python3 on PATH (pyenv here) makes the venvs, as a user would. */
function makeVenv(dir: string): string {
  execFileSync('python3', ['-m', 'venv', '--without-pip', dir]);
  return path.join(dir, 'bin', 'python');
}

async function envNamed(name: string): Promise<EnvironmentInfo> {
  const api = await pyctxApi();
  return waitFor(`environment ${name} to be listed`, async () => (await api.environments.refresh()).find(e => e.displayName === name), 60_000);
}

/** Opens a notebook (vscode.open: closing the editor closes the document) and selects a controller. */
async function openWith(uri: vscode.Uri, controllerId?: string): Promise<vscode.NotebookEditor> {
  await vscode.commands.executeCommand('vscode.open', uri, { preview: false });
  const editor = await waitFor(`an editor for ${uri.fsPath}`,
    () => vscode.window.visibleNotebookEditors.find(e => e.notebook.uri.toString() === uri.toString()), 20_000);
  if (controllerId) await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id: controllerId, extension: EXTENSION_ID });
  return editor;
}

async function closeEditorOf(nb: vscode.NotebookDocument): Promise<void> {
  const uri = nb.uri.toString();
  const closed = new Promise<void>(resolve => {
    const sub = vscode.workspace.onDidCloseNotebookDocument(d => { if (d.uri.toString() === uri) { sub.dispose(); resolve(); } });
  });
  await vscode.window.showNotebookDocument(nb);
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  await closed;
}

suite('environments: one per notebook', function () {
  this.timeout(180_000);
  let venvPython: string;
  teardown(closeAllEditors);

  suiteSetup(() => {
    venvPython = makeVenv(path.join(workspaceDir(), '.venv'));
  });

  test('a workspace .venv made with venv --without-pip is listed, as its own bin/python, with a controller', async () => {
    const venv = await envNamed('.venv');
    assert.equal(venv.python, venvPython, 'runs as the venv\'s bin/python, never the symlink target');
    assert.match(venv.version ?? '', /^3\.\d+\.\d+$/);
    assert.match(venv.controllerId, /^pyctx-env-/);
    assert.equal(venv.isDefault, false);
    const api = await pyctxApi();
    const all = api.environments.list();
    assert.equal(all.filter(e => e.isDefault).length, 1, JSON.stringify(all));
    assert.equal(all.find(e => e.isDefault)?.controllerId, 'pyctx', 'the default environment keeps the id pyctx');
    assert.ok(all.some(e => e.python === SYSTEM && !e.error), `the system Python is listed: ${JSON.stringify(all)}`);
    assert.ok(all.some(e => /too old/.test(e.error ?? '')), 'a pyenv Python 2 is listed with its error, not dropped');
  });

  test('two notebooks bound at once to the .venv and /usr/bin/python3 each run in their own interpreter', async () => {
    const api = await pyctxApi();
    const venv = await envNamed('.venv');
    const system = api.environments.list().find(e => e.python === SYSTEM)!;
    const a = await openWith(writeNotebook('in-venv.ipynb', [PROBE]), venv.controllerId);
    const b = await openWith(writeNotebook('in-system.ipynb', [PROBE]), system.controllerId);
    const outA = textOf(await run(a, 0), STDOUT).trim().split('\n');
    const outB = textOf(await run(b, 0), STDOUT).trim().split('\n');
    assert.deepEqual(outA, [path.join(workspaceDir(), '.venv'), venvPython], describeNb(a.notebook));
    assert.deepEqual(outB, ['/usr', SYSTEM], describeNb(b.notebook));
    // Both bound at the same time, each in its own pool; sessions carry their python.
    const sessions = await api.pool.sessions();
    const sa = sessions.find(s => s.notebookUri === a.notebook.uri.toString());
    const sb = sessions.find(s => s.notebookUri === b.notebook.uri.toString());
    assert.equal(sa?.python, venvPython, JSON.stringify(sessions));
    assert.equal(sb?.python, SYSTEM, JSON.stringify(sessions));
    const pools = await api.pool.pools();
    assert.ok(pools.find(p => p.python === venvPython && p.bound === 1), JSON.stringify(pools));
    // (an earlier suite may have left its own notebook bound in the /usr/bin/python3 pool)
    assert.ok(pools.find(p => p.python === SYSTEM && (p.bound ?? 0) >= 1), JSON.stringify(pools));
    // The Ref Explorer has a node per pool, each with its own session under it.
    const views = api.views as { refExplorer: { refresh(): Promise<void>; roots(): Promise<{ id: string; label: string; description: string }[]>; children(id: string): Promise<{ notebookUri?: string }[]> } };
    await views.refExplorer.refresh();
    const roots = await views.refExplorer.roots();
    const venvPool = roots.find(r => r.description.endsWith(venvPython));
    assert.ok(venvPool, JSON.stringify(roots));
    assert.match(venvPool.label, /^\.venv · Python 3/);
    assert.deepEqual((await views.refExplorer.children(venvPool.id)).filter(c => c.notebookUri).map(c => c.notebookUri), [a.notebook.uri.toString()]);
    // Show Pool Stats lists every pool; the status bar names the active notebook's environment and its pool.
    const shown = await vscode.commands.executeCommand<{ pools: { python: string }[] }>('pyctx.showStats');
    assert.ok([venvPython, SYSTEM].every(p => shown.pools.some(x => x.python === p)), JSON.stringify(shown.pools));
    await vscode.window.showNotebookDocument(a.notebook);
    const bar = (api.views as { statusBar: { snapshot(): { text: string; tooltip: string } } }).statusBar;
    const text = await waitFor('the status bar to name the .venv', () => /\.venv \d+\/\d+ idle$/.test(bar.snapshot().text) && bar.snapshot().text, 20_000);
    assert.match(text, /^\$\(server-process\) \.venv 1\/\d+ idle$/);
    assert.match(bar.snapshot().tooltip, new RegExp(`interpreter: .*${venvPython.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  });

  test('the notebook records its environment (ipykernel kernelspec) and gets it back when reopened', async () => {
    const venv = await envNamed('.venv');
    const uri = writeNotebook('remembers.ipynb', [PROBE]);
    const ed = await openWith(uri, venv.controllerId);
    await waitFor('the environment to be recorded', () => ed.notebook.isDirty);
    await ed.notebook.save();
    const saved = JSON.parse(fs.readFileSync(uri.fsPath, 'utf8'));
    assert.deepEqual(saved.metadata.kernelspec, { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' });
    assert.equal(saved.metadata.language_info.name, 'python');
    assert.deepEqual(saved.metadata.pyctx, { python: venvPython, environment: '.venv' });
    await closeEditorOf(ed.notebook);

    // Reopened without choosing a kernel: it is bound to the .venv again.
    const again = await openWith(uri);
    const api = await pyctxApi();
    await waitFor('the recorded environment to be selected', () => api.environments.controllerFor(uri) === venv.controllerId, 20_000);
    const out = textOf(await run(again, 0, 90_000), STDOUT).trim().split('\n');
    assert.deepEqual(out, [path.join(workspaceDir(), '.venv'), venvPython], describeNb(again.notebook));
  });

  test('a removed interpreter gives a cell error that says so, with Select Environment', async () => {
    const dir = path.join(workspaceDir(), 'doomed-env');
    const python = makeVenv(dir);
    const env = await envNamed('doomed-env');
    const uri = writeNotebook('doomed.ipynb', ['print("ran")']);
    const ed = await openWith(uri, env.controllerId);
    assert.equal(textOf(await run(ed, 0), STDOUT), 'ran\n', describeNb(ed.notebook));
    await waitFor('the environment to be recorded', () => ed.notebook.isDirty);
    await ed.notebook.save();
    await closeEditorOf(ed.notebook);
    fs.rmSync(dir, { recursive: true, force: true });
    const api = await pyctxApi();
    assert.ok(!(await api.environments.refresh()).some(e => e.python === python), 'gone from the list');

    const reopened = await openWith(uri);
    await waitFor('the recorded (missing) environment to be selected', () => /^pyctx-env-missing-/.test(api.environments.controllerFor(uri) ?? ''), 20_000);
    const items = await run(reopened, 0, 90_000);
    const err = items.find(i => i.mime === ERROR);
    assert.ok(err, describeNb(reopened.notebook));
    const parsed = JSON.parse(err.text) as { name: string; message: string };
    assert.equal(parsed.name, 'EnvironmentUnavailable', describeNb(reopened.notebook));
    assert.match(parsed.message, /"doomed-env" is not available/);
    assert.match(parsed.message, /Select Environment/);
    assert.equal(reopened.notebook.cellAt(0).executionSummary?.success, false);
  });
});
