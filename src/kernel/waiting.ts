// A full pool never strands a notebook: while a bind waits for a free worker, the
// waiting cell says so ("waiting for a free worker: 4/4 bound (a, b, c, d)") and a
// notification offers a way out: "Unbind <least recently used notebook>" (asks
// first, see commands/confirm.ts) and "Raise pool size" (the setting). The wait
// itself is the pool's waiting bind (BindOptions.waitForWorker, asked by server/sessions.ts); it ends when any worker frees
// or the cell is cancelled.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WaitingForWorkerParams } from '../protocol/lsp';
import { confirmStateLoss } from '../commands/confirm';

export const RAISE_POOL_SIZE = 'Raise pool size';

const nameOf = (uri: string) => path.basename(vscode.Uri.parse(uri).path);

/** The text a waiting cell shows. */
export function waitingText(p: WaitingForWorkerParams): string {
  return `waiting for a free worker: ${p.bound}/${p.size} bound (${p.holders.map(nameOf).join(', ')})`;
}

/** Unbinds a notebook from a notification or the status bar, asking first (an open one through its kernel). */
export async function unbindFromUi(uri: string, unbindClosed: (uri: string) => Promise<unknown>): Promise<void> {
  const open = vscode.workspace.notebookDocuments.some(d => d.uri.toString() === uri);
  if (open) { await vscode.commands.executeCommand('pyctx.unbind', { ui: true, notebookUri: uri }); return; }
  if (await confirmStateLoss(`Unbind ${nameOf(uri)}?`, 'Unbind', 'Its worker goes back to the pool and its variables are lost.')) await unbindClosed(uri);
}

export function openPoolSizeSetting(): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', 'pyctx.pool.size');
}

/** The notification of a wait; resolves once the user chose (or dismissed it). */
export async function notifyWaiting(p: WaitingForWorkerParams, unbindClosed: (uri: string) => Promise<unknown>): Promise<void> {
  const lru = p.holders[0];
  const unbind = lru ? `Unbind ${nameOf(lru)}` : undefined;
  const choice = await vscode.window.showWarningMessage(
    `pyctx: ${nameOf(p.notebookUri)} is ${waitingText(p)}. It runs as soon as one is free.`,
    ...(unbind ? [unbind] : []), RAISE_POOL_SIZE);
  if (choice === unbind && lru) await unbindFromUi(lru, unbindClosed);
  else if (choice === RAISE_POOL_SIZE) await openPoolSizeSetting();
}
