// Asking before state is lost. Unbind, Restart and Release Session Refs invoked
// from the UI (palette, toolbar, Ref Explorer, status bar), and the release of a
// large object, ask first in a modal dialog; "Don't Ask Again" goes ahead and
// stores `pyctx.confirmStateLoss: false` (user settings), after which nothing asks.
// Calls from other extensions, scripts and tests (a Uri or ids as argument) never ask.
import * as vscode from 'vscode';

export const DONT_ASK_AGAIN = "Don't Ask Again";

export function confirmStateLossEnabled(): boolean {
  return vscode.workspace.getConfiguration('pyctx').get<boolean>('confirmStateLoss') !== false;
}

/**
 * True when the action may go ahead: confirmations are off, the user chose
 * `action`, or "Don't Ask Again" (which also turns them off).
 */
export async function confirmStateLoss(message: string, action: string, detail: string): Promise<boolean> {
  if (!confirmStateLossEnabled()) return true;
  const choice = await vscode.window.showWarningMessage(message,
    { modal: true, detail: `${detail}\n\n"${DONT_ASK_AGAIN}" ${action.toLowerCase()}s now and stops these questions (setting pyctx.confirmStateLoss).` },
    action, DONT_ASK_AGAIN);
  if (choice === DONT_ASK_AGAIN) {
    await vscode.workspace.getConfiguration('pyctx').update('confirmStateLoss', false, vscode.ConfigurationTarget.Global);
    return true;
  }
  return choice === action;
}

/**
 * Whether a command was invoked by a person: no argument (palette, keybinding), the
 * notebook toolbar's context (`{ notebookEditor }` / `{ ui: true }`), or one of our
 * own UI elements, which pass `{ ui: true }`. A Uri, a string or plain ids is a
 * programmatic call.
 */
export function invokedFromUi(arg: unknown): boolean {
  if (arg === undefined) return true;
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri) return false;
  const o = arg as { ui?: unknown; notebookEditor?: unknown };
  return o.ui === true || o.notebookEditor !== undefined;
}
