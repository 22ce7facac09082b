// What a notebook shows when its environment cannot run (its interpreter was
// removed, is broken or too old): the cell gets an error that says so in plain
// words, and a notification offers "Select Environment", which opens the kernel
// picker for that notebook. One notification per notebook at a time.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorOutput } from './mime';

export const SELECT_ENVIRONMENT = 'Select Environment';
const asking = new Set<string>();

export function environmentErrorOutput(name: string, reason: string): vscode.NotebookCellOutput {
  const text = `The Python environment "${name}" is not available: ${reason}. `
    + `Select another environment for this notebook (${SELECT_ENVIRONMENT}, or the kernel picker at the top right), or recreate this one.`;
  return errorOutput('EnvironmentUnavailable', text, [`EnvironmentUnavailable: ${text}`]);
}

/** Offers the kernel picker for the notebook; resolves when the user answered (or dismissed). */
export async function offerSelectEnvironment(notebook: vscode.NotebookDocument, name: string): Promise<void> {
  const key = notebook.uri.toString();
  if (asking.has(key)) return;
  asking.add(key);
  try {
    const choice = await vscode.window.showErrorMessage(
      `pyctx: the Python environment "${name}" of ${path.basename(notebook.uri.path)} is not available.`, SELECT_ENVIRONMENT);
    if (choice !== SELECT_ENVIRONMENT) return;
    const editor = vscode.window.visibleNotebookEditors.find(e => e.notebook === notebook)
      ?? await vscode.window.showNotebookDocument(notebook);
    await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor });
  } finally {
    asking.delete(key);
  }
}
