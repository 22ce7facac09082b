// The `pyctx` NotebookController for `jupyter-notebook` documents: routes
// executions to one NotebookRunner per notebook, answers input()/getpass from the
// pool server with an input box, unbinds notebooks when they close or switch to
// another kernel, forgets every binding when the server resets, refuses to run
// in untrusted workspaces, and keeps its label on the interpreter in use.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PyctxClient } from '../client';
import type { InputReply, InputRequestParams, PoolStatsPayload } from '../protocol/lsp';
import { NotebookRunner } from './notebookRunner';
import { errorOutput } from './mime';

export const CONTROLLER_ID = 'pyctx';
export const NOTEBOOK_TYPE = 'jupyter-notebook';

export class PyctxKernel implements vscode.Disposable {
  readonly controller: vscode.NotebookController;
  private readonly runners = new Map<string, NotebookRunner>();
  private readonly selected = new Set<string>();
  private boundContext: boolean | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runnersEmitter = new vscode.EventEmitter<void>();
  /** A notebook got or lost its runner (bound state may have changed). */
  readonly onDidChangeRunners = this.runnersEmitter.event;

  constructor(private readonly client: PyctxClient) {
    const c = vscode.notebooks.createNotebookController(CONTROLLER_ID, NOTEBOOK_TYPE, 'pyctx (Python)',
      (cells, notebook) => this.execute(cells, notebook));
    c.supportedLanguages = ['python'];
    c.supportsExecutionOrder = true;
    c.description = client.python.python ?? 'python3 on PATH';
    c.detail = 'Runs cells in a warm worker of the shared pyctx pool';
    c.interruptHandler = notebook => this.runners.get(notebook.uri.toString())?.interrupt();
    this.controller = c;

    this.disposables.push(
      c,
      this.runnersEmitter,
      client.setInputHandler((p, token) => this.askInput(p, token)),
      client.onSessionLost(l => this.runners.get(l.notebookUri)?.onSessionLost(l)),
      // Output printed after its cell ended: the runner that ran that execution appends it.
      client.onOutput(o => { if (o.late) for (const r of this.runners.values()) r.onLateOutput(o); }),
      client.onDidReset(() => { for (const r of this.runners.values()) r.onServerReset(); }),
      client.onStatsChanged(s => {
        this.showInterpreter(s);
        for (const r of this.runners.values()) r.syncFromServer(s.sessions.find(x => x.notebookUri === r.uri));
      }),
      vscode.workspace.onDidCloseNotebookDocument(nb => void this.release(nb)),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.updateBoundContext()),
      c.onDidChangeSelectedNotebooks(({ notebook, selected }) => {
        if (selected) { this.selected.add(notebook.uri.toString()); return; }
        this.selected.delete(notebook.uri.toString());
        void this.release(notebook);
      }),
    );
    void client.stats().then(s => this.showInterpreter(s), () => undefined);
  }

  /** The runner of a notebook, created on first use. */
  runnerFor(notebook: vscode.NotebookDocument): NotebookRunner {
    const key = notebook.uri.toString();
    let r = this.runners.get(key);
    if (!r) {
      r = new NotebookRunner(notebook, this.client, this.controller);
      r.onDidChangeStatus(() => this.updateBoundContext());
      this.runners.set(key, r);
      this.runnersEmitter.fire();
    }
    return r;
  }

  /** The runner of a notebook, if it has one (it ran or was bound). */
  existingRunner(uri: vscode.Uri | string): NotebookRunner | undefined {
    return this.runners.get(uri.toString());
  }

  /** Whether the user (or a command) chose the pyctx kernel for this notebook. */
  isSelectedFor(notebook: vscode.NotebookDocument): boolean {
    return this.selected.has(notebook.uri.toString());
  }

  private execute(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): void {
    if (!vscode.workspace.isTrusted) {
      // Restricted mode: never run user code; say why on each cell.
      for (const cell of cells) {
        const exec = this.controller.createNotebookCellExecution(cell);
        exec.start(Date.now());
        void exec.replaceOutput(errorOutput('WorkspaceNotTrusted',
          'pyctx does not run code in an untrusted workspace. Trust the workspace (Manage Workspace Trust) to run cells.', []));
        exec.end(false, Date.now());
      }
      return;
    }
    this.runnerFor(notebook).enqueueCells(cells);
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
    if (!r) return;
    this.runners.delete(key);
    this.runnersEmitter.fire();
    this.updateBoundContext();
    try { await r.unbind(); } catch { /* server gone: nothing is bound any more */ }
    r.dispose();
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

  private showInterpreter(s: PoolStatsPayload): void {
    const version = /^(\d+\.\d+)/.exec(s.pythonVersion ?? '')?.[1];
    this.controller.label = version ? `pyctx (Python ${version})` : 'pyctx (Python)';
    if (s.python) this.controller.description = s.python;
  }

  dispose(): void {
    for (const r of this.runners.values()) r.dispose();
    this.runners.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
