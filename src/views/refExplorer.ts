// The Ref Explorer tree view (`pyctx.refExplorer`): the TreeDataProvider over
// RefModel, the empty-state message, and the link between sessions and notebook
// editors (selecting a session shows its notebook; the active notebook's session
// is revealed), the clock that keeps ages current while visible. Also the plain-data API the extension exports for tests/scripts.
import * as vscode from 'vscode';
import { describe, refTooltip, toTreeItem, type PlainNode } from './items';
import type { RefModel, SessionNode, TreeNode } from './model';

export const VIEW_ID = 'pyctx.refExplorer';
/** How often ages re-render while the view is visible. */
export const AGE_TICK_MS = 5000;
const EMPTY_MESSAGE = 'Run a cell in a notebook with the pyctx kernel to see its live objects.';

class RefTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  readonly onDidChangeTreeData: vscode.Event<TreeNode | undefined>;
  /** Every node handed out, by id, so plain nodes (API, command args) map back to them. */
  readonly known = new Map<string, TreeNode>();
  constructor(private readonly model: RefModel) {
    this.onDidChangeTreeData = model.onDidChange;
  }
  getTreeItem(node: TreeNode): vscode.TreeItem { return toTreeItem(node, this.model.stats); }
  /** Ref tooltips (with the repr) are filled on hover only: expanding sends less to the UI. */
  resolveTreeItem(item: vscode.TreeItem, node: TreeNode): vscode.TreeItem {
    if (node.kind === 'ref') item.tooltip = refTooltip(node, this.model.stats);
    return item;
  }
  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) return this.model.stats ? this.model.poolNodesInOrder() : [];
    if (node.kind === 'pool') return this.model.poolChildren(node);
    if (node.kind === 'history') return node.refs;
    if (node.kind !== 'session') return [];
    const children = await this.model.sessionChildren(node);
    const prefix = `${node.id}/`;
    for (const id of this.known.keys()) if (id.startsWith(prefix)) this.known.delete(id);
    for (const c of children) {
      this.known.set(c.id, c);
      if (c.kind === 'history') for (const r of c.refs) this.known.set(r.id, r);
    }
    return children;
  }
  getParent(node: TreeNode): TreeNode | undefined {
    switch (node.kind) {
      case 'pool': return undefined;
      case 'session': return this.model.poolNode(node.session.environment ?? '') ?? this.model.pool;
      case 'idle': return this.model.poolNode(node.environment) ?? this.model.pool;
      case 'ref': return node.group ?? node.parent;
      default: return node.parent;
    }
  }
}

/** Read access to the tree as plain data, plus reveal/expand of the real view. */
export interface RefExplorerApi {
  readonly treeView: vscode.TreeView<TreeNode>;
  /** The tree's roots (the pool, once the server reported stats). */
  roots(): Promise<PlainNode[]>;
  /** Children of a node given by id or as returned earlier (fetches refs like the view does). */
  children(node: PlainNode | string): Promise<PlainNode[]>;
  /** Sessions as plain nodes (the pool's children without the idle summary). */
  sessions(): PlainNode[];
  /** Empty-state text currently shown in the view, if any. */
  readonly message: string | undefined;
  /** Fires after the model changed (stats, refs of a session, reset). */
  readonly onDidChange: vscode.Event<void>;
  /** Expands a session in the real view (opens the view); resolves when VS Code has fetched and shown its children. */
  expandSession(sessionId: string): Promise<void>;
  collapseAll(): Promise<void>;
  /** Asks the server again for stats, sessions and (when the view shows) first pages of refs. */
  refresh(): Promise<void>;
  /** Resolves when no page of refs is being fetched. */
  settled(): Promise<void>;
  loadMore(sessionId: string): Promise<void>;
  /** Internal node for a plain one (commands accept both). */
  resolve(node: PlainNode | string): TreeNode | undefined;
}

export function createRefExplorer(model: RefModel): { api: RefExplorerApi; disposables: vscode.Disposable[] } {
  const provider = new RefTreeProvider(model);
  const treeView = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: provider, showCollapseAll: true });
  const changed = new vscode.EventEmitter<void>();

  const updateMessage = () => {
    if (model.serverError) treeView.message = `The pyctx pool is not running: ${model.serverError}`;
    else if (!model.stats) treeView.message = undefined;   // no roots: the manifest's viewsWelcome explains
    else treeView.message = model.sessions.length ? undefined : EMPTY_MESSAGE;
  };
  updateMessage();
  model.setPrefetch(treeView.visible);

  // Reveal the active notebook's session (only when the view is showing: reveal would open it).
  // Reveals run one at a time and re-check the active notebook when each ends: a reveal
  // still in flight when the user switches notebooks must not leave the old session
  // selected. Our own reveal's selection event is not a user's click, so it never
  // switches the editor to the notebook it was revealing (`echoes`; VS Code sends the
  // selection event before it answers the reveal, so the set is empty between reveals).
  // Every reveal (these and expandSession's) goes through `oneAtATime`: VS Code cannot
  // resolve an element for one reveal while another reveal or a refresh moves the tree.
  let chain: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const echoes = new Set<TreeNode>();
  let revealing: Promise<void> | undefined;
  let again = false;
  let retryOnChange = false;   // a reveal failed (tree refreshing): the next model change tries again
  const revealOnce = async (): Promise<boolean> => {
    const editor = vscode.window.activeNotebookEditor;
    if (!editor || !treeView.visible) return true;
    const node = model.sessionForNotebook(editor.notebook.uri.toString());
    if (!node || treeView.selection[0] === node) return true;
    // Marked only once its turn comes, so a click on it while it waits is still a click.
    const reveal = async () => {
      echoes.add(node);
      try { await treeView.reveal(node, { select: true, focus: false, expand: false }); }
      finally { echoes.delete(node); /* its selection event, if any, came before the reply */ }
    };
    try { await oneAtATime(reveal); return true; } catch { return false; }
  };
  const revealActive = (): Promise<void> => {
    if (revealing) { again = true; return revealing; }
    revealing = (async () => {
      try {
        do { again = false; if (!await revealOnce()) retryOnChange = true; } while (again);
      } finally { revealing = undefined; }
    })();
    return revealing;
  };

  // Selecting a session shows its notebook (if it is open); re-selecting the active one is a no-op.
  const showNotebookOf = async (node: SessionNode) => {
    const uri = node.session.notebookUri;
    if (vscode.window.activeNotebookEditor?.notebook.uri.toString() === uri) return;
    const doc = vscode.workspace.notebookDocuments.find(d => d.uri.toString() === uri);
    if (!doc) return;
    // Tried twice: a show can be cancelled by another editor change landing at the same
    // moment (a reveal, a focus move), and the click must still take the user there.
    for (let attempt = 0; attempt < 2; attempt++) {
      const visible = vscode.window.visibleNotebookEditors.find(e => e.notebook === doc);
      try {
        await vscode.window.showNotebookDocument(doc, { viewColumn: visible?.viewColumn, preserveFocus: true });
      } catch (err) {
        console.warn(`pyctx: showing ${uri} failed: ${(err as Error)?.message ?? err}`);
      }
      if (vscode.window.activeNotebookEditor?.notebook.uri.toString() === uri || doc.isClosed) return;
    }
  };

  // Ages ("bound 12s", "3m") re-render every few seconds while the view is visible; nothing is fetched.
  let clock: NodeJS.Timeout | undefined;
  const setClock = (on: boolean) => {
    if (on && !clock) clock = setInterval(() => model.tick(), AGE_TICK_MS);
    else if (!on && clock) { clearInterval(clock); clock = undefined; }
  };
  setClock(treeView.visible);

  let lastSessionCount = -1;
  const disposables: vscode.Disposable[] = [treeView, changed,
    model.onDidChange(node => {
      updateMessage();
      changed.fire();
      // A new session appeared (first run in a notebook): show where it is.
      if ((node === undefined && model.sessions.length !== lastSessionCount) || retryOnChange) {
        lastSessionCount = model.sessions.length;
        retryOnChange = false;
        void revealActive();
      }
    }),
    treeView.onDidChangeSelection(e => {
      const node = e.selection.length === 1 ? e.selection[0] : undefined;
      if (node && echoes.delete(node)) return;
      if (node?.kind === 'session') void showNotebookOf(node);
    }),
    treeView.onDidChangeVisibility(e => { model.setPrefetch(e.visible); setClock(e.visible); if (e.visible) void revealActive(); }),
    { dispose: () => setClock(false) },
    vscode.window.onDidChangeActiveNotebookEditor(() => void revealActive()),
  ];

  const resolve = (n: PlainNode | string): TreeNode | undefined => {
    const id = typeof n === 'string' ? n : n.id;
    if (id === 'pool') return model.pool;
    if (id.startsWith('pool/')) return model.poolNode(id.slice(5));
    if (id === 'idle') return model.idleNode();
    if (id.startsWith('idle/')) return model.idleNode(id.slice(5));
    if (id.startsWith('session/') && !id.slice(8).includes('/')) return model.sessionNode(id.slice(8));
    return provider.known.get(id);
  };

  const api: RefExplorerApi = {
    treeView,
    async roots() {
      return (await provider.getChildren()).map(n => describe(n, model.stats));
    },
    async children(n) {
      const node = resolve(n);
      if (!node) throw new Error(`pyctx: no Ref Explorer node ${typeof n === 'string' ? n : n.id}`);
      return (await provider.getChildren(node)).map(c => describe(c, model.stats));
    },
    sessions() { return model.sessionNodesInOrder().map(n => describe(n, model.stats)); },
    get message() { return treeView.message; },
    onDidChange: changed.event,
    async expandSession(sessionId) {
      const expand = () => {
        const node = model.sessionNode(sessionId);
        if (!node) throw new Error(`pyctx: no session ${sessionId}`);
        return oneAtATime(() => Promise.resolve(treeView.reveal(node, { select: false, focus: false, expand: true })));
      };
      // A refresh landing mid-reveal ("Cannot resolve tree item"): once more on the settled tree.
      try { await expand(); } catch { await model.settled(); await expand(); }
    },
    async collapseAll() {
      await vscode.commands.executeCommand(`workbench.actions.treeView.${VIEW_ID}.collapseAll`);
    },
    refresh: () => model.refresh(),
    settled: () => model.settled(),
    loadMore: sessionId => model.loadMore(sessionId),
    resolve,
  };
  return { api, disposables };
}
