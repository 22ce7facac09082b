// The Ref Explorer's data: pool stats, sessions and each session's refs loaded page
// by page from the pool server. Kept apart from the TreeDataProvider so the tree,
// the status bar, the commands and the tests' plain-data API read one state.
// Updates come only from the server's pushes (statsChanged / refsChanged / reset);
// the model never polls. Node objects are stable per id (VS Code keys tree elements
// by object identity). Refs are fetched a page at a time; while the Ref Explorer is
// visible, each session's first page is fetched as soon as a push says it changed,
// so expanding a session (even one with 10,000 refs) shows it at once.
import * as vscode from 'vscode';
import type { PyctxClient, PoolStatsPayload, RefInfoPayload, SessionInfo } from '../client';

/** Refs fetched per request, and per "+N more" click: a 10,000-ref session never renders at once. */
export const REF_PAGE_SIZE = 100;

/** One per pool (interpreter); the default environment's has id `pool`, the others `pool/<interpreter>`. */
export type PoolNode = { kind: 'pool'; id: string; environment: string; stats?: PoolStatsPayload; name?: string };
export type SessionNode = { kind: 'session'; id: string; session: SessionInfo };
/** `group`: the Output history node a history ref is shown under. */
export type RefNode = { kind: 'ref'; id: string; ref: RefInfoPayload; parent: SessionNode; group?: HistoryNode };
/** A session's output history (`_`, `_N`, `Out`, …): the held cell results, apart from variables. */
export type HistoryNode = { kind: 'history'; id: string; parent: SessionNode; refs: RefNode[] };
export type MoreNode = { kind: 'more'; id: string; parent: SessionNode; loaded: number; total: number };
export type IdleNode = { kind: 'idle'; id: string; environment: string; workers: PoolStatsPayload['workers'] };
export type NoteNode = { kind: 'note'; id: string; parent: SessionNode; text: string };
export type TreeNode = PoolNode | SessionNode | RefNode | MoreNode | IdleNode | NoteNode | HistoryNode;

/** Output-history names (IPython's and ours): `_`, `__`, `___`, `_N`, `_iN`, `_i`, `_ii`, `_iii`, `Out`, `In`. */
const HISTORY_NAME = /^(_{1,3}|_\d+|_i{1,3}|_i\d+|Out|In)$/;

export function isHistoryRef(r: RefInfoPayload): boolean {
  return r.kind === 'result' || (r.name !== undefined && HISTORY_NAME.test(r.name));
}

/** The client surface the views use (the real PyctxClient satisfies it). */
export type ViewsClient = Pick<PyctxClient,
  'stats' | 'pools' | 'sessions' | 'refs' | 'releaseRef' | 'releaseSession' | 'unbind' | 'restart'
  | 'onStatsChanged' | 'onRefsChanged' | 'onSessionLost' | 'onServerStatus' | 'onDidReset' | 'serverStatus'>;

interface RefPage { total: number; refs: RefInfoPayload[]; nodes: RefNode[]; history?: HistoryNode }

export class RefModel implements vscode.Disposable {
  /** The default environment's pool. */
  readonly pool: PoolNode = { kind: 'pool', id: 'pool', environment: '' };
  stats: PoolStatsPayload | undefined;
  /** Every pool the server has (the default first). */
  pools: PoolStatsPayload[] = [];
  private readonly poolNodes = new Map<string, PoolNode>([['', this.pool]]);
  sessions: SessionInfo[] = [];
  /** Last server problem (no Python, crash), shown instead of the pool. */
  serverError: string | undefined;

  private readonly sessionNodes = new Map<string, SessionNode>();
  private readonly pages = new Map<string, Promise<RefPage>>();
  private readonly wanted = new Map<string, number>();   // refs the user paged to, per session
  private readonly idle = new Map<string, IdleNode>();
  /** Sessions the user emptied (Release Session Refs), and when: their empty text says so. */
  private readonly releasedAll = new Map<string, number>();
  private prefetching = false;
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  private readonly subs: vscode.Disposable[] = [];

  /** Fired with the node whose children changed (undefined: the whole tree). */
  readonly onDidChange = this.changed.event;

  /** `nameOf`: a pool's environment name ('' = the default's), from the kernel's controllers. */
  constructor(private readonly client: ViewsClient, private readonly nameOf: (environment: string) => string | undefined = () => undefined) {
    this.subs.push(
      this.changed,
      client.onStatsChanged(s => this.applyStats(s, s.sessions, s.pools)),
      client.onRefsChanged(r => this.invalidateRefs(r.sessionId)),
      client.onDidReset(e => {
        this.applyStats(undefined, []);
        if (e.reason === 'stopped') this.setServerError(e.message ?? 'pyctx pool server stopped');
      }),
      client.onServerStatus(s => {
        if (s.state === 'error') this.setServerError(s.message ?? 'pyctx pool server failed to start');
        else if (s.state === 'ready') { this.serverError = undefined; void this.refresh(); }
      }),
    );
    if (client.serverStatus?.state === 'error') this.serverError = client.serverStatus.message;
  }

  /** Asks the server for stats and sessions once (start, reset, the Refresh button). */
  async refresh(): Promise<void> {
    this.pages.clear();
    try {
      const [stats, sessions, pools] = await Promise.all([this.client.stats(), this.client.sessions(), this.client.pools()]);
      this.serverError = undefined;
      this.applyStats(stats, sessions, pools);
      if (this.prefetching) this.setPrefetch(true);
    } catch (err) {
      this.setServerError(err instanceof Error ? err.message : String(err));
    }
  }

  sessionNodesInOrder(): SessionNode[] {
    return this.sessions.map(s => this.sessionNodes.get(s.sessionId)!).filter(Boolean);
  }

  sessionForNotebook(uri: string): SessionNode | undefined {
    return this.sessionNodesInOrder().find(n => n.session.notebookUri === uri);
  }

  idleNode(environment = ''): IdleNode | undefined { return this.idle.get(environment); }

  /** The pool nodes, the default first. */
  poolNodesInOrder(): PoolNode[] { return [...this.poolNodes.values()]; }
  poolNode(environment: string): PoolNode | undefined { return this.poolNodes.get(environment); }

  /** Children of a pool (default: the default one): its sessions (most recently bound first), then its idle workers. */
  poolChildren(pool: PoolNode = this.pool): TreeNode[] {
    const out: TreeNode[] = this.sessionNodesInOrder().filter(n => (n.session.environment ?? '') === pool.environment);
    const idle = this.idle.get(pool.environment);
    if (idle) out.push(idle);
    return out;
  }

  /** A session's children: its loaded refs (largest first), then "+N more" if any are left. */
  async sessionChildren(node: SessionNode): Promise<TreeNode[]> {
    let page: RefPage;
    try {
      page = await this.page(node);
    } catch (err) {
      return [{ kind: 'note', id: `${node.id}/error`, parent: node, text: `Could not list objects: ${err instanceof Error ? err.message : err}` }];
    }
    if (page.total === 0 || page.nodes.length === 0) {
      const at = this.releasedAll.get(node.session.sessionId);
      const text = at ? `Empty: all objects were released at ${new Date(at).toLocaleTimeString()}` : 'No live objects yet: run a cell that assigns a variable';
      return [{ kind: 'note', id: `${node.id}/empty`, parent: node, text }];
    }
    // Variables and objects first; the output history in a node of its own.
    const out: TreeNode[] = page.nodes.filter(n => !n.group);
    if (page.history) out.push(page.history);
    if (page.total > page.nodes.length) {
      out.push({ kind: 'more', id: `${node.id}/more`, parent: node, loaded: page.nodes.length, total: page.total });
    }
    return out;
  }

  /** Loads the next page of a session's refs (the "+N more" node). */
  async loadMore(sessionId: string): Promise<void> {
    const node = this.sessionNodes.get(sessionId);
    if (!node) return;
    const current = this.pages.get(sessionId);
    const page = current ? await current.catch(() => undefined) : undefined;
    if (!page || this.pages.get(sessionId) !== current) {
      // The refs changed meanwhile (cache dropped): the next fetch asks for one page more.
      const shown = page?.refs.length ?? this.wanted.get(sessionId) ?? REF_PAGE_SIZE;
      this.wanted.set(sessionId, Math.max(REF_PAGE_SIZE, shown) + REF_PAGE_SIZE);
      this.pages.delete(sessionId);
      this.changed.fire(node);
      return;
    }
    const next = this.client.refs(sessionId, page.refs.length, REF_PAGE_SIZE).then(r => {
      const refs = [...page.refs, ...r.refs];
      this.wanted.set(sessionId, refs.length);
      return this.toPage(node, r.total, refs);
    });
    this.pages.set(sessionId, next);
    next.catch(() => { if (this.pages.get(sessionId) === next) this.pages.delete(sessionId); });
    await next;
    if (this.pages.get(sessionId) === next) this.changed.fire(node);
  }

  /** Drops a session's cached refs; refetched now if the view shows, else on expand. */
  invalidateRefs(sessionId: string): void {
    this.pages.delete(sessionId);
    const node = this.sessionNodes.get(sessionId);
    if (!node) return;
    if (this.prefetching) void this.page(node).catch(() => undefined);
    this.changed.fire(node);
  }

  /** Unbinds a notebook through the server (one that is not open in an editor). */
  unbind(notebookUri: string): Promise<unknown> { return this.client.unbind(notebookUri); }

  /** The user released every object of the session (its empty text says so). */
  markReleasedAll(sessionId: string): void { this.releasedAll.set(sessionId, Date.now()); }

  /** Keep first pages fetched (the view is visible) or not (hidden: nobody looks, nothing is asked). */
  setPrefetch(on: boolean): void {
    this.prefetching = on;
    if (on) for (const node of this.sessionNodes.values()) void this.page(node).catch(() => undefined);
  }

  /** Resolves when no ref page is being fetched. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pages.values()]);
  }

  sessionNode(sessionId: string): SessionNode | undefined { return this.sessionNodes.get(sessionId); }

  dispose(): void { for (const d of this.subs.splice(0)) d.dispose(); }

  private page(node: SessionNode): Promise<RefPage> {
    const id = node.session.sessionId;
    let p = this.pages.get(id);
    if (!p) {
      // Keep what the user paged to across refreshes, but never less than one page.
      const limit = Math.max(REF_PAGE_SIZE, this.wanted.get(id) ?? 0);
      p = this.client.refs(id, 0, limit).then(r => this.toPage(node, r.total, r.refs));
      p.catch(() => { if (this.pages.get(id) === p) this.pages.delete(id); });
      this.pages.set(id, p);
    }
    return p;
  }

  private toPage(parent: SessionNode, total: number, refs: RefInfoPayload[]): RefPage {
    const history: HistoryNode = { kind: 'history', id: `${parent.id}/history`, parent, refs: [] };
    const nodes = refs.map((ref): RefNode => {
      const node: RefNode = { kind: 'ref', id: `${parent.id}/${ref.id}`, ref, parent };
      if (isHistoryRef(ref)) { node.group = history; history.refs.push(node); }
      return node;
    });
    return { total, refs, nodes, history: history.refs.length ? history : undefined };
  }

  /** Re-renders every session (ages, "bound 3m"), nothing is fetched: the view's clock. */
  tick(): void {
    for (const node of this.sessionNodes.values()) this.changed.fire(node);
  }

  private applyStats(stats: PoolStatsPayload | undefined, sessions: SessionInfo[], pools?: PoolStatsPayload[]): void {
    this.stats = stats;
    this.pools = pools ?? (stats ? [stats] : []);
    for (const env of [...this.poolNodes.keys()]) {
      if (env && !this.pools.some(p => (p.environment ?? '') === env)) this.poolNodes.delete(env);
    }
    for (const p of this.pools) {
      const env = p.environment ?? '';
      let node = this.poolNodes.get(env);
      if (!node) { node = { kind: 'pool', id: `pool/${env}`, environment: env }; this.poolNodes.set(env, node); }
      node.stats = env === '' ? stats ?? p : p;
      node.name = this.nameOf(env);
    }
    if (!this.pools.length) this.pool.stats = stats;
    if (stats) this.serverError = undefined;
    // Most recently bound first: the notebook you just ran is at the top.
    this.sessions = [...sessions].sort((a, b) => b.boundAt - a.boundAt);
    const live = new Set(sessions.map(s => s.sessionId));
    for (const id of [...this.sessionNodes.keys()]) {
      if (!live.has(id)) { this.sessionNodes.delete(id); this.pages.delete(id); this.wanted.delete(id); this.releasedAll.delete(id); }
    }
    for (const s of sessions) {
      const existing = this.sessionNodes.get(s.sessionId);
      if (existing) existing.session = s;
      else {
        const node: SessionNode = { kind: 'session', id: `session/${s.sessionId}`, session: s };
        this.sessionNodes.set(s.sessionId, node);
        if (this.prefetching) void this.page(node).catch(() => undefined);
      }
    }
    const owned = new Set(sessions.map(s => s.pid));
    this.idle.clear();
    for (const node of this.poolNodes.values()) {
      const idle = (node.stats?.workers ?? []).filter(w => w.owner === null && !owned.has(w.pid));
      const id = node.environment ? `idle/${node.environment}` : 'idle';
      if (idle.length) this.idle.set(node.environment, { kind: 'idle', id, environment: node.environment, workers: idle });
    }
    this.changed.fire(undefined);
  }

  private setServerError(message: string): void {
    this.serverError = message;
    this.changed.fire(undefined);
  }
}
