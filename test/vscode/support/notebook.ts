// Helpers for integration tests that drive notebooks through the real VS Code API:
// fresh notebook copies, kernel selection, running cells, waiting for outputs.
// Bundled into each test file (scripts/build.mjs builds only test/vscode/*.ts as
// entries), so they hold no state between files.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';

export const EXTENSION_ID = 'pyctx.pyctx';
export const CONTROLLER_ID = 'pyctx';

/** The window's folder: a temp copy of test/fixtures/vscode made by the runner. */
export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the test window has no folder open (runner must pass the fixture copy)');
  return folder.uri.fsPath;
}

let copies = 0;
/**
 * A private copy of a fixture notebook in its own folder (the worker's cwd), so
 * tests never share a document and the fixture copy itself stays untouched.
 */
export function freshNotebookUri(fixture: string): vscode.Uri {
  const dir = path.join(workspaceDir(), 'runs', `${process.pid}-${++copies}`);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, fixture);
  fs.copyFileSync(path.join(workspaceDir(), fixture), target);
  return vscode.Uri.file(target);
}

/** Opens a fresh copy of `fixture` in an editor and selects the pyctx controller for it. */
export async function openWithPyctx(fixture: string, controllerId = CONTROLLER_ID): Promise<vscode.NotebookEditor> {
  const doc = await vscode.workspace.openNotebookDocument(freshNotebookUri(fixture));
  const editor = await vscode.window.showNotebookDocument(doc);
  await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id: controllerId, extension: EXTENSION_ID });
  return editor;
}

/** Runs the given cells (default: all) of the editor's notebook, without waiting for outputs. */
export async function runCells(editor: vscode.NotebookEditor, start = 0, end = editor.notebook.cellCount): Promise<void> {
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start, end }], document: editor.notebook.uri });
}

/** Polls until `check` returns a value (not undefined/false); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

export interface OutputItemText { mime: string; text: string }

/** Every output item of a cell as decoded text, in order. */
export function outputItems(cell: vscode.NotebookCell): OutputItemText[] {
  return cell.outputs.flatMap(o => o.items.map(i => ({ mime: i.mime, text: new TextDecoder().decode(i.data) })));
}

/** Waits until the cell's execution ended (executionSummary.success set) and returns its output items. */
export async function waitForExecution(cell: vscode.NotebookCell, timeoutMs = 60_000): Promise<OutputItemText[]> {
  await waitFor(`cell ${cell.index} to finish running`, () => cell.executionSummary?.success !== undefined, timeoutMs);
  return outputItems(cell);
}

/**
 * Closes every editor, so a test leaves no notebook open (closing unbinds it).
 * Dirty notebooks (private copies, see freshNotebookUri) are saved first: a dirty
 * editor would ask to save, and in test mode that dialog is suppressed and the
 * editor stays open.
 */
export async function closeAllEditors(): Promise<void> {
  for (const doc of vscode.workspace.notebookDocuments) if (doc.isDirty && !doc.isUntitled) await doc.save();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
