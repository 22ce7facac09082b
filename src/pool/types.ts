// Public types of the pool library (re-exported from src/pool/index.ts). These
// names are part of the package contract: extend, don't rename.
import type { MimeBundle, WireRef } from '../protocol/wire';

export type { MimeBundle };

/** How requests reach a bound session's worker when it is busy (see seeds/002). */
export type AffinityMode = 'strict_queue' | 'strict_fail_fast' | 'hint';

/** PoolOptions.ipython: use IPython's shell for cells when importable, or never. */
export type IPythonMode = 'auto' | 'off';
export const IPYTHON_MODES: readonly IPythonMode[] = ['auto', 'off'];

/** Which layer a worker runs cells with: IPython's InteractiveShell or the built-in one. */
export type ShellMode = 'ipython' | 'builtin';

export interface PoolOptions {
  /** Interpreter command or path; resolved once to its real sys.executable. Default python3, then python. */
  python?: string;
  /** Maximum number of workers (bound + unbound). Default 4. */
  size?: number;
  /** Idle fresh workers kept started in advance (within size). Default 1. */
  warm?: number;
  /**
   * After a bind takes a warm worker, the replacement starts this much later, so that
   * its start-up (a Python process importing, a core's worth of CPU) does not compete
   * with the bound notebook's first cell and its rendering. A bind that finds no warm
   * worker meanwhile starts one at once. Default 500; 0 = at once.
   */
  refillDelayMs?: number;
  /** Working directory of spawned workers. Default process.cwd(). */
  cwd?: string;
  /** Extra environment for workers (merged over process.env). */
  env?: Record<string, string | undefined>;
  /** Default time limit of a running request; undefined = none. */
  requestTimeoutMs?: number;
  /** Grace after the SIGINT of a timed-out request before the worker is killed. Default 2000. */
  interruptGraceMs?: number;
  /** Largest frame either side accepts. Default wire DEFAULT_MAX_FRAME_BYTES (256 MiB). */
  maxFrameBytes?: number;
  /** Modules imported by every worker at start (PYCTX_PRELOAD). */
  preload?: string[];
  /**
   * Address-space cap of each worker in bytes (RLIMIT_AS, POSIX; at least 128 MiB):
   * a runaway allocation in user code raises MemoryError instead of waking the OOM
   * killer. Undefined or 0 = no limit.
   */
  memoryLimitBytes?: number;
  /** Default affinity mode. Default 'strict_queue'. */
  affinity?: AffinityMode;
  /**
   * How workers run notebook cells (execute): 'auto' (default) runs them through a real
   * IPython InteractiveShell when the interpreter has IPython >= 7, imported while the
   * worker warms up; 'off' always uses the built-in standard-library layer. eval / call /
   * method / attr never go through either (PYCTX_IPYTHON).
   */
  ipython?: IPythonMode;
  /** strict_queue: how long a request may wait for its worker; undefined = no limit. */
  queueTimeoutMs?: number;
  /** strict_queue: maximum queued requests per worker (and for the free-worker queue). Default 1000. */
  maxQueueLength?: number;
  /** Ref TTL configured per session; null/undefined = off. */
  refTtlSeconds?: number | null;
  /** Per-session ref maximum with LRU eviction. Default 10,000. */
  maxRefsPerSession?: number;
  /**
   * Time a worker may take from spawn to hello (IPython mode imports IPython there;
   * through a launcher this includes the scheduler's queue: a worker still queued fails
   * with worker_start_failed and the scheduler's words). Default 60000.
   */
  startTimeoutMs?: number;
  /**
   * argv prefix that starts each worker elsewhere, never through a local shell:
   * `['srun', '--unbuffered', '-N1', '-n1']`, `['ssh', 'host']`, `['kubectl', 'exec', '-i', 'pod', '--']`.
   * Each worker runs as `[...launcher, env, PYCTX_…=…, python, -c, bootstrap]`; the
   * interpreter is resolved through it too. See docs/cluster.md.
   */
  launcher?: string[];
  /** With a launcher: in-band heartbeat interval; three missed → worker_crashed (reason 'heartbeat'). Default 5000; 0 = off. */
  heartbeatMs?: number;
}

export interface BindOptions {
  /** Session id for refs; generated when omitted. */
  sessionId?: string;
  /** Working directory and sys.path[0] of the bound worker. */
  cwd?: string;
  /** Free-form owner label shown in stats (e.g. a notebook URI). */
  owner?: string;
  /** Ref settings for this session (default: the pool's). */
  refTtlSeconds?: number | null;
  maxRefsPerSession?: number;
  /**
   * When every one of the pool's `size` workers is bound to another context:
   * false (default) rejects at once with `no_workers_available`; true waits in line
   * until a worker frees up (a context unbinds, a worker crashes or is recycled).
   * Waiting binds are served in order, before queued stateless calls. Either way a
   * worker killed before it is handed over is replaced, not reported as a failure.
   */
  waitForWorker?: boolean;
  /** Longest wait in line (waitForWorker), in ms; elapsed: `no_workers_available`. Default: no limit. */
  waitTimeoutMs?: number;
  /** Cancels the bind while it waits or its worker starts: rejects with `interrupted`; no worker stays reserved. */
  signal?: AbortSignal;
  /** Called once if the bind has to wait in line; `position` counts it (1 = next). */
  onWait?: (info: { position: number }) => void;
}

/** Options every request accepts. */
export interface CallOptions {
  timeoutMs?: number;
  affinity?: AffinityMode;
  /** Plain-data variables visible in Python through pyctx_worker.runtime.get_context(). */
  runtimeContext?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface StreamEvent { name: 'stdout' | 'stderr'; text: string }
export interface DisplayEvent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
  /** true for update_display (replace the output with transient.display_id). */
  update: boolean;
  displayId?: string;
}
export interface InputRequest { prompt: string; password: boolean }

/**
 * Output that arrived after its request had finished: a thread or a child process
 * of user code printed (or displayed) once the reply was sent. Emitted as
 * 'lateOutput' on the Context (bound workers) and on the Pool (every worker).
 */
export type LateOutputEvent = { sessionId: string; pid: number; requestId: number } & OutputEvent;

/** One output of user code, tagged by kind. */
export type OutputEvent =
  | ({ kind: 'stream' } & StreamEvent)
  | ({ kind: 'display' } & DisplayEvent)
  | { kind: 'clear_output'; wait: boolean };

export interface ExecuteOptions extends CallOptions {
  onStream?: (ev: StreamEvent) => void;
  onDisplay?: (ev: DisplayEvent) => void;
  onClearOutput?: (ev: { wait: boolean }) => void;
  /** Answer input(); resolve null to cancel (KeyboardInterrupt in Python). Without it input() raises
   *  StdinNotImplementedError, as in a Jupyter front end without stdin. */
  onInput?: (req: InputRequest) => Promise<string | null> | string | null;
  /** Count this cell in execution_count / output history. Default true. */
  storeHistory?: boolean;
  /** Diagnostics (the server's PYCTX_TRACE): called when the request frame is written to
   *  the worker ('pool.write') and when its reply frame has been decoded ('pool.reply'). */
  onTrace?: (hop: TraceHopName) => void;
}

/** The pool's hops of a traced execute (see ExecuteOptions.onTrace). */
export type TraceHopName = 'pool.write' | 'pool.reply';

export interface ExecuteResult {
  status: 'ok' | 'error';
  executionCount: number;
  result?: { data: MimeBundle; metadata: Record<string, unknown> };
  error?: { ename: string; evalue: string; traceback: string[] };
  /**
   * Display outputs that follow the result (or error) in Jupyter's order: figures the
   * cell left open, flushed when it ended. Show them after `result` and `error`.
   * (A failed cell may have no `error`: IPython's UsageError shows only on stderr.)
   */
  afterResult?: DisplayEvent[];
}

/** A handle to a Python object kept in a worker (wire shape; plain data): the wire's WireRef. */
export type Ref = WireRef;

/** ref: explicit handle; variable: a notebook variable; result: a held cell result (built-in
 *  layer, _N); history: an entry of IPython's output history (Out[N], IPython mode). */
export type RefKind = 'ref' | 'variable' | 'result' | 'history';

export interface RefInfo {
  id: string;
  sessionId: string;
  kind: RefKind;
  name?: string;
  typeName: string;
  pythonModule: string;
  sizeBytes: number;
  repr: string;
  createdAt: number;   // ms since epoch
  lastAccess: number;  // ms since epoch
  executionCount?: number;
  ttlSeconds?: number | null;
}

export type WorkerState = 'starting' | 'idle' | 'bound' | 'busy' | 'stopping';

export interface WorkerStatsEntry {
  pid: number;
  state: WorkerState;
  owner: string | null;
  sessionId: string | null;
  rssBytes: number;
  startedAt: number; // ms since epoch
}

export interface PoolStats {
  numWorkers: number;
  availableWorkers: number;
  checkedOut: number;
  pendingRequests: number;
  /** Binds waiting in line for a worker (BindOptions.waitForWorker, or all free workers busy). */
  waitingBinds: number;
  workers: WorkerStatsEntry[];
}

/** Result of ctx.workerStats() (the worker's `stats` op, via the control channel). */
export interface WorkerStats {
  rssBytes: number;
  gcCounts: number[];
  namespaceSize: number;
  refs: number;
  sessions: number;
  [key: string]: unknown;
}

/** `kinds[i]`: what `matches[i]` is (variable, function, class, module, keyword, magic, property), when the worker says. */
export interface CompleteResult { matches: string[]; cursorStart: number; cursorEnd: number; source?: 'jedi' | 'fallback'; kinds?: string[]; partial?: boolean }
export interface InspectResult {
  found: boolean;
  name?: string;
  typeName?: string;
  pythonModule?: string;
  repr?: string;
  len?: number;
  shape?: unknown;
  doc?: string;
  /** The whole docstring (capped), for completion documentation. */
  docstring?: string;
  /** variable, function, class, module, keyword, property. */
  kind?: string;
  signature?: string;
}

export interface ContextLostEvent {
  sessionId: string;
  owner: string | null;
  pid: number;
  exitCode: number | null;
  signal: string | null;
  message: string;
}

export interface HelloInfo {
  pid: number;
  protocol: number;
  python_version: string;
  executable: string;
  codec: string;
  capabilities: string[];
  /** Read-end fds of the worker's stdout/stderr capture pipes (see leftovers.ts). */
  capture_fds?: Partial<Record<'stdout' | 'stderr', number>>;
  /** The worker's RLIMIT_AS in bytes (PoolOptions.memoryLimitBytes), null when none. */
  memory_limit?: number | null;
  /** The layer that runs cells; ipython_version when it is IPython's shell. */
  shell?: ShellMode;
  ipython_version?: string | null;
  /** Why IPython was wanted but not used (too old, failed to import), else null. */
  shell_note?: string | null;
}
