// The pyctx kernel for `jupyter-notebook` documents: one NotebookController per
// Python environment (controllers.ts; `pyctx` is the default environment's),
// routing executions to one NotebookRunner per notebook in the environment of the
// controller that ran it (a notebook that switches environment gets a new runner,
// and its old context ends), remembering the choice in the notebook (persistence.ts)
// and binding to it when reopened; a notebook whose environment is gone gets the
// actionable error (environmentErrors.ts). Also answers input()/getpass with an
// input box, unbinds notebooks when they close or switch to another kernel, forgets
// every binding when the server resets, and refuses to run in untrusted workspaces.
// Hidden notebooks (no tab) are unbound after a grace period (tabs.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PyctxClient } from '../client';
import type { EnvironmentRegistry } from '../client/environments';
import type { InputReply, InputRequestParams, PoolStatsPayload } from '../protocol/lsp';
import { NotebookRunner } from './notebookRunner';
import { errorOutput } from './mime';
import { CONTROLLER_ID, ControllerSet, NOTEBOOK_TYPE, type KernelTarget } from './controllers';
import { environmentErrorOutput, offerSelectEnvironment } from './environmentErrors';
import { recordedEnvironment, recordEnvironment } from './persistence';
import { TabFollower } from './tabs';
import { notifyWaiting } from './waiting';

export { CONTROLLER_ID, NOTEBOOK_TYPE } from './controllers';
/** How long a reopened notebook waits for VS Code's own kernel choice before pyctx selects its recorded one. */
const RESTORE_DELAY_MS = 750;

export class PyctxKernel implements vscode.Disposable {
  /** The default environment's controller (id `pyctx`). */
  readonly controller: vscode.NotebookController;
  readonly controllers: ControllerSet;
  private readonly runners = new Map<string, NotebookRunner>();
  /** Notebook URI -> id of the pyctx controller selected for it. */
  private readonly selected = new Map<string, string>();
  private boundContext: boolean | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runnersEmitter = new vscode.EventEmitter<void>();
  /** A notebook got or lost its runner (bound state may have changed). */
  readonly onDidChangeRunners = this.runnersEmitter.event;

  constructor(private readonly client: PyctxClient, readonly environments: EnvironmentRegistry, private readonly channel?: vscode.OutputChannel) {
    this.controllers = new ControllerSet(environments, {
      execute: (cells, notebook, target) => this.execute(cells, notebook, target),
      interrupt: notebook => this.runners.get(notebook.uri.toString())?.interrupt(),
      selectionChanged: (target, notebook, selected) => this.onSelection(target, notebook, selected),
      inUse: id => [...this.selected.entries()].some(([uri, c]) => c === id && vscode.workspace.notebookDocuments.some(nb => nb.uri.toString() === uri)),
    });
    this.controller = this.controllers.defaultTarget.controller;
    this.controller.description = client.python.python ?? 'python3 on PATH';

    this.disposables.push(
      this.controllers,
      this.runnersEmitter,
      client.setInputHandler((p, token) => this.askInput(p, token)),
      client.onSessionLost(l => this.runners.get(l.notebookUri)?.onSessionLost(l)),
      // A full pool: the waiting cell says so, and a notification offers a way out.
      client.onWaitingForWorker(w => {
        this.runners.get(w.notebookUri)?.onWaiting(w);
        if (w.waiting) void notifyWaiting(w, uri => client.unbind(uri));
      }),
      // Output printed after its cell ended: the runner that ran that execution appends it.
      client.onOutput(o => { if (o.late) for (const r of this.runners.values()) r.onLateOutput(o); }),
      client.onDidReset(e => {
        for (const r of this.runners.values()) r.onServerReset();
        // The default interpreter may have changed (pyctx.python, the Python extension's choice).
        if (e.reason === 'restarted') void environments.refresh();
      }),
      client.onStatsChanged(s => {
        this.showInterpreter(s);
        for (const r of this.runners.values()) r.syncFromServer(s.sessions.find(x => x.notebookUri === r.uri));
      }),
      environments.onDidChange(() => {
        this.controllers.sync();
        for (const nb of vscode.workspace.notebookDocuments) this.restoreEnvironment(nb);
      }),
      vscode.workspace.onDidOpenNotebookDocument(nb => this.restoreEnvironment(nb)),
      vscode.window.onDidChangeVisibleNotebookEditors(editors => { for (const e of editors) this.restoreEnvironment(e.notebook); }),
      vscode.workspace.onDidCloseNotebookDocument(nb => {
        if (this.runners.has(nb.uri.toString())) this.log(`${path.basename(nb.uri.path)} closed: its worker goes back to the pool`);
        void this.release(nb);
      }),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.updateBoundContext()),
      vscode.workspace.onDidChangeConfiguration(e => { if (e.affectsConfiguration('pyctx.python')) void environments.refresh(); }),
    );
    // Workers follow tabs: a notebook no tab shows for the grace period is unbound.
    this.disposables.push(new TabFollower({
      boundNotebooks: () => [...this.runners.values()].filter(r => r.bound || r.isBusy).map(r => r.notebook),
      releaseHidden: nb => this.release(nb),
      onDidChangeRunners: this.onDidChangeRunners,
      log: line => this.log(line),
    }));
    void client.stats().then(s => this.showInterpreter(s), () => undefined);
    void environments.refresh();
  }

  /** The runner of a notebook in the environment of `target` (default: the selected controller's), created on first use. */
  runnerFor(notebook: vscode.NotebookDocument, target: KernelTarget = this.targetOf(notebook)): NotebookRunner {
    const key = notebook.uri.toString();
    let r = this.runners.get(key);
    if (r && r.controller !== target.controller) {
      // The notebook switched environment: the old runner goes (the server ends its context on the next request).
      this.runners.delete(key);
      r.dispose();
      r = undefined;
    }
    if (!r) {
      r = new NotebookRunner(notebook, this.client, target.controller, target.python);
      r.onDidChangeStatus(() => { this.updateBoundContext(); this.runnersEmitter.fire(); });
      r.log = line => this.channel?.appendLine(`[${new Date().toISOString()}] ${line}`);
      r.showLog = () => this.channel?.show(true);
      this.runners.set(key, r);
      this.runnersEmitter.fire();
    }
    return r;
  }

  /** The runner of a notebook, if it has one (it ran or was bound). */
  existingRunner(uri: vscode.Uri | string): NotebookRunner | undefined {
    return this.runners.get(uri.toString());
  }

  /** Whether the user (or a command) chose a pyctx kernel for this notebook. */
  isSelectedFor(notebook: vscode.NotebookDocument): boolean {
    return this.selected.has(notebook.uri.toString());
  }

  /** The pyctx controller selected for the notebook, if one is. */
  selectedControllerId(uri: vscode.Uri | string): string | undefined {
    return this.selected.get(uri.toString());
  }

  /** The controller the notebook uses: the selected pyctx one, else the one it recorded, else the default. */
  targetOf(notebook: vscode.NotebookDocument): KernelTarget {
    const id = this.selected.get(notebook.uri.toString());
    const chosen = id ? this.controllers.get(id) : undefined;
    if (chosen) return chosen;
    const recorded = recordedEnvironment(notebook);
    return recorded ? this.controllers.forPython(recorded.python, recorded.environment) : this.controllers.defaultTarget;
  }

  private execute(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument, target: KernelTarget): void {
    if (!vscode.workspace.isTrusted) {
      // Restricted mode: never run user code; say why on each cell.
      for (const cell of cells) {
        const exec = target.controller.createNotebookCellExecution(cell);
        exec.start(Date.now());
        void exec.replaceOutput(errorOutput('WorkspaceNotTrusted',
          'pyctx does not run code in an untrusted workspace. Trust the workspace (Manage Workspace Trust) to run cells.', []));
        exec.end(false, Date.now());
      }
      return;
    }
    if (target.unavailable) {
      // Its interpreter is gone or broken: say so on each cell, offer the picker; nothing runs.
      const name = target.controller.label.replace(/^pyctx: /, '');
      for (const cell of cells) {
        const exec = target.controller.createNotebookCellExecution(cell);
        exec.start(Date.now());
        void exec.replaceOutput(environmentErrorOutput(name, target.unavailable));
        exec.end(false, Date.now());
      }
      void offerSelectEnvironment(notebook, name);
      return;
    }
    this.runnerFor(notebook, target).enqueueCells(cells);
  }

  private onSelection(target: KernelTarget, notebook: vscode.NotebookDocument, selected: boolean): void {
    const key = notebook.uri.toString();
    if (selected) {
      this.selected.set(key, target.controller.id);
      // Remember a choice other than the default (or a change of a recorded one); the default needs no edit.
      const env = target.env;
      const recorded = recordedEnvironment(notebook);
      if (env && (!target.isDefault || (recorded && recorded.python !== env.python))) void recordEnvironment(notebook, env).catch(() => false);
      return;
    }
    if (this.selected.get(key) === target.controller.id) this.selected.delete(key);
    const r = this.runners.get(key);
    if (r && r.controller === target.controller) void this.release(notebook);
  }

  /** A notebook that recorded an environment prefers its controller and, once shown, is bound to it. */
  private restoreEnvironment(notebook: vscode.NotebookDocument): void {
    if (notebook.notebookType !== NOTEBOOK_TYPE) return;
    const recorded = recordedEnvironment(notebook);
    if (!recorded) { this.controllers.prefer(notebook); return; }
    const target = this.controllers.forPython(recorded.python, recorded.environment);
    this.controllers.prefer(notebook, target);
    setTimeout(() => {
      if (notebook.isClosed || this.selected.has(notebook.uri.toString())) return;
      const editor = vscode.window.visibleNotebookEditors.find(e => e.notebook === notebook);
      if (!editor) return;
      void vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id: target.controller.id, extension: 'pyctx.pyctx' });
    }, RESTORE_DELAY_MS);
  }

  /** input()/getpass(): an input box (masked for passwords); Escape raises KeyboardInterrupt in the cell. */
  private async askInput(p: InputRequestParams, token: vscode.CancellationToken): Promise<InputReply> {
    const name = path.basename(vscode.Uri.parse(p.notebookUri).path);
    const value = await vscode.window.showInputBox({
      title: `Input requested by ${name}`,
      prompt: p.prompt || (p.password ? 'Password' : 'Input'),
      password: p.password,
      ignoreFocusOut: true,
    }, token);
    return value === undefined ? { cancelled: true } : { value };
  }

  /** The notebook closed or chose another kernel: give its worker back to the pool. */
  private async release(notebook: vscode.NotebookDocument): Promise<void> {
    const key = notebook.uri.toString();
    if (!vscode.workspace.notebookDocuments.includes(notebook)) this.selected.delete(key);
    const r = this.runners.get(key);
    if (!r) {
      // No runner (never run here, or replaced): the server may still hold a binding for it.
      if (this.client.isRunning) await this.client.unbind(key).catch(() => undefined);
      return;
    }
    this.runners.delete(key);
    this.runnersEmitter.fire();
    this.updateBoundContext();
    try { await r.unbind(); } catch { /* server gone: nothing is bound any more */ }
    r.dispose();
  }

  private log(line: string): void {
    this.channel?.appendLine(`[${new Date().toISOString()}] ${line}`);
  }

  /** `pyctx.notebookBound` drives the toolbar's Bind/Unbind button for the active notebook. */
  private updateBoundContext(): void {
    const nb = vscode.window.activeNotebookEditor?.notebook;
    const r = nb && this.runners.get(nb.uri.toString());
    const bound = !!r && (r.bound || r.isBusy);
    if (bound === this.boundContext) return;
    this.boundContext = bound;
    void vscode.commands.executeCommand('setContext', 'pyctx.notebookBound', bound);
  }

  /** Until discovery names the default environment, the default controller shows what the pool runs. */
  private showInterpreter(s: PoolStatsPayload): void {
    if (this.controllers.defaultTarget.env) return;
    const version = /^(\d+\.\d+\.\d+)/.exec(s.pythonVersion ?? '')?.[1];
    if (version) this.controller.label = `pyctx: Python ${version}`;
    if (version) this.controller.description = `Python ${version}`;
    if (s.python && s.state !== 'stopped') this.controller.detail = s.python;
  }

  dispose(): void {
    for (const r of this.runners.values()) r.dispose();
    this.runners.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
