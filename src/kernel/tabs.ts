// Workers follow tabs: a bound notebook that no tab shows (window.tabGroups, every
// group) for `pyctx.releaseClosedAfterSeconds` (default 10) gives its worker back.
// VS Code disposes a closed notebook's document only when nothing references it
// any more (an extension's openNotebookDocument keeps it for minutes), so the
// document-close event alone could strand a worker; tabs say what the user sees.
// A notebook that is shown again within the grace period keeps its worker.
// This file owns only the timers; the controller does the unbinding.
import * as vscode from 'vscode';

export const DEFAULT_RELEASE_AFTER_SECONDS = 10;

export interface TabFollowerHost {
  /** Notebooks that hold (or are getting) a worker. */
  boundNotebooks(): vscode.NotebookDocument[];
  /** Gives the notebook's worker back to the pool. */
  releaseHidden(notebook: vscode.NotebookDocument): Promise<void>;
  readonly onDidChangeRunners: vscode.Event<void>;
  /** A line for the pyctx output channel (why a worker was given back). */
  log?(line: string): void;
}

/** URIs (string form) of every notebook some tab shows, in any group. */
export function notebooksInTabs(): Set<string> {
  const out = new Set<string>();
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      const input = tab.input;
      if (input instanceof vscode.TabInputNotebook) out.add(input.uri.toString());
      else if (input instanceof vscode.TabInputNotebookDiff) { out.add(input.original.toString()); out.add(input.modified.toString()); }
    }
  }
  return out;
}

const nameOf = (uri: string) => decodeURIComponent(uri.split('/').pop() ?? uri);

export function releaseAfterSeconds(): number {
  const v = vscode.workspace.getConfiguration('pyctx').get<number>('releaseClosedAfterSeconds');
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : DEFAULT_RELEASE_AFTER_SECONDS;
}

export class TabFollower implements vscode.Disposable {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly host: TabFollowerHost) {
    this.disposables = [
      vscode.window.tabGroups.onDidChangeTabs(() => this.check()),
      vscode.window.tabGroups.onDidChangeTabGroups(() => this.check()),
      host.onDidChangeRunners(() => this.check()),
    ];
  }

  /** Arms a timer for each bound notebook no tab shows; disarms it for shown ones. */
  check(): void {
    const shown = notebooksInTabs();
    const bound = new Map(this.host.boundNotebooks().map(nb => [nb.uri.toString(), nb]));
    for (const [uri, timer] of this.timers) {
      if (shown.has(uri) || !bound.has(uri)) { clearTimeout(timer); this.timers.delete(uri); }
    }
    for (const [uri, nb] of bound) {
      if (shown.has(uri) || this.timers.has(uri)) continue;
      const seconds = releaseAfterSeconds();
      this.host.log?.(`${nameOf(uri)} is shown in no tab: its worker is released in ${seconds} s unless it is shown again`);
      this.timers.set(uri, setTimeout(() => {
        this.timers.delete(uri);
        // Still hidden and still bound: release (a reopened notebook disarmed us).
        if (!notebooksInTabs().has(uri) && this.host.boundNotebooks().some(b => b.uri.toString() === uri)) {
          this.host.log?.(`${nameOf(uri)}: shown in no tab for ${seconds} s, its worker goes back to the pool`);
          void this.host.releaseHidden(nb);
        }
      }, seconds * 1000));
    }
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
