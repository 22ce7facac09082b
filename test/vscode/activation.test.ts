// First tests of the suite, also the smoke run against the installed .vsix: the
// extension activates from the copy the runner meant, exports its API, registers
// our commands, and its controller `pyctx` runs a cell with the expected outputs;
// and VS Code logs no scope warning for our settings (window-scoped settings read
// with a resource).
import * as assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, closeAllEditors, openWithPyctx, runCells, waitFor, waitForExecution } from './support/notebook';

const COMMANDS = ['pyctx.bind', 'pyctx.unbind', 'pyctx.restart', 'pyctx.interrupt', 'pyctx.showStats',
  'pyctx.releaseRef', 'pyctx.releaseSession'];

suite('activation', () => {
  teardown(closeAllEditors);

  test('the extension under test is the one the runner installed', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed`);
    const expected = process.env.PYCTX_TEST_EXTENSION_PATH;
    if (expected) assert.equal(fs.realpathSync(ext.extensionPath), fs.realpathSync(expected));
  });

  test('activates and exports its API', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const api = await ext.activate();
    assert.ok(ext.isActive);
    assert.equal(typeof api, 'object', 'activate() returns the API object');
    assert.equal(typeof api.getKernel, 'function', 'API has getKernel(uri)');
  });

  test('registers our commands', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(COMMANDS.filter(c => !all.has(c)), []);
  });

  test('controller pyctx runs a cell that prints and returns a value', async () => {
    const editor = await openWithPyctx('hello.ipynb');
    await runCells(editor, 0, 1);
    const items = await waitForExecution(editor.notebook.cellAt(0));
    assert.equal(editor.notebook.cellAt(0).executionSummary?.success, true, JSON.stringify(items));
    const stdout = items.filter(i => i.mime === 'application/vnd.code.notebook.stdout').map(i => i.text).join('');
    assert.equal(stdout, 'hi\n');
    assert.deepEqual(items.filter(i => i.mime === 'text/plain').map(i => i.text), ['2']);
  });

  test('reading pyctx settings logs no configuration-scope warning in the extension host', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate();   // the client resolved its interpreter
    // The extension host log of this run (code-server: exthost1/remoteexthost.log, desktop: exthost/exthost.log).
    const run = process.env.PYCTX_VSCODE_RUN;
    assert.ok(run, 'the runner sets PYCTX_VSCODE_RUN (the run dir holding user/logs)');
    const logs = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap(e =>
      e.isDirectory() ? logs(path.join(dir, e.name)) : /exthost\.log$/.test(e.name) ? [path.join(dir, e.name)] : []);
    // A marker of the same kind, logged now: once it is in the file, everything logged before it is too.
    const marker = "'pyctx.interrupt.graceSeconds'";
    vscode.workspace.getConfiguration('pyctx', vscode.Uri.file(path.join(run, 'marker.ipynb'))).get('interrupt.graceSeconds');
    const text = await waitFor('the scope warning marker in the extension host log', () => {
      const all = logs(path.join(run, 'user', 'logs')).map(f => fs.readFileSync(f, 'utf8')).join('\n');
      return all.includes(marker) && all;
    }, 20_000);
    const ours = text.split('\n').filter(l => /Accessing a \w+ scoped configuration/.test(l) && /'pyctx\./.test(l) && !l.includes(marker));
    assert.deepEqual(ours, []);
  });
});
