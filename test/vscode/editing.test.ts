// Editing help through VS Code's own provider commands (what the editor asks when a
// user types): completion items of a bound notebook's namespace with their kinds and
// resolved documentation, and signature help on `(`. The server-level tests
// (test/unit/server-editing.test.ts) speak LSP directly; this checks the client's
// notebook sync and registration in the real editor (test/ui/editor.test.mjs clicks it).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { closeAllEditors, waitFor } from './support/notebook';
import { openCells, run } from './support/kernel';

suite('editing help: completions and signature help in a bound notebook', function () {
  this.timeout(180_000);
  teardown(closeAllEditors);

  test('a function defined in a cell completes as a Function with its docstring; signature help opens on (', async () => {
    const ed = await openCells('editing.ipynb', ['def shout(word, times=2):\n    "Say it louder."\n    return word\nimport os', '']);
    await run(ed, 0);
    // The user types into the empty second cell.
    const cell = ed.notebook.cellAt(1);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(cell.document.uri, new vscode.Position(0, 0), 'sh');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const item = await waitFor('pyctx to complete "sh" with shout', async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', cell.document.uri, new vscode.Position(0, 2), undefined, 10);
      return list.items.find(i => (typeof i.label === 'string' ? i.label : i.label.label) === 'shout' && i.kind === vscode.CompletionItemKind.Function);
    }, 60_000);
    const doc = typeof item.documentation === 'string' ? item.documentation : item.documentation?.value ?? '';
    assert.match(doc + (item.detail ?? ''), /Say it louder|shout\(word, times=2\)/);

    const call = new vscode.WorkspaceEdit();
    call.insert(cell.document.uri, new vscode.Position(0, 2), 'out(');
    assert.ok(await vscode.workspace.applyEdit(call));
    const help = await waitFor('signature help for shout(', async () => {
      const h = await vscode.commands.executeCommand<vscode.SignatureHelp>('vscode.executeSignatureHelpProvider', cell.document.uri, new vscode.Position(0, 6), '(');
      return h?.signatures.length ? h : undefined;
    }, 30_000);
    assert.match(help.signatures[help.activeSignature ?? 0].label, /shout\(word, times=2\)/);
  });
});
