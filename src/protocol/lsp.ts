// Custom LSP methods between the extension (src/extension.ts, src/kernel/,
// src/views/, through src/client/) and the pool server (src/server/). Both sides
// import this file and nothing else for names and payloads, the way
// rust-analyzer's lsp_ext.ts mirrors its server. Add here first, then implement.
//
// Sessions are keyed by notebook URI (string form of vscode.Uri). Outputs of a
// running cell are pushed as `pyctx/output` notifications tagged with the
// executionId the client chose; the `pyctx/execute` reply comes after the last
// output notification of that execution.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

// ---- shared shapes --------------------------------------------------------

/** Jupyter-style mime bundle. Binary types (image/png, image/jpeg, ...) travel as
 *  base64 strings, as in .ipynb files: JSON-RPC carries no raw bytes. */
export type MimeBundle = Record<string, unknown>;
export type AffinityMode = 'strict_queue' | 'strict_fail_fast' | 'hint';

/** initializationOptions of the LanguageClient. A change of python/poolSize/warm/preload/memoryLimitMB/affinity/ipython
 *  needs a new server; the LiveOptions subset is applied live (`pyctx/configure`). */
export interface ServerOptions {
  python?: string;               // interpreter path or command; default python3, then python
  poolSize?: number;             // `size`, default 4
  warm?: number;                 // warm idle workers, default 1
  preload?: string[];            // modules imported into warm workers
  memoryLimitMB?: number;        // per-worker address-space cap (>= 128); 0/absent = none
  launcher?: string[];           // argv prefix starting each worker elsewhere (srun, ssh); absent = local
  affinity?: AffinityMode;
  ipython?: 'auto' | 'off';      // cells through IPython's shell when importable (auto, default) or never
  refTtlSeconds?: number | null;
  maxRefsPerSession?: number;
  outputMaxBytes?: number;       // per-cell text output cap, default 4 MiB
  streamCoalesceMs?: number;     // default 16
  /** A pool with no bound notebook for this long is closed (shrinks to zero); 0 = never. Default 10. */
  idleShutdownMinutes?: number;
}

/** The part of ServerOptions that applies to a running server (`pyctx/configure`):
 *  the output cap for the next cells, the ref limits for new sessions and (pushed to
 *  their workers) every bound one. Every call carries the whole subset: a field left
 *  out goes back to its default (cap 4 MiB, no TTL, 10,000 refs); `refTtlSeconds: null` = no TTL. */
export type LiveOptions = Pick<ServerOptions, 'outputMaxBytes' | 'refTtlSeconds' | 'maxRefsPerSession'>;

export interface PoolStatsPayload {
  size: number;                  // configured cap on workers (bound + idle): the pool's `size`
  numWorkers: number;
  availableWorkers: number;
  checkedOut: number;
  pendingRequests: number;
  workers: { pid: number; state: string; owner: string | null; rssBytes: number; startedAt: number }[];
  python: string;                // resolved interpreter executable
  pythonVersion?: string;
  codec?: string;
  shell?: 'ipython' | 'builtin' | '';  // the layer running cells (IPython's shell or the built-in one)
  ipythonVersion?: string | null;
  shellNote?: string | null;           // why IPython was wanted but not used
  /** Which pool (src/server/pools.ts): '' the default environment's, else the interpreter the client asked for. */
  environment?: string;
  /** running: workers up; stopped: not started yet or shrunk to zero after idleShutdownMinutes; error: cannot start. */
  state?: 'starting' | 'running' | 'stopped' | 'error';
  error?: string;
  /** Notebooks bound to this pool. */
  bound?: number;
}

export type SessionState = 'idle' | 'running' | 'crashed';

export interface SessionInfo {
  notebookUri: string;
  sessionId: string;
  pid: number;
  state: SessionState;
  rssBytes: number;
  boundAt: number;               // ms since epoch
  executionCount: number;
  /** The interpreter (sys.executable) of the session's pool. */
  python: string;
  /** The pool's key: '' the default environment, else the interpreter the notebook asked for. */
  environment: string;
  lastActiveAt?: number;         // ms since epoch: last run or bind (least recently used = smallest)
}

export interface RefInfoPayload {
  id: string;
  sessionId: string;
  kind: 'ref' | 'variable' | 'result' | 'history'; // history: IPython's Out[N] (its own group)
  name?: string;
  typeName: string;
  pythonModule: string;
  sizeBytes: number;
  repr: string;
  createdAt: number;             // ms since epoch
  lastAccess: number;            // ms since epoch
  executionCount?: number;
}

/** Every pyctx/* request fails with a ResponseError of code PYCTX_ERROR whose
 *  `data` says what went wrong in a stable string: `no_python` (no usable
 *  interpreter; message says which were tried and how to set `pyctx.python`),
 *  `environment_unavailable` (a notebook's environment other than the default cannot
 *  start: its interpreter is gone or broken; the message says which and why),
 *  `bad_request`, `wait_cancelled` (a bind's wait for a free worker was cancelled), or a pool PyCtxError code passed through
 *  (`no_workers_available`, `worker_crashed`, `timeout`, `pool_saturated`, ...). */
export const PYCTX_ERROR = -32050;
export interface PyctxErrorData { code: string }

// ---- runtime shapes of request params ------------------------------------
//
// Each client -> server request's params type has a ParamsSchema next to it; the
// server checks every request against it before the handler runs and answers
// anything else (wrong type, unknown or missing field) with `bad_request`. The
// mapped type makes a field added to a params interface a compile error until its
// schema lists it too.

/** 'name': non-empty string; 'string': any string; 'index': integer >= 0; 'number': finite. */
export type FieldKind = 'name' | 'string' | 'index' | 'number' | 'boolean';
type KindOf<T> = T extends string ? 'name' | 'string' : T extends number ? 'index' | 'number' : T extends boolean ? 'boolean' : never;
type FieldSpec<T> = undefined extends T ? `${KindOf<Exclude<T, undefined>>}?` : KindOf<T>;
export type ParamsSchema<P> = { readonly [K in keyof P]-?: FieldSpec<P[K]> };

// ---- requests: client -> server -------------------------------------------

export interface NotebookParams { notebookUri: string }
/** `python`: the notebook's environment (its interpreter path); absent = the default
 *  environment's pool. A notebook bound to another interpreter is rebound (old state ends). */
export interface BindParams extends NotebookParams { cwd?: string; python?: string }
export interface BindResult { sessionId: string; pid: number; fresh: boolean }
export const bind = new RequestType<BindParams, BindResult, void>('pyctx/bind');
export const bindParams: ParamsSchema<BindParams> = { notebookUri: 'name', cwd: 'name?', python: 'name?' };

export interface UnbindResult { unbound: boolean }
export const unbind = new RequestType<NotebookParams, UnbindResult, void>('pyctx/unbind');
export const notebookParams: ParamsSchema<NotebookParams> = { notebookUri: 'name' };

export interface ExecuteParams extends NotebookParams {
  executionId: string;           // chosen by the client, echoed in pyctx/output
  code: string;
  cellIndex?: number;
  cwd?: string;                  // notebook folder: cwd and sys.path[0] on first bind
  python?: string;               // the notebook's environment, as in BindParams
  /** Not a cell run (the Jupyter API's executeCode): the notebook's execution count
   *  stays, no `_N`/result ref is held; the reply's executionCount is the current one. */
  silent?: boolean;
  /** Record a timestamped trace of this run's hops in the server (PYCTX_TRACE=1 on the client). */
  trace?: boolean;
}
/** One step of a traced execution; `t` is milliseconds since the epoch, fractional
 *  (performance.timeOrigin + performance.now(), comparable across local processes). */
export interface TraceHop { hop: string; t: number }
export interface ExecuteResult {
  status: 'ok' | 'error' | 'aborted';   // aborted: worker crashed / restarted mid-cell
  executionCount: number;
  result?: { data: MimeBundle; metadata: Record<string, unknown> };
  error?: { ename: string; evalue: string; traceback: string[] };
  truncated?: boolean;           // output cap hit
  /** Displays that follow result and error (figures flushed as the cell ended: Jupyter's order). */
  afterResult?: { data: MimeBundle; metadata: Record<string, unknown>; displayId?: string }[];
  crash?: { exitCode: number | null; signal: string | null; message: string };
  /** Pid of the worker that ran it (the client learns an implicit bind's pid without a pyctx/sessions round trip). */
  pid?: number;
  /** The server's hops when `trace` was asked: server.received, server.session, pool.write, pool.reply, server.reply. */
  trace?: TraceHop[];
}
export const execute = new RequestType<ExecuteParams, ExecuteResult, void>('pyctx/execute');
export const executeParams: ParamsSchema<ExecuteParams> = {
  notebookUri: 'name', executionId: 'name', code: 'string', cellIndex: 'index?', cwd: 'name?', python: 'name?', silent: 'boolean?', trace: 'boolean?',
};

export const interrupt = new RequestType<NotebookParams, { interrupted: boolean }, void>('pyctx/interrupt');
export const restart = new RequestType<BindParams, BindResult, void>('pyctx/restart');
/** The default environment's pool (not started by this request once it shrank to zero). */
export const stats = new RequestType0<PoolStatsPayload, void>('pyctx/stats');
/** Every pool, the default environment's first (stopped ones included). */
export const pools = new RequestType0<PoolStatsPayload[], void>('pyctx/pools');
export const sessions = new RequestType0<SessionInfo[], void>('pyctx/sessions');

export interface RefsParams { sessionId: string; offset?: number; limit?: number }
export interface RefsResult { total: number; refs: RefInfoPayload[] }   // sorted by size, largest first
export const refs = new RequestType<RefsParams, RefsResult, void>('pyctx/refs');
export const refsParams: ParamsSchema<RefsParams> = { sessionId: 'name', offset: 'index?', limit: 'index?' };

export interface ReleaseRefParams { sessionId: string; refId: string }
export const releaseRef = new RequestType<ReleaseRefParams, { released: boolean }, void>('pyctx/releaseRef');
export const releaseRefParams: ParamsSchema<ReleaseRefParams> = { sessionId: 'name', refId: 'name' };
export interface SessionParams { sessionId: string }
export const releaseSession = new RequestType<SessionParams, { count: number }, void>('pyctx/releaseSession');
export const sessionParams: ParamsSchema<SessionParams> = { sessionId: 'name' };

/** Applies LiveOptions without a new pool (a bad field: `bad_request`, nothing applied).
 *  `sessions`: bound workers that took the new ref limits; `queued`: busy ones that
 *  take them when their running cell ends (ref limits unchanged: both 0). */
export interface ConfigureResult { sessions: number; queued: number }
export const configure = new RequestType<LiveOptions, ConfigureResult, void>('pyctx/configure');
/** configure's fields are nullable/ranged: checked by the server's own strict parser (liveConfig.ts). */

// ---- requests: server -> client -------------------------------------------

export interface InputRequestParams { notebookUri: string; executionId: string; prompt: string; password: boolean }
export interface InputReply { value?: string; cancelled?: boolean }
export const inputRequest = new RequestType<InputRequestParams, InputReply, void>('pyctx/inputRequest');

// ---- notifications: server -> client --------------------------------------

/** `late: true`: printed after the execution's reply (a thread, a subprocess, a timer of
 *  that cell); tagged with the session's last cell execution, as Jupyter routes by parent. */
export type OutputPayload =
  | { executionId: string; late?: true; kind: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { executionId: string; late?: true; kind: 'display'; data: MimeBundle; metadata: Record<string, unknown>; displayId?: string }
  | { executionId: string; late?: true; kind: 'update_display'; data: MimeBundle; metadata: Record<string, unknown>; displayId: string }
  | { executionId: string; late?: true; kind: 'clear_output'; wait: boolean }
  | { executionId: string; late?: true; kind: 'truncated'; limitBytes: number };
export const output = new NotificationType<OutputPayload>('pyctx/output');

/** The default pool's stats, every session (of every pool) and every pool. */
export const statsChanged = new NotificationType<PoolStatsPayload & { sessions: SessionInfo[]; pools: PoolStatsPayload[] }>('pyctx/statsChanged');
export const refsChanged = new NotificationType<{ sessionId: string; notebookUri?: string }>('pyctx/refsChanged');

/** The server lost a notebook's context the client did not ask to end (today: its
 *  worker crashed or was killed; sent once). The notebook's next execute binds fresh.
 *  Client-initiated unbind/restart are answered by their requests, not by this. */
export interface SessionLostParams {
  notebookUri: string;
  reason: 'crashed' | 'restarted' | 'unbound';
  exitCode: number | null;
  signal: string | null;
  message: string;
}
export const sessionLost = new NotificationType<SessionLostParams>('pyctx/sessionLost');

/** A notebook's bind waits for a free worker (every one is bound): sent when the wait
 *  starts (`waiting: true`, with who holds the workers) and when it ends, however it
 *  ends. The wait ends when a worker frees, or is cancelled by pyctx/interrupt or
 *  pyctx/unbind of that notebook or by cancelling the request (then `wait_cancelled`). */
export interface WaitingForWorkerParams {
  notebookUri: string;
  waiting: boolean;
  bound: number;
  size: number;
  /** Notebook URIs (owners) holding the workers, least recently used first. */
  holders: string[];
}
export const waitingForWorker = new NotificationType<WaitingForWorkerParams>('pyctx/waitingForWorker');

export interface ServerStatusParams { state: 'starting' | 'ready' | 'error'; message?: string; python?: string; tried?: string[] }
export const serverStatus = new NotificationType<ServerStatusParams>('pyctx/serverStatus');
