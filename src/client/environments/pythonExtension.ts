// The Python extension's environments as discovery candidates, when ms-python.python
// is installed (through @vscode/python-extension; pyctx never declares it as an
// extensionDependencies entry, so it stays optional). Its list changing fires
// `onChange` so the registry refreshes.
import * as vscode from 'vscode';
import { PythonExtension, PVSC_EXTENSION_ID } from '@vscode/python-extension';
import type { Candidate } from './discover';

export function pythonExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(PVSC_EXTENSION_ID) !== undefined;
}

/** Environments the Python extension knows (with an interpreter); [] without it. */
export async function pythonExtensionCandidates(): Promise<Candidate[]> {
  if (!pythonExtensionInstalled()) return [];
  try {
    const api = await PythonExtension.api();
    return api.environments.known.flatMap(env => {
      const python = env.executable.uri?.fsPath;
      if (!python) return [];
      const name = env.environment?.name ?? env.environment?.folderUri?.path.split('/').pop();
      return [{ python, kind: 'python-extension' as const, ...(name ? { name } : {}) }];
    });
  } catch {
    return [];   // it failed to activate: the other sources still work
  }
}

/** Calls `onChange` when the Python extension's list of environments changes. */
export async function watchPythonExtension(onChange: () => void): Promise<vscode.Disposable> {
  if (!pythonExtensionInstalled()) return new vscode.Disposable(() => undefined);
  try {
    const api = await PythonExtension.api();
    return api.environments.onDidChangeEnvironments(() => onChange());
  } catch {
    return new vscode.Disposable(() => undefined);
  }
}
