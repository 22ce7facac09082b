// A notebook remembers its environment in its own metadata, so it binds to it when
// reopened (also in another window or machine with the same paths) and Jupyter can
// still open the file: the kernelspec is written the way ipykernel writes it
// (`python3`, "Python 3 (ipykernel)", language python), language_info carries the
// version, and `metadata.pyctx` the interpreter path and the environment's name.
// The ipynb serializer keeps the file's metadata under `notebook.metadata.metadata`.
import * as vscode from 'vscode';
import type { PythonEnvironment } from '../client/environments';

export interface RecordedEnvironment { python: string; environment?: string }

/** The file-level (ipynb) metadata of a notebook. */
function fileMetadata(notebook: vscode.NotebookDocument): Record<string, unknown> {
  const m = notebook.metadata as Record<string, unknown> | undefined;
  const inner = (m?.metadata ?? (m?.custom as Record<string, unknown> | undefined)?.metadata) as Record<string, unknown> | undefined;
  return inner && typeof inner === 'object' ? inner : {};
}

/** The environment the notebook recorded, if any. */
export function recordedEnvironment(notebook: vscode.NotebookDocument): RecordedEnvironment | undefined {
  const r = fileMetadata(notebook).pyctx as Record<string, unknown> | undefined;
  if (!r || typeof r.python !== 'string' || !r.python) return undefined;
  return { python: r.python, ...(typeof r.environment === 'string' ? { environment: r.environment } : {}) };
}

/** Records `env` in the notebook (an edit: the notebook becomes dirty until saved). No-op when it is already recorded. */
export async function recordEnvironment(notebook: vscode.NotebookDocument, env: PythonEnvironment): Promise<boolean> {
  const current = recordedEnvironment(notebook);
  if (current?.python === env.python && current.environment === env.name) return false;
  const meta = fileMetadata(notebook);
  const languageInfo = (meta.language_info && typeof meta.language_info === 'object' ? meta.language_info : {}) as Record<string, unknown>;
  const next = {
    ...meta,
    kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
    language_info: { ...languageInfo, name: 'python', ...(env.version ? { version: env.version } : {}) },
    pyctx: { python: env.python, environment: env.name },
  };
  const edit = new vscode.WorkspaceEdit();
  edit.set(notebook.uri, [vscode.NotebookEdit.updateNotebookMetadata({ ...notebook.metadata, metadata: next })]);
  return vscode.workspace.applyEdit(edit);
}
