// Typed wrappers for every pyctx/* method of src/protocol/lsp.ts, over any
// JSON-RPC endpoint that speaks them: the extension's LanguageClient
// (src/client/client.ts) or a bare protocol connection (tests, bench). No `vscode`
// import here, so the same code is exercised outside the editor.
//
// Routing: `execute` registers its executionId so that `pyctx/output`
// notifications of that run reach its own callback (they arrive before the reply);
// every output is also fired on `onOutput`.
import { randomUUID } from 'node:crypto';
import {
  CancellationToken, Disposable, Emitter, Event, NotificationHandler, NotificationType,
  RequestHandler, RequestType, RequestType0, ResponseError,
} from 'vscode-languageserver-protocol';
import * as lsp from '../protocol/lsp';

/** What PyctxApi needs from a connection; LanguageClient and ProtocolConnection both fit. */
export interface RpcEndpoint {
  sendRequest<R, E>(type: RequestType0<R, E>, token?: CancellationToken): Promise<R>;
  sendRequest<P, R, E>(type: RequestType<P, R, E>, params: P, token?: CancellationToken): Promise<R>;
  onNotification<P>(type: NotificationType<P>, handler: NotificationHandler<P>): Disposable;
  onRequest<P, R, E>(type: RequestType<P, R, E>, handler: RequestHandler<P, R, E>): Disposable;
}

export type StatsChangedParams = lsp.PoolStatsPayload & { sessions: lsp.SessionInfo[]; pools: lsp.PoolStatsPayload[] };
export type RefsChangedParams = { sessionId: string; notebookUri?: string };
export type InputHandler = (params: lsp.InputRequestParams, token: CancellationToken) => Promise<lsp.InputReply>;
export type ExecuteRequest = Omit<lsp.ExecuteParams, 'executionId'> & { executionId?: string };

/** The stable error code of a failed pyctx/* request (`no_python`, `worker_crashed`, ...), if any. */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof ResponseError && err.data && typeof err.data.code === 'string') return err.data.code;
  const data = (err as { data?: { code?: unknown } } | null)?.data;
  return typeof data?.code === 'string' ? data.code : undefined;
}

export class PyctxApi implements Disposable {
  private readonly outputEmitter = new Emitter<lsp.OutputPayload>();
  private readonly statsEmitter = new Emitter<StatsChangedParams>();
  private readonly refsEmitter = new Emitter<RefsChangedParams>();
  private readonly lostEmitter = new Emitter<lsp.SessionLostParams>();
  private readonly statusEmitter = new Emitter<lsp.ServerStatusParams>();
  private readonly waitingEmitter = new Emitter<lsp.WaitingForWorkerParams>();
  private readonly routes = new Map<string, (o: lsp.OutputPayload) => void>();
  private readonly subscriptions: Disposable[] = [];
  private inputHandler: InputHandler | undefined;
  private lastStatus: lsp.ServerStatusParams | undefined;

  /** Every output notification, of every execution. */
  readonly onOutput: Event<lsp.OutputPayload> = this.outputEmitter.event;
  /** Pool stats + sessions, pushed by the server on change (bursts coalesced). */
  readonly onStatsChanged: Event<StatsChangedParams> = this.statsEmitter.event;
  /** A session's refs changed: re-query `refs(sessionId)` if it is shown. */
  readonly onRefsChanged: Event<RefsChangedParams> = this.refsEmitter.event;
  /** A notebook's context is gone (worker crashed, restarted or unbound by the server). */
  readonly onSessionLost: Event<lsp.SessionLostParams> = this.lostEmitter.event;
  /** A notebook waits for a free worker (all bound), or stopped waiting. */
  readonly onWaitingForWorker: Event<lsp.WaitingForWorkerParams> = this.waitingEmitter.event;
  /** Server status: starting / ready / error (no usable Python: `tried`, `message`). */
  readonly onServerStatus: Event<lsp.ServerStatusParams> = this.statusEmitter.event;

  constructor(protected readonly endpoint: RpcEndpoint) {
    this.subscriptions.push(
      endpoint.onNotification(lsp.output, o => {
        this.routes.get(o.executionId)?.(o);
        this.outputEmitter.fire(o);
      }),
      endpoint.onNotification(lsp.statsChanged, s => this.statsEmitter.fire(s)),
      endpoint.onNotification(lsp.refsChanged, r => this.refsEmitter.fire(r)),
      endpoint.onNotification(lsp.sessionLost, l => this.lostEmitter.fire(l)),
      endpoint.onNotification(lsp.waitingForWorker, w => this.waitingEmitter.fire(w)),
      endpoint.onNotification(lsp.serverStatus, s => { this.lastStatus = s; this.statusEmitter.fire(s); }),
      endpoint.onRequest(lsp.inputRequest, async (p, token) => {
        // No handler registered (or it failed): the cell sees KeyboardInterrupt, never hangs.
        if (!this.inputHandler) return { cancelled: true };
        try { return await this.inputHandler(p, token); } catch { return { cancelled: true }; }
      }),
    );
  }

  /** Last status the server pushed (undefined before the first). */
  get serverStatus(): lsp.ServerStatusParams | undefined { return this.lastStatus; }

  /** Who answers input()/getpass() in cells; one handler at a time (the kernel's input box). */
  setInputHandler(handler: InputHandler): Disposable {
    this.inputHandler = handler;
    return Disposable.create(() => { if (this.inputHandler === handler) this.inputHandler = undefined; });
  }

  /** Binds a worker in the notebook's environment (`python`; absent: the default environment's
   *  pool); in a full pool this waits for one (onWaitingForWorker says so) until `token` cancels. */
  bind(notebookUri: string, cwd?: string, python?: string, token?: CancellationToken): Promise<lsp.BindResult> {
    return this.send(() => this.endpoint.sendRequest(lsp.bind, { notebookUri, cwd, python }, token));
  }
  unbind(notebookUri: string): Promise<lsp.UnbindResult> {
    return this.send(() => this.endpoint.sendRequest(lsp.unbind, { notebookUri }));
  }

  /** Runs a cell; `onOutput` gets this run's outputs in order, all before the promise settles. */
  async execute(req: ExecuteRequest, onOutput?: (o: lsp.OutputPayload) => void, token?: CancellationToken): Promise<lsp.ExecuteResult> {
    const params: lsp.ExecuteParams = { ...req, executionId: req.executionId ?? randomUUID() };
    if (onOutput) this.routes.set(params.executionId, onOutput);
    try {
      return await this.send(() => this.endpoint.sendRequest(lsp.execute, params, token));
    } finally {
      this.routes.delete(params.executionId);
    }
  }

  interrupt(notebookUri: string): Promise<{ interrupted: boolean }> {
    return this.send(() => this.endpoint.sendRequest(lsp.interrupt, { notebookUri }));
  }
  /** Fresh context for the notebook; the old worker is recycled even if it ignores SIGINT. */
  restart(notebookUri: string, python?: string): Promise<lsp.BindResult> {
    return this.send(() => this.endpoint.sendRequest(lsp.restart, { notebookUri, python }));
  }
  /** The default environment's pool. */
  stats(): Promise<lsp.PoolStatsPayload> {
    return this.send(() => this.endpoint.sendRequest(lsp.stats));
  }
  /** Every pool (one per interpreter in use or started), the default first. */
  pools(): Promise<lsp.PoolStatsPayload[]> {
    return this.send(() => this.endpoint.sendRequest(lsp.pools));
  }
  sessions(): Promise<lsp.SessionInfo[]> {
    return this.send(() => this.endpoint.sendRequest(lsp.sessions));
  }
  /** A session's refs, largest first, paged. */
  refs(sessionId: string, offset?: number, limit?: number): Promise<lsp.RefsResult> {
    return this.send(() => this.endpoint.sendRequest(lsp.refs, { sessionId, offset, limit }));
  }
  releaseRef(sessionId: string, refId: string): Promise<{ released: boolean }> {
    return this.send(() => this.endpoint.sendRequest(lsp.releaseRef, { sessionId, refId }));
  }
  releaseSession(sessionId: string): Promise<{ count: number }> {
    return this.send(() => this.endpoint.sendRequest(lsp.releaseSession, { sessionId }));
  }

  /** Applies the live settings (the whole LiveOptions subset; absent = default) without a new pool. */
  configure(options: lsp.LiveOptions): Promise<lsp.ConfigureResult> {
    return this.send(() => this.endpoint.sendRequest(lsp.configure, options));
  }

  /** Requests wait for this first (the editor's client: a server restart under way). */
  protected whenReady(): Promise<void> | undefined { return undefined; }
  /** What a failed request rejects with (the editor's client: a connection lost to a restart, said plainly). */
  protected explain(err: unknown): unknown { return err; }

  private send<R>(call: () => Promise<R>): Promise<R> {
    const run = (): Promise<R> => call().catch(err => { throw this.explain(err); });
    const wait = this.whenReady();
    return wait ? wait.then(run, run) : run();
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
    this.routes.clear();
    for (const e of [this.outputEmitter, this.statsEmitter, this.refsEmitter, this.lostEmitter, this.statusEmitter, this.waitingEmitter]) e.dispose();
  }
}
