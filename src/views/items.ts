// How each Ref Explorer node looks: TreeItems for VS Code, and the same facts as
// plain data (PlainNode) for the extension's exported API and the tests. One
// function describes a node; both shapes are derived from it so they cannot drift.
import * as vscode from 'vscode';
import type { PoolStatsPayload } from '../client';
import { age, humanBytes, sessionLabel, sessionStateIcon, shortRepr } from './format';
import type { TreeNode } from './model';

/** A tree node as plain data: what the exported `refExplorer` API returns. */
export interface PlainNode {
  id: string;
  kind: TreeNode['kind'];
  label: string;
  description: string;
  tooltip: string;
  contextValue: string;
  icon: string;
  collapsible: boolean;
  sessionId?: string;
  notebookUri?: string;
  refId?: string;
  name?: string;
  typeName?: string;
  sizeBytes?: number;
  state?: string;
  pid?: number;
  remaining?: number;
}

/** Workers the pool may run: the size the server's pool runs with (stats.size), not
 *  the setting, which may be invalid (the server used its default) or not yet applied. */
export function poolCapacity(stats: PoolStatsPayload): number { return stats.size; }

/** Bound workers: one per session (checkedOut counts exactly those). */
export function poolBound(stats: PoolStatsPayload): number { return stats.checkedOut; }

export function interpreterLabel(stats: PoolStatsPayload): string {
  if (stats.pythonVersion) return `Python ${stats.pythonVersion.split(' ')[0]}`;
  return stats.python.split(/[\\/]/).pop() || stats.python;
}

/** The layer running cells: "IPython 8.5" or "built-in" (long: with version and why). */
export function shellLabel(stats: PoolStatsPayload, long: boolean): string {
  if (stats.shell === 'ipython') return long ? `IPython ${stats.ipythonVersion ?? ''} shell`.replace('  ', ' ') : `IPython ${(stats.ipythonVersion ?? '').split('.').slice(0, 2).join('.')}`.trim();
  if (!stats.shell) return long ? 'unknown (starting)' : '';
  return long ? `built-in layer${stats.shellNote ? ` (${stats.shellNote})` : ''}` : 'built-in';
}

export function describe(node: TreeNode, stats: PoolStatsPayload | undefined, now = Date.now()): PlainNode {
  switch (node.kind) {
    case 'pool': {
      stats = node.stats ?? stats;
      if (!stats) return base(node, 'pyctx pool', 'starting…', 'The pool server is starting', 'pyctx.pool', 'loading~spin', true);
      const bound = poolBound(stats), total = poolCapacity(stats);
      const queued = stats.pendingRequests ? ` · ${stats.pendingRequests} queued` : '';
      const state = stats.state && stats.state !== 'running' ? ` · ${stats.state}` : '';
      const mem = stats.workers.reduce((sum, w) => sum + (w.rssBytes || 0), 0);
      const label = node.name ? `${node.name} · ${interpreterLabel(stats)}` : interpreterLabel(stats);
      const tooltip = [...(node.name ? [`Environment: ${node.name}`] : []), `Interpreter: ${stats.python}${stats.pythonVersion ? ` (${stats.pythonVersion})` : ''}`,
        `Workers: ${stats.numWorkers} started, ${total} max`, `Bound: ${bound}`, `Available: ${stats.availableWorkers}`,
        `Queued requests: ${stats.pendingRequests}`, `Memory: ${humanBytes(mem)}`, `Cells: ${shellLabel(stats, true)}`].join('\n');
      const shell = stats.shell ? ` · ${shellLabel(stats, false)}` : '';
      return base(node, label, `${bound}/${total} bound${queued}${state}${shell} · ${stats.python}`, tooltip, 'pyctx.pool', 'server-process', true);
    }
    case 'session': {
      const s = node.session;
      const description = `pid ${s.pid} · ${humanBytes(s.rssBytes)} · ${s.state} · bound ${age(s.boundAt, now)}`;
      const tooltip = [s.notebookUri, `Worker pid ${s.pid}, ${humanBytes(s.rssBytes)} resident`,
        `State: ${s.state}`, `Bound ${new Date(s.boundAt).toLocaleString()} (${age(s.boundAt, now)} ago)`,
        `Cells run: ${s.executionCount}`].join('\n');
      return { ...base(node, sessionLabel(s.notebookUri), description, tooltip, `pyctx.session.${s.state}`, sessionStateIcon(s.state), true),
        sessionId: s.sessionId, notebookUri: s.notebookUri, state: s.state, pid: s.pid };
    }
    case 'ref': {
      const r = node.ref;
      const label = r.name ?? r.id;
      const description = `${r.typeName} · ${humanBytes(r.sizeBytes)} · ${age(r.lastAccess, now)}`;
      const type = r.pythonModule && r.pythonModule !== 'builtins' ? `${r.pythonModule}.${r.typeName}` : r.typeName;
      const tooltip = [`${label}: ${type} (${r.kind})`, `Size: ${humanBytes(r.sizeBytes)} (${r.sizeBytes} bytes)`,
        `Created ${age(r.createdAt, now)} ago, last access ${age(r.lastAccess, now)} ago`, '', shortRepr(r.repr)].join('\n');
      return { ...base(node, label, description, tooltip, `pyctx.ref.${r.kind}`, refIcon(r.kind), false),
        sessionId: r.sessionId, notebookUri: node.parent.session.notebookUri, refId: r.id, name: r.name,
        typeName: r.typeName, sizeBytes: r.sizeBytes };
    }
    case 'more': {
      const remaining = node.total - node.loaded;
      return { ...base(node, `+${remaining} more`, `showing ${node.loaded} of ${node.total}`, 'Load the next page of objects',
        'pyctx.more', 'ellipsis', false), sessionId: node.parent.session.sessionId, remaining };
    }
    case 'idle': {
      const mem = node.workers.reduce((sum, w) => sum + (w.rssBytes || 0), 0);
      const n = node.workers.length;
      const tooltip = node.workers.map(w => `pid ${w.pid}: ${w.state}, ${humanBytes(w.rssBytes)}`).join('\n');
      return base(node, `${n} idle worker${n === 1 ? '' : 's'}`, `${humanBytes(mem)} · warm, ready to bind`, tooltip, 'pyctx.idle', 'debug-pause', false);
    }
    case 'history': {
      const bytes = node.refs.reduce((sum, r) => sum + r.ref.sizeBytes, 0);
      const n = node.refs.length;
      return { ...base(node, 'Output history', `${n} result${n === 1 ? '' : 's'} · ${humanBytes(bytes)}`,
        'Cell results kept as output history (_, _N, Out). Releasing a variable releases the history entries holding the same object.',
        'pyctx.history', 'history', true), sessionId: node.parent.session.sessionId };
    }
    case 'note':
      return { ...base(node, node.text, '', node.text, 'pyctx.note', 'info', false), sessionId: node.parent.session.sessionId };
  }
}

function refIcon(kind: string): string {
  return kind === 'variable' ? 'symbol-variable' : kind === 'result' ? 'output' : 'symbol-object';
}

function base(node: TreeNode, label: string, description: string, tooltip: string, contextValue: string,
  icon: string, collapsible: boolean): PlainNode {
  return { id: node.id, kind: node.kind, label, description, tooltip, contextValue, icon, collapsible };
}

export function toTreeItem(node: TreeNode, stats: PoolStatsPayload | undefined): vscode.TreeItem {
  const p = describe(node, stats);
  const item = new vscode.TreeItem(p.label);
  item.id = p.id;
  item.description = p.description;
  item.contextValue = p.contextValue;
  item.iconPath = new vscode.ThemeIcon(p.icon, iconColor(node));
  item.collapsibleState = !p.collapsible ? vscode.TreeItemCollapsibleState.None
    : node.kind === 'pool' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
  // Ref tooltips carry the repr: left out here, filled by resolveTreeItem on hover.
  if (node.kind !== 'ref') item.tooltip = p.tooltip;
  if (node.kind === 'more') {
    item.command = { command: 'pyctx.refExplorer.loadMore', title: 'Load more', arguments: [node] };
  }
  return item;
}

/** A ref's tooltip: type, size, times, then the short repr as a Python code block. */
export function refTooltip(node: TreeNode, stats: PoolStatsPayload | undefined): vscode.MarkdownString {
  const [head, ...rest] = describe(node, stats).tooltip.split('\n\n');
  const md = new vscode.MarkdownString();
  md.appendText(head);
  md.appendCodeblock(rest.join('\n\n'), 'python');
  return md;
}

function iconColor(node: TreeNode): vscode.ThemeColor | undefined {
  if (node.kind !== 'session') return undefined;
  if (node.session.state === 'crashed') return new vscode.ThemeColor('errorForeground');
  if (node.session.state === 'running') return new vscode.ThemeColor('charts.green');
  return undefined;
}
