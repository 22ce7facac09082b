// Which Python the pool server runs: the `pyctx.python` setting, else the Python
// extension's active interpreter (when ms-python.python is installed), else
// nothing, and the server tries `python3` then `python` on PATH itself (it reports
// every interpreter it tried when none works). Pools are per interpreter, so a
// change here needs a new server (client.ts restarts it, or asks first when notebooks are bound).
import * as vscode from 'vscode';
import { PythonExtension, PVSC_EXTENSION_ID } from '@vscode/python-extension';

export type InterpreterSource = 'setting' | 'python-extension' | 'path';
export interface ResolvedInterpreter { python?: string; source: InterpreterSource }

function pythonExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(PVSC_EXTENSION_ID) !== undefined;
}

/** `resource` only scopes the Python extension's choice (per folder); `pyctx.python`
 *  is window-scoped (one pool per window), so it is read without a resource: reading
 *  it for a resource makes VS Code log a warning and could never differ. */
export async function resolveInterpreter(resource?: vscode.Uri): Promise<ResolvedInterpreter> {
  const configured = vscode.workspace.getConfiguration('pyctx').get<string>('python')?.trim();
  if (configured) return { python: configured, source: 'setting' };
  if (pythonExtensionInstalled()) {
    try {
      const api = await PythonExtension.api();
      const active = api.environments.getActiveEnvironmentPath(resource);
      const env = await api.environments.resolveEnvironment(active);
      const exe = env?.executable.uri?.fsPath ?? active.path;
      if (exe) return { python: exe, source: 'python-extension' };
    } catch {
      // The Python extension failed to activate or resolve: fall through to PATH.
    }
  }
  return { source: 'path' };
}

/** Calls `onChange` when the Python extension's active interpreter changes. */
export async function watchActiveInterpreter(onChange: () => void): Promise<vscode.Disposable> {
  if (!pythonExtensionInstalled()) return new vscode.Disposable(() => undefined);
  try {
    const api = await PythonExtension.api();
    return api.environments.onDidChangeActiveEnvironmentPath(() => onChange());
  } catch {
    return new vscode.Disposable(() => undefined);
  }
}
