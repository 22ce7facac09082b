// Entry of the editor views: the Ref Explorer tree, the pool status bar item and
// their commands (pyctx.releaseRef, pyctx.releaseSession, pyctx.unbindSession,
// pyctx.restartSession, pyctx.refExplorer.refresh/loadMore, the status bar pick).
// extension.ts calls registerViews once the client is started and exposes the
// returned object in its exported API (plain data for tests and other extensions).
import * as vscode from 'vscode';
import { releasedNames } from '../kernel/released';
import { registerActions } from './actions';
import { RefModel, type ViewsClient } from './model';
import { createRefExplorer, type RefExplorerApi } from './refExplorer';
import { createStatusBar, type StatusBarApi } from './statusBar';

export type { PlainNode } from './items';
export type { RefExplorerApi } from './refExplorer';
export type { StatusBarApi, StatusBarSnapshot } from './statusBar';
export { REF_PAGE_SIZE } from './model';

export interface ViewsApi {
  refExplorer: RefExplorerApi;
  statusBar: StatusBarApi;
}

/** `nameOf`: the display name of a pool's environment ('' = the default environment). */
export function registerViews(context: vscode.ExtensionContext, client: ViewsClient, nameOf?: (environment: string) => string | undefined): ViewsApi {
  const model = new RefModel(client, nameOf);
  const tree = createRefExplorer(model);
  const bar = createStatusBar(model);
  context.subscriptions.push(model, ...tree.disposables, ...bar.disposables, ...registerActions(client, model, tree.api, {
    onReleased: (t, names, whole) => {
      const uri = model.sessionNode(t.sessionId)?.session.notebookUri;
      if (uri) releasedNames.record(uri, names);
      if (whole) model.markReleasedAll(t.sessionId);
    },
  }));
  // One initial query; from here on the server pushes every change.
  void model.refresh();
  return { refExplorer: tree.api, statusBar: bar.api };
}
