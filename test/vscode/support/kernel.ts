// Helpers for the kernel suites (test/vscode/kernel*.test.ts): notebooks written
// from cell sources into their own folder under the test workspace (so each test
// has its own document, cwd and binding), the extension's exported API, and
// readable diagnostics of a notebook's outputs for assertion messages.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';
import { CONTROLLER_ID, EXTENSION_ID, outputItems, waitFor, workspaceDir, type OutputItemText } from './notebook';
import type { PyctxExtensionApi } from '../../../src/api';

export const STDOUT = 'application/vnd.code.notebook.stdout';
export const STDERR = 'application/vnd.code.notebook.stderr';
export const ERROR = 'application/vnd.code.notebook.error';

export async function pyctxApi(): Promise<PyctxExtensionApi> {
  return vscode.extensions.getExtension<PyctxExtensionApi>(EXTENSION_ID)!.activate();
}

let made = 0;
/** Writes an .ipynb with one code cell per source into a fresh folder and returns its Uri. */
export function writeNotebook(name: string, sources: string[]): vscode.Uri {
  const dir = path.join(workspaceDir(), 'runs', `kernel-${process.pid}-${++made}`);
  fs.mkdirSync(dir, { recursive: true });
  const nb = {
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, language_info: { name: 'python' } },
    cells: sources.map((src, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source: src })),
  };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
  return vscode.Uri.file(file);
}

/**
 * Opens a notebook of the given cells in an editor with the pyctx kernel selected.
 * Opened through `vscode.open`, not openNotebookDocument (whose reference keeps the
 * document alive for minutes), so closing the editor closes the document, which
 * unbinds it and returns its worker to the pool.
 */
export async function openCells(name: string, sources: string[]): Promise<vscode.NotebookEditor> {
  return openWithKernel(writeNotebook(name, sources));
}

/** Opens an existing .ipynb as openCells does (an editor, the pyctx kernel selected). */
export async function openWithKernel(uri: vscode.Uri): Promise<vscode.NotebookEditor> {
  await vscode.commands.executeCommand('vscode.open', uri, { preview: false });   // a preview tab would be replaced (and closed) by the next open
  const editor = await waitFor(`an editor for ${uri.fsPath}`,
    () => vscode.window.visibleNotebookEditors.find(e => e.notebook.uri.toString() === uri.toString()), 20_000);
  await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id: CONTROLLER_ID, extension: EXTENSION_ID });
  return editor;
}

/** Runs cell `index` (alone) and waits for its execution to end; returns its items. */
export async function run(editor: vscode.NotebookEditor, index: number, timeoutMs = 60_000): Promise<OutputItemText[]> {
  const cell = editor.notebook.cellAt(index);
  const before = cell.executionSummary?.timing?.endTime;
  await start(editor, index);
  await waitFor(`cell ${index} of ${path.basename(editor.notebook.uri.fsPath)} to finish (${describe(editor.notebook)})`,
    () => cell.executionSummary?.success !== undefined && cell.executionSummary.timing?.endTime !== before, timeoutMs);
  return outputItems(cell);
}

/**
 * Starts cell `index` without waiting for it to end. The notebook is brought to
 * the front first: `notebook.cell.execute` acts on visible editors only.
 */
export async function start(editor: vscode.NotebookEditor, index: number): Promise<void> {
  if (vscode.window.activeNotebookEditor?.notebook !== editor.notebook) await vscode.window.showNotebookDocument(editor.notebook);
  await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: index, end: index + 1 }], document: editor.notebook.uri });
}

export const textOf = (items: OutputItemText[], mime: string) => items.filter(i => i.mime === mime).map(i => i.text).join('');

/** The error item of a cell's outputs, parsed ({ name, message, stack }), if any. */
export function errorOf(items: OutputItemText[]): { name: string; message: string; stack?: string } | undefined {
  const e = items.find(i => i.mime === ERROR);
  return e ? JSON.parse(e.text) : undefined;
}

/** One line per cell: index, success, order, outputs (mime: short text) — for assertion messages. */
export function describe(nb: vscode.NotebookDocument): string {
  return nb.getCells().map(c => {
    const s = c.executionSummary;
    const outs = outputItems(c).map(i => `${i.mime.replace('application/vnd.code.notebook.', '')}: ${i.text.slice(0, 200)}`);
    return `[${c.index}] success=${s?.success} order=${s?.executionOrder} ${JSON.stringify(outs)}`;
  }).join('\n');
}

/** Waits until a cell's stdout contains `text` (the cell is still running). */
export async function waitForStdout(cell: vscode.NotebookCell, text: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(`stdout of cell ${cell.index} to contain ${JSON.stringify(text)} (${describe(cell.notebook)})`, () => {
    const out = textOf(outputItems(cell), STDOUT);
    return out.includes(text) ? out : undefined;
  }, timeoutMs);
}

/** Closes the notebook's editor without saving its outputs (no save prompt). */
export async function closeNotebook(nb: vscode.NotebookDocument): Promise<void> {
  await vscode.window.showNotebookDocument(nb);
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
}
