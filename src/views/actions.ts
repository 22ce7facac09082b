// Commands of the Ref Explorer: release a ref, release a session's refs, unbind or
// restart a session, refresh, load the next page of refs. Each accepts a tree node
// (menus), a plain node from the exported API (tests, scripts) or plain ids (other
// extensions: `{ sessionId, refId }`, a notebook Uri); with no argument it works on
// the active notebook. Large releases ask first (pyctx.refs.confirmReleaseBytes).
import * as vscode from 'vscode';
import { errorCode, type RefInfoPayload } from '../client';
import { confirmStateLoss, confirmStateLossEnabled, DONT_ASK_AGAIN } from '../commands/confirm';
import { humanBytes, sessionLabel } from './format';
import type { PlainNode } from './items';
import type { RefModel, TreeNode, ViewsClient } from './model';
import type { RefExplorerApi } from './refExplorer';

export const DEFAULT_CONFIRM_BYTES = 100 * 1024 * 1024;

interface RefTarget { sessionId: string; refId: string; label: string; sizeBytes?: number }
interface SessionTarget { sessionId: string; notebookUri: string; label: string }
type Arg = TreeNode | PlainNode | { sessionId?: string; refId?: string; notebookUri?: string } | vscode.Uri | string | undefined;

/** What the actions tell others: names released by the user (for the NameError note, the empty-session text). */
export interface ActionHooks {
  onReleased(target: { sessionId: string }, names: string[], wholeSession: boolean): void;
}

export function registerActions(client: ViewsClient, model: RefModel, tree: RefExplorerApi, hooks: ActionHooks): vscode.Disposable[] {
  const node = (arg: Arg): TreeNode | undefined => {
    if (arg && typeof arg === 'object' && 'kind' in arg && 'id' in arg) {
      return tree.resolve(arg.id) ?? (('parent' in arg || 'session' in arg) ? arg as TreeNode : undefined);
    }
    return undefined;
  };

  const sessionOf = (arg: Arg): SessionTarget | undefined => {
    const n = node(arg);
    let sessionId: string | undefined;
    if (n && n.kind !== 'pool' && n.kind !== 'idle') sessionId = n.kind === 'session' ? n.session.sessionId : n.parent.session.sessionId;
    else if (arg instanceof vscode.Uri || typeof arg === 'string') sessionId = model.sessionForNotebook(arg.toString())?.session.sessionId;
    else if (arg && typeof arg === 'object' && !('kind' in arg)) {
      const a = arg as { sessionId?: string; notebookUri?: string };
      sessionId = a.sessionId ?? (a.notebookUri ? model.sessionForNotebook(a.notebookUri)?.session.sessionId : undefined);
    } else if (!arg) {
      const active = vscode.window.activeNotebookEditor?.notebook.uri.toString();
      sessionId = active ? model.sessionForNotebook(active)?.session.sessionId : undefined;
    }
    const s = sessionId ? model.sessionNode(sessionId)?.session : undefined;
    return s ? { sessionId: s.sessionId, notebookUri: s.notebookUri, label: sessionLabel(s.notebookUri) } : undefined;
  };

  const refOf = async (arg: Arg): Promise<RefTarget | undefined> => {
    const n = node(arg);
    if (n?.kind === 'ref') return { sessionId: n.ref.sessionId, refId: n.ref.id, label: n.ref.name ?? n.ref.id, sizeBytes: n.ref.sizeBytes };
    if (arg && typeof arg === 'object' && !(arg instanceof vscode.Uri)) {
      const a = arg as { sessionId?: string; refId?: string; name?: string; sizeBytes?: number };
      if (a.sessionId && a.refId) return { sessionId: a.sessionId, refId: a.refId, label: a.name ?? a.refId, sizeBytes: a.sizeBytes };
    }
    // Palette / no ref given: pick one of the session's largest refs.
    const session = sessionOf(n?.kind === 'session' ? n : arg);
    if (!session) { void vscode.window.showInformationMessage('pyctx: the active notebook has no live objects to release.'); return undefined; }
    const page = await client.refs(session.sessionId, 0, 500);
    const picked = await vscode.window.showQuickPick(page.refs.map(r => ({ label: r.name ?? r.id, description: `${r.typeName} · ${humanBytes(r.sizeBytes)}`, ref: r })),
      { title: `Release an object of ${session.label}`, placeHolder: page.total > page.refs.length ? `largest ${page.refs.length} of ${page.total}` : undefined });
    const r: RefInfoPayload | undefined = picked?.ref;
    return r ? { sessionId: r.sessionId, refId: r.id, label: r.name ?? r.id, sizeBytes: r.sizeBytes } : undefined;
  };

  const confirmBytes = () => {
    const v = vscode.workspace.getConfiguration('pyctx').get<number>('refs.confirmReleaseBytes');
    return typeof v === 'number' && Number.isFinite(v) ? v : DEFAULT_CONFIRM_BYTES;
  };
  /** True when the release may go ahead (small enough, confirmation off, or the user agreed). */
  const confirm = async (bytes: number, message: string): Promise<boolean> => {
    const threshold = confirmBytes();
    if (bytes < threshold || !confirmStateLossEnabled()) return true;   // 0 always asks (see the setting's description)
    const choice = await vscode.window.showWarningMessage(message,
      { modal: true, detail: `Objects of ${humanBytes(threshold)} or more ask first (setting pyctx.refs.confirmReleaseBytes).` }, 'Release', DONT_ASK_AGAIN);
    if (choice === DONT_ASK_AGAIN) await vscode.workspace.getConfiguration('pyctx').update('confirmStateLoss', false, vscode.ConfigurationTarget.Global);
    return choice === 'Release' || choice === DONT_ASK_AGAIN;
  };
  /** A real tree node (a click in the view) or no argument (palette): a person asked. */
  const fromUi = (arg: Arg): boolean => arg === undefined
    || (!!arg && typeof arg === 'object' && 'kind' in arg && 'id' in arg && tree.resolve(arg.id) === arg);

  const fail = (what: string, err: unknown) => {
    const code = errorCode(err);
    void vscode.window.showErrorMessage(`pyctx: ${what} failed${code ? ` (${code})` : ''}: ${err instanceof Error ? err.message : String(err)}`);
  };

  const releaseRef = async (arg: Arg): Promise<boolean> => {
    const t = await refOf(arg);
    if (!t) return false;
    const size = t.sizeBytes ?? 0;
    if (!await confirm(size, `Release ${t.label} (${humanBytes(size)})? The variable is deleted in Python.`)) return false;
    try {
      const { released } = await client.releaseRef(t.sessionId, t.refId);
      if (released) hooks.onReleased(t, [t.label], false);
      if (!released) void vscode.window.showInformationMessage(`pyctx: ${t.label} was already released.`);
      return released;
    } catch (err) { fail(`releasing ${t.label}`, err); return false; } finally { model.invalidateRefs(t.sessionId); }
  };

  const releaseSession = async (arg: Arg): Promise<number> => {
    const t = sessionOf(arg);
    if (!t) { void vscode.window.showInformationMessage('pyctx: no bound notebook to release objects from.'); return 0; }
    try {
      const first = await client.refs(t.sessionId, 0, 1000);
      const bytes = first.refs.reduce((sum, r) => sum + r.sizeBytes, 0);
      const question = `Release all ${first.total} objects of ${t.label} (${humanBytes(bytes)}${first.total > first.refs.length ? ' or more' : ''})?`;
      if (fromUi(arg)) {
        if (!await confirmStateLoss(question, 'Release', 'Its variables are deleted in Python; the worker stays bound.')) return 0;
      } else if (!await confirm(bytes, `${question} Its variables are deleted in Python.`)) return 0;
      const { count } = await client.releaseSession(t.sessionId);
      hooks.onReleased(t, first.refs.filter(r => r.name).map(r => r.name!), true);
      return count;
    } catch (err) { fail(`releasing the objects of ${t.label}`, err); return 0; } finally { model.invalidateRefs(t.sessionId); }
  };

  // An open notebook's kernel tracks its own binding, so its commands do the work
  // (pyctx.unbind / pyctx.restart); other owners (closed or library) go to the server.
  const openNotebook = (uri: string) => vscode.workspace.notebookDocuments.find(d => d.uri.toString() === uri);

  const unbindSession = async (arg: Arg): Promise<boolean> => {
    const t = sessionOf(arg);
    if (!t) return false;
    const doc = openNotebook(t.notebookUri);
    try {
      if (doc) return (await vscode.commands.executeCommand<{ unbound: boolean } | undefined>('pyctx.unbind', fromUi(arg) ? { ui: true, notebookUri: t.notebookUri } : doc.uri))?.unbound ?? false;
      if (fromUi(arg) && !await confirmStateLoss(`Unbind ${t.label}?`, 'Unbind', 'Its worker goes back to the pool and its variables are lost.')) return false;
      return (await client.unbind(t.notebookUri)).unbound;
    } catch (err) { fail(`unbinding ${t.label}`, err); return false; }
  };

  const restartSession = async (arg: Arg): Promise<boolean> => {
    const t = sessionOf(arg);
    if (!t) return false;
    const doc = openNotebook(t.notebookUri);
    try {
      if (doc) return (await vscode.commands.executeCommand('pyctx.restart', fromUi(arg) ? { ui: true, notebookUri: t.notebookUri } : doc.uri)) !== undefined;
      if (fromUi(arg) && !await confirmStateLoss(`Restart ${t.label}?`, 'Restart', 'Its Python context starts fresh: variables are lost.')) return false;
      await client.restart(t.notebookUri);
      return true;
    } catch (err) { fail(`restarting ${t.label}`, err); return false; }
  };

  return [
    vscode.commands.registerCommand('pyctx.releaseRef', releaseRef),
    vscode.commands.registerCommand('pyctx.releaseSession', releaseSession),
    vscode.commands.registerCommand('pyctx.unbindSession', unbindSession),
    vscode.commands.registerCommand('pyctx.restartSession', restartSession),
    vscode.commands.registerCommand('pyctx.refExplorer.refresh', () => model.refresh()),
    vscode.commands.registerCommand('pyctx.refExplorer.loadMore', (arg: Arg) => {
      const t = sessionOf(arg);
      return t ? model.loadMore(t.sessionId) : undefined;
    }),
  ];
}
