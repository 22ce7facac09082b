// One NotebookController per Python environment (EnvironmentRegistry): label
// `pyctx: <environment>`, description its Python version, detail its path. The
// controller with id `pyctx` always stands for the default environment (what the
// default pool runs), so everything that selects `pyctx` keeps working; the
// others are `pyctx-env-<environment id>` and send their interpreter with every
// request, so the server runs them in that interpreter's pool. An environment that
// vanished on refresh keeps its controller while a notebook uses it (marked
// unavailable: running then gives the actionable error); a notebook that records
// an environment nobody found gets one the same way. The workspace's active
// interpreter (the default) is marked preferred for every notebook.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EnvironmentRegistry, PythonEnvironment } from '../client/environments';

export const CONTROLLER_ID = 'pyctx';
export const NOTEBOOK_TYPE = 'jupyter-notebook';
export const envControllerId = (envId: string): string => `pyctx-env-${envId}`;

export interface KernelTarget {
  readonly controller: vscode.NotebookController;
  /** The interpreter sent to the server; undefined = the default pool. */
  python: string | undefined;
  env: PythonEnvironment | undefined;
  /** Why it cannot run (missing or broken interpreter); undefined when it can. */
  unavailable: string | undefined;
  readonly isDefault: boolean;
}

export interface ControllerHooks {
  execute(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument, target: KernelTarget): void;
  interrupt(notebook: vscode.NotebookDocument): void;
  selectionChanged(target: KernelTarget, notebook: vscode.NotebookDocument, selected: boolean): void;
  /** Whether an open notebook has this controller selected (an unavailable one then stays). */
  inUse(controllerId: string): boolean;
}

export class ControllerSet implements vscode.Disposable {
  readonly defaultTarget: KernelTarget;
  private readonly targets = new Map<string, KernelTarget>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Controllers were added, removed or relabelled. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly registry: EnvironmentRegistry, private readonly hooks: ControllerHooks) {
    this.defaultTarget = this.create(CONTROLLER_ID, undefined, true);
    this.defaultTarget.controller.label = 'pyctx (Python)';
    this.defaultTarget.controller.detail = 'Runs cells in a warm worker of the shared pyctx pool';
  }

  get(controllerId: string): KernelTarget | undefined { return this.targets.get(controllerId); }
  all(): KernelTarget[] { return [...this.targets.values()]; }

  /** The controller of an interpreter path (as a notebook records it); one marked unavailable if nobody found it. */
  forPython(python: string, recordedName?: string): KernelTarget {
    const def = this.defaultTarget;
    if (def.env?.python === python) return def;
    const env = this.registry.byPython(python);
    const id = envControllerId(env?.id ?? `missing-${Buffer.from(python).toString('hex').slice(-24)}`);
    const existing = this.targets.get(id);
    if (existing) return existing;
    if (env) { this.sync(); return this.targets.get(id) ?? def; }
    const t = this.create(id, undefined, false);
    t.python = python;
    t.unavailable = `${python} was not found`;
    this.label(t, recordedName ?? path.basename(path.dirname(path.dirname(python))) ?? python);
    this.changed.fire();
    return t;
  }

  /** Follows the registry: a controller per environment, the default's on `pyctx`. */
  sync(): void {
    const envs = this.registry.list();
    const defaultId = this.registry.defaultId;
    const def = this.defaultTarget;
    def.env = envs.find(e => e.id === defaultId);
    // The default's failures are the server's to report (no_python names what it tried).
    if (def.env) this.label(def, def.env.name);
    const wanted = new Set<string>();
    for (const env of envs) {
      if (env.id === defaultId) continue;
      const id = envControllerId(env.id);
      wanted.add(id);
      const t = this.targets.get(id) ?? this.create(id, env, false);
      t.env = env;
      t.python = env.python;
      t.unavailable = env.error;
      this.label(t, env.name);
    }
    for (const [id, t] of this.targets) {
      if (t.isDefault || wanted.has(id)) continue;
      // A notebook still uses it (or records it): keep it, marked unavailable.
      const stillRecorded = t.env === undefined && t.unavailable !== undefined;
      if (this.hooks.inUse(id) || stillRecorded) {
        t.unavailable ??= `${t.python} is no longer available`;
        t.env = undefined;
        t.controller.description = 'not found';
        continue;
      }
      this.targets.delete(id);
      t.controller.dispose();
    }
    this.changed.fire();
  }

  /** The default (the workspace's active interpreter) is preferred for this notebook. */
  prefer(notebook: vscode.NotebookDocument, target: KernelTarget = this.defaultTarget): void {
    // One preferred controller per notebook: VS Code then runs a notebook with no choice yet on it.
    if (target !== this.defaultTarget) this.defaultTarget.controller.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Default);
    target.controller.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Preferred);
  }

  dispose(): void {
    for (const t of this.targets.values()) t.controller.dispose();
    this.targets.clear();
    this.changed.dispose();
  }

  private create(id: string, env: PythonEnvironment | undefined, isDefault: boolean): KernelTarget {
    const c = vscode.notebooks.createNotebookController(id, NOTEBOOK_TYPE, 'pyctx', (cells, notebook) => this.hooks.execute(cells, notebook, t));
    c.supportedLanguages = ['python'];
    c.supportsExecutionOrder = true;
    c.interruptHandler = notebook => this.hooks.interrupt(notebook);
    const t: KernelTarget = { controller: c, python: env?.python, env, unavailable: env?.error, isDefault };
    c.onDidChangeSelectedNotebooks(({ notebook, selected }) => this.hooks.selectionChanged(t, notebook, selected));
    this.targets.set(id, t);
    return t;
  }

  private label(t: KernelTarget, name: string): void {
    const c = t.controller;
    c.label = `pyctx: ${name}`;
    c.description = t.unavailable && !t.env ? 'not found' : t.env?.version ? `Python ${t.env.version}` : t.unavailable ? 'unavailable' : '';
    c.detail = t.env?.error ? `${t.env.python} — ${t.env.error}` : (t.env?.python ?? t.python ?? c.detail);
  }
}
