// The pool status bar item: `$(server-process) bound/total` of the active
// notebook's pool (prefixed with its environment's name when that is not the
// default environment) plus the notebook's state, a tooltip with the pool's numbers, a warning background when
// no worker is free or requests queue, and a quick pick on click (sessions and
// pool actions). Driven by RefModel changes and editor focus; never polls.
import * as vscode from 'vscode';
import { humanBytes, sessionLabel, sessionStateIcon } from './format';
import { interpreterLabel, poolBound, poolCapacity } from './items';
import type { RefModel } from './model';
import { openPoolSizeSetting, unbindFromUi } from '../kernel/waiting';

export const PICK_COMMAND = 'pyctx.statusBar.pick';

export type ActiveState = 'idle' | 'running' | 'crashed' | 'not bound' | 'no notebook';

/** What the item shows, as plain data (exported API, tests). */
export interface StatusBarSnapshot {
  text: string;
  tooltip: string;
  /** 'warning' when no worker is free or requests queue; 'error' when the server is down. */
  level: 'normal' | 'warning' | 'error';
  activeState: ActiveState;
  command: string;
}

export interface StatusBarApi {
  snapshot(): StatusBarSnapshot;
  /** The quick pick's entries (labels), as shown on click. */
  pickItems(): string[];
}

export function createStatusBar(model: RefModel): { api: StatusBarApi; disposables: vscode.Disposable[] } {
  const item = vscode.window.createStatusBarItem('pyctx.pool', vscode.StatusBarAlignment.Right, 100);
  item.name = 'pyctx pool';
  item.command = PICK_COMMAND;
  const render = () => {
    const snap = compute(model);
    item.text = snap.text;
    const md = new vscode.MarkdownString(snap.tooltip.split('\n').join('  \n'));
    item.tooltip = md;
    item.backgroundColor = snap.level === 'normal' ? undefined
      : new vscode.ThemeColor(snap.level === 'warning' ? 'statusBarItem.warningBackground' : 'statusBarItem.errorBackground');
    item.show();
  };
  render();

  const disposables: vscode.Disposable[] = [item,
    model.onDidChange(node => { if (node === undefined) render(); }),
    vscode.window.onDidChangeActiveNotebookEditor(render),
    vscode.commands.registerCommand(PICK_COMMAND, () => showPick(model)),
  ];
  return { api: { snapshot: () => compute(model), pickItems: () => pickItems(model).map(i => i.label) }, disposables };
}

function activeState(model: RefModel): ActiveState {
  const editor = vscode.window.activeNotebookEditor;
  if (!editor) return 'no notebook';
  const s = model.sessionForNotebook(editor.notebook.uri.toString())?.session;
  if (!s) return 'not bound';
  return s.state === 'running' || s.state === 'crashed' ? s.state : 'idle';
}

function compute(model: RefModel): StatusBarSnapshot {
  const active = activeState(model);
  const base = { activeState: active, command: PICK_COMMAND };
  if (model.serverError) {
    return { ...base, text: '$(error) pyctx', level: 'error', tooltip: `pyctx pool server: ${model.serverError}` };
  }
  if (!model.stats) return { ...base, text: '$(loading~spin) pyctx', level: 'normal', tooltip: 'pyctx pool server is starting' };
  // The active notebook's pool (a notebook in another environment has its own pool).
  const editor = vscode.window.activeNotebookEditor;
  const env = (editor && model.sessionForNotebook(editor.notebook.uri.toString())?.session.environment) || '';
  const poolNode = model.poolNode(env);
  const stats = (env && poolNode?.stats) || model.stats;
  const envName = poolNode?.name ?? model.pool.name;
  const bound = poolBound(stats), total = poolCapacity(stats);
  const exhausted = stats.availableWorkers === 0 && bound >= total;
  const queued = stats.pendingRequests > 0;
  const mem = stats.workers.reduce((sum, w) => sum + (w.rssBytes || 0), 0);
  const state = active === 'no notebook' ? '' : ` ${active === 'running' ? '$(sync~spin)' : ''}${active}`;
  const lines = [
    `pyctx pool: ${bound} of ${total} workers bound`,
    `size: ${stats.size}`,
    `numWorkers: ${stats.numWorkers}`,
    `availableWorkers: ${stats.availableWorkers}`,
    `checkedOut: ${stats.checkedOut}`,
    `pendingRequests: ${stats.pendingRequests}`,
    `memory: ${humanBytes(mem)}`,
    `interpreter: ${interpreterLabel(stats)} (${stats.python})`,
    ...(envName ? [`environment: ${envName}`] : []),
    ...(model.pools.length > 1 ? [`pools: ${model.pools.length} (one per environment in use; Show Pool Stats lists them)`] : []),
  ];
  if (active !== 'no notebook') lines.push(`active notebook: ${active}`);
  if (exhausted) lines.push('No worker free: unbind or close a notebook, or raise pyctx.pool.size.');
  if (queued) lines.push(`${stats.pendingRequests} request(s) waiting for a worker.`);
  const prefix = env && envName ? `${envName} ` : '';
  return { ...base, text: `$(server-process) ${prefix}${bound}/${total}${state}`, tooltip: lines.join('\n'),
    level: exhausted || queued ? 'warning' : 'normal' };
}

type PickItem = vscode.QuickPickItem & { run?: () => Thenable<unknown> | Promise<unknown> };

function pickItems(model: RefModel): PickItem[] {
  const items: PickItem[] = [];
  const sessions = model.sessionNodesInOrder();
  items.push({ label: 'Sessions', kind: vscode.QuickPickItemKind.Separator });
  for (const node of sessions) {
    const s = node.session;
    items.push({
      label: `$(${sessionStateIcon(s.state)}) ${sessionLabel(s.notebookUri)}`,
      description: `pid ${s.pid} · ${humanBytes(s.rssBytes)} · ${s.state}`,
      detail: s.notebookUri,
      run: () => openNotebook(s.notebookUri),
    });
  }
  if (!sessions.length) items.push({ label: '$(info) No notebook is bound yet', description: 'run a cell with the pyctx kernel' });
  items.push({ label: 'Pool', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(graph) Show pool stats', run: () => vscode.commands.executeCommand('pyctx.showStats') });
  items.push({ label: '$(list-tree) Open Ref Explorer', run: () => vscode.commands.executeCommand('pyctx.refExplorer.focus') });
  const active = vscode.window.activeNotebookEditor?.notebook;
  if (active && model.sessionForNotebook(active.uri.toString())) {
    items.push({ label: '$(debug-disconnect) Unbind the active notebook', description: sessionLabel(active.uri.toString()),
      run: () => vscode.commands.executeCommand('pyctx.unbind', { ui: true, notebookUri: active.uri.toString() }) });
  }
  // No worker free: the same way out as a waiting cell's notification.
  const stats = model.stats;
  if (stats && stats.availableWorkers === 0 && poolBound(stats) >= poolCapacity(stats) && sessions.length) {
    const lru = [...sessions].sort((a, b) => (a.session.lastActiveAt ?? a.session.boundAt) - (b.session.lastActiveAt ?? b.session.boundAt))[0].session;
    items.push({ label: `$(debug-disconnect) Unbind ${sessionLabel(lru.notebookUri)}`, description: 'least recently used: frees a worker',
      run: () => unbindFromUi(lru.notebookUri, uri => model.unbind(uri)) });
    items.push({ label: '$(settings-gear) Raise pool size', description: `pyctx.pool.size is ${stats.size}`, run: () => openPoolSizeSetting() });
  }
  items.push({ label: '$(refresh) Refresh', run: () => model.refresh() });
  return items;
}

async function showPick(model: RefModel): Promise<void> {
  const picked = await vscode.window.showQuickPick(pickItems(model), { title: 'pyctx pool', matchOnDescription: true });
  await picked?.run?.();
}

/**
 * Shows a session's notebook. Never `workspace.openNotebookDocument`: the
 * reference it takes keeps the document alive for minutes after its editor
 * closes (VS Code holds extension-opened documents in a bounded cache), which
 * kept closed notebooks bound. `vscode.open` opens an editor and nothing more.
 */
async function openNotebook(uri: string): Promise<void> {
  const doc = vscode.workspace.notebookDocuments.find(d => d.uri.toString() === uri);
  if (doc) { await vscode.window.showNotebookDocument(doc); return; }
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.parse(uri), { preview: false });
}
