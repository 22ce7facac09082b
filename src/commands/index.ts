// The kernel's palette/toolbar commands (category "pyctx"), each a small factory
// over the kernel and client so it can be registered (and read) on its own:
// pyctx.bind, pyctx.unbind, pyctx.restart, pyctx.interrupt, pyctx.showStats.
// Each returns a value too, for other extensions, scripts and tests.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PyctxClient } from '../client';
import type { PoolStatsPayload, SessionInfo } from '../protocol/lsp';
import { CONTROLLER_ID, type PyctxKernel } from '../kernel/controller';
import { formatBytes } from '../kernel/cellOutputs';
import { targetNotebook } from './target';
import { confirmStateLoss, invokedFromUi } from './confirm';

export const EXTENSION_ID = 'pyctx.pyctx';
type Handler = (arg?: unknown) => Promise<unknown>;

function needNotebook(arg: unknown): vscode.NotebookDocument | undefined {
  const nb = targetNotebook(arg);
  if (!nb) void vscode.window.showErrorMessage('pyctx: open a Jupyter notebook (.ipynb) first.');
  return nb;
}

/** pyctx.bind: a warm context for the notebook now (also selects the pyctx kernel for it). */
export function bindCommand(kernel: PyctxKernel): Handler {
  return async arg => {
    const nb = needNotebook(arg);
    if (!nb) return undefined;
    const editor = vscode.window.visibleNotebookEditors.find(e => e.notebook === nb);
    if (editor && !kernel.isSelectedFor(nb)) {
      // The environment the notebook recorded, else the default (`pyctx`).
      const id = kernel.targetOf(nb).controller.id ?? CONTROLLER_ID;
      await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id, extension: EXTENSION_ID });
    }
    const runner = kernel.runnerFor(nb);
    await runner.bind();
    return { notebookUri: runner.uri, pid: runner.pid };
  };
}

/** pyctx.unbind: the notebook's worker goes back to the pool (recycled); outputs stay. */
export function unbindCommand(kernel: PyctxKernel): Handler {
  return async arg => {
    const nb = needNotebook(arg);
    const runner = nb && kernel.existingRunner(nb.uri);
    if (!runner?.bound && !runner?.isBusy) return { unbound: false };
    if (invokedFromUi(arg) && !await confirmStateLoss(`Unbind ${path.basename(nb!.uri.path)}?`, 'Unbind',
      'Its worker goes back to the pool and its variables are lost; outputs stay.')) return { unbound: false };
    await runner.unbind();
    return { unbound: true };
  };
}

/** pyctx.restart: fresh context, old worker recycled (works even if it ignores SIGINT). */
export function restartCommand(kernel: PyctxKernel): Handler {
  return async arg => {
    const nb = needNotebook(arg);
    if (!nb) return undefined;
    const existing = kernel.existingRunner(nb.uri);
    if ((existing?.bound || existing?.isBusy) && invokedFromUi(arg) && !await confirmStateLoss(`Restart ${path.basename(nb.uri.path)}?`, 'Restart',
      'Its Python context starts fresh: variables are lost; outputs stay.')) return undefined;
    const runner = kernel.runnerFor(nb);
    await runner.restart();
    return { notebookUri: runner.uri, pid: runner.pid };
  };
}

/** pyctx.interrupt: KeyboardInterrupt in the running cell, restart offered after the grace period. */
export function interruptCommand(kernel: PyctxKernel): Handler {
  return async arg => {
    const nb = needNotebook(arg);
    const runner = nb && kernel.existingRunner(nb.uri);
    if (!runner?.isBusy) return { interrupted: false };
    await runner.interrupt();
    return { interrupted: true };
  };
}

/** pyctx.showStats: pool stats and sessions in the "pyctx" output channel, summary as a message. */
export function showStatsCommand(client: PyctxClient, channel: vscode.OutputChannel): Handler {
  return async () => {
    const [stats, sessions, pools] = await Promise.all([client.stats(), client.sessions(), client.pools()]);
    channel.clear();
    // Every pool (one per environment in use), each with its own workers and sessions.
    channel.appendLine(pools.map(p => statsReport(p, sessions.filter(x => (x.environment ?? '') === (p.environment ?? '')))).join('\n\n'));
    channel.show(true);
    const more = pools.length > 1 ? ` ${pools.length} pools (one per environment): ${pools.map(p => `${p.checkedOut}/${p.size}`).join(', ')}.` : '';
    void vscode.window.showInformationMessage(
      `pyctx pool: ${stats.checkedOut}/${stats.size} workers bound, ${stats.availableWorkers} available, ${stats.pendingRequests} queued.${more}`);
    return { ...stats, sessions, pools };
  };
}

export function statsReport(s: PoolStatsPayload, sessions: SessionInfo[]): string {
  const lines = [
    `pyctx pool — ${s.python}${s.pythonVersion ? ` (Python ${s.pythonVersion})` : ''}${s.codec ? `, codec ${s.codec}` : ''}`
      + `${s.environment ? '' : ' [default environment]'}${s.state && s.state !== 'running' ? ` [${s.state}${s.error ? `: ${s.error}` : ''}]` : ''}`,
    `size ${s.size}, workers ${s.numWorkers}, available ${s.availableWorkers}, checked out ${s.checkedOut}, pending requests ${s.pendingRequests}`,
    '', 'workers:',
    ...s.workers.map(w => `  pid ${w.pid}  ${w.state.padEnd(8)} ${formatBytes(w.rssBytes).padStart(10)}  ${w.owner ?? '-'}`),
    '', 'sessions:',
    ...(sessions.length ? sessions.map(x => `  ${path.basename(vscode.Uri.parse(x.notebookUri).path)}  pid ${x.pid}  ${x.state}  ${formatBytes(x.rssBytes)}  [${x.executionCount}]`) : ['  (none)']),
  ];
  return lines.join('\n');
}

export function registerKernelCommands(kernel: PyctxKernel, client: PyctxClient, channel: vscode.OutputChannel): vscode.Disposable[] {
  const commands: Record<string, Handler> = {
    'pyctx.bind': bindCommand(kernel),
    'pyctx.unbind': unbindCommand(kernel),
    'pyctx.restart': restartCommand(kernel),
    'pyctx.interrupt': interruptCommand(kernel),
    'pyctx.showStats': showStatsCommand(client, channel),
  };
  return Object.entries(commands).map(([id, handler]) => vscode.commands.registerCommand(id, async (arg?: unknown) => {
    try {
      return await handler(arg);
    } catch (err) {
      void vscode.window.showErrorMessage(`pyctx: ${id.slice(6)} failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }));
}
