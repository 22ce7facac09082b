// Which notebook a command is about. Commands are invoked from the palette (no
// argument: the active notebook), the notebook toolbar (the editor's URI or
// `{ notebookEditor }`), the Ref Explorer (a session node carrying `notebookUri`),
// or other extensions and tests (a Uri or its string form).
import * as vscode from 'vscode';

export function targetNotebook(arg: unknown): vscode.NotebookDocument | undefined {
  const uri = targetUri(arg);
  if (!uri) return vscode.window.activeNotebookEditor?.notebook;
  const key = uri.toString();
  return vscode.workspace.notebookDocuments.find(nb => nb.uri.toString() === key);
}

function targetUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string') return vscode.Uri.parse(arg);
  if (!arg || typeof arg !== 'object') return undefined;
  const o = arg as Record<string, unknown>;
  if (o.uri instanceof vscode.Uri) return o.uri;                                  // NotebookDocument
  if (typeof o.notebookUri === 'string') return vscode.Uri.parse(o.notebookUri);   // session node / payloads
  if (o.notebookUri instanceof vscode.Uri) return o.notebookUri;
  const editor = (o.notebookEditor ?? o.notebook) as { notebook?: { uri?: unknown }; uri?: unknown } | undefined;
  if (editor?.notebook?.uri instanceof vscode.Uri) return editor.notebook.uri;   // toolbar context
  if (editor?.uri instanceof vscode.Uri) return editor.uri;
  return undefined;
}
