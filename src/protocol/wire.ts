// Wire protocol between the Node pool (src/pool/) and a Python worker
// (python/pyctx_worker/). This file owns every name that crosses that pipe; its
// Python mirror is python/pyctx_worker/protocol.py, and test/unit/protocol-mirror
// checks that both agree. Change both or neither.
//
// Framing: a 4-byte big-endian unsigned length, then one MessagePack map
// (standard msgpack: no records, no extensions; bytes travel as `bin`). A frame
// whose length exceeds the receiver's maximum is an error (`frame_too_large`), not
// an allocation.
//
// Channels (both framed the same way):
//   main    = the worker's original stdin (requests in) / stdout (replies + events
//             out). Served by the worker's main thread: request in, reply out, with
//             no thread handoff on the hot path.
//   control = fd 3, a bidirectional socket given by the pool. Served by its own
//             thread in the worker, so it answers while a long cell runs. Only the
//             CONTROL_OPS below are valid there.
// The worker's own fds 1 and 2 are capture pipes: anything user code or child
// processes write there comes back as `stream` events of the running request.
// Interrupt is SIGINT (POSIX), with `interrupt` on the control channel as fallback.
//
// Under a launcher (srun, ssh, kubectl exec: src/pool/launch.ts) only stdin/stdout
// reach the worker: no fd 3, and signals to the launcher do not reach it. The pool
// then sets INBAND_ENV=1 and sends control requests on the main channel with
// CONTROL_MARK: true; the worker's reader thread answers them at once (interrupt
// included) and queues the rest for its main thread. Replies are told apart by id.
// The pool's heartbeat is a marked `stats` every heartbeatMs.
//
// Request:  { id: number, op: Op, ...fields }
// Reply:    { id, ok: true,  value }
//           { id, ok: false, error: WireError }
// Event:    { id, event: EventName, ...fields }   (id = the request it belongs to)
// While an `exec` waits in input(), the worker sends an `input_request` event and
// the next frame it reads on the main channel must be an `input_reply` request.

export const PROTOCOL_VERSION = 1;
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
export const CONTROL_FD = 3;
/** Field marking a control request sent on the main channel (in-band, under a launcher). */
export const CONTROL_MARK = 'control';
/** Env var ('1') that puts the worker in in-band mode. */
export const INBAND_ENV = 'PYCTX_INBAND';

/** Operations a request may name. */
// Requests running user code (exec, eval, call, method, attr) may carry
// `fresh_namespace: true`: the code runs in a throwaway __main__-like namespace
// instead of the worker's persistent one (the pool sets it for stateless calls, so
// unrelated callers never see each other's variables).
// Events carry the id of the request whose user code produced them; output of a
// thread or child process after the reply carries the finished request's id (late
// output: the pool hands it on, it is not a protocol error). Only a *reply* with an
// unknown id breaks the protocol.
export const Op = {
  hello: 'hello',                 // { cwd? } -> { pid, protocol, python_version, executable, codec, capabilities: string[],
                                  //      preload_errors: {module, error}[], session, max_frame_bytes,
                                  //      capture_fds: { stdout, stderr } (read ends of the capture pipes),
                                  //      memory_limit: bytes | null (RLIMIT_AS from PYCTX_MEMORY_LIMIT),
                                  //      shell: 'ipython' | 'builtin' (the cell layer, PYCTX_IPYTHON=auto|off),
                                  //      ipython_version: string | null, shell_note: string | null (why not IPython),
                                  //      host, cwd_warning: string | null (cwd given but missing on this node) }
  configure: 'configure',         // { session?, cwd?, sys_path0?, ref_ttl_seconds?, max_refs_per_session? } -> null
                                  // (in-band mode: a cwd missing on the node is a warning, shown by the next exec)
  exec: 'exec',                   // { code, session?, runtime_context?, store_history? = true } -> ExecReply (+ events)
  eval: 'eval',                   // { code, locals?, session?, runtime_context? } -> value (plain data or a ref)
  call: 'call',                   // { module, fn, args?, kwargs?, session?, runtime_context? } -> value
  method: 'method',               // { ref, name, args?, kwargs?, session?, runtime_context? } -> value
  attr: 'attr',                   // { ref, name, session? } -> value
  inputReply: 'input_reply',      // { value?: string, cancelled?: boolean, unavailable?: boolean } (only while an exec
                                  // waits in input()); cancelled -> KeyboardInterrupt, unavailable (no front end can
                                  // answer) -> StdinNotImplementedError
  stats: 'stats',                 // -> { rss_bytes, gc_counts, namespace_size, refs: number, sessions: number,
                                  //      execution_count, pid, uptime_seconds, shell }
  refsList: 'refs.list',          // { session? } -> RefInfo[]
  refsRelease: 'refs.release',    // { ref } -> { released: boolean, history_released?: string[] } (a variable takes
                                  // the IPython output-history entries holding the same object with it: 'Out[3]'...)
  refsStats: 'refs.stats',        // -> { sessions: {[session]: {count, bytes, ttl_seconds, max_refs}}, total, expired, evicted }
  sessionRelease: 'session.release', // { session } -> { count }
  complete: 'complete',           // { code, cursor, session?, budget_ms? } -> { matches: string[], cursor_start, cursor_end, source: 'jedi'|'fallback' }
  inspect: 'inspect',             // { code, cursor, session? } -> { found, name?, type_name?, python_module?, repr?, len?, shape?, doc?, signature? }
  interrupt: 'interrupt',         // (control only; fallback when SIGINT is unavailable) -> null
  ping: 'ping',                   // -> 'pong'
  shutdown: 'shutdown',           // -> null, then the worker exits 0
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Ops the control channel serves (from its own thread, during a running cell). */
export const CONTROL_OPS: readonly Op[] = [
  Op.stats, Op.refsList, Op.refsStats, Op.complete, Op.inspect, Op.interrupt, Op.ping,
];

/** Events a worker streams while a request runs. */
export const Event = {
  stream: 'stream',               // { name: 'stdout'|'stderr', text }
  display: 'display',             // { data: MimeBundle, metadata, transient?: { display_id? } }
  updateDisplay: 'update_display',// { data, metadata, transient: { display_id } }
  clearOutput: 'clear_output',    // { wait: boolean }
  inputRequest: 'input_request',  // { prompt, password: boolean }
} as const;
export type EventName = (typeof Event)[keyof typeof Event];

/** Stable error codes a worker may put in WireError.code. */
export const WireErrorCode = {
  pythonError: 'python_error',        // + ename, evalue, traceback
  interrupted: 'interrupted',         // KeyboardInterrupt raised by an interrupt
  refNotFound: 'ref_not_found',       // message says released / expired / evicted when known
  sessionMismatch: 'session_mismatch',
  invalidRef: 'invalid_ref',
  frameTooLarge: 'frame_too_large',
  protocolError: 'protocol_error',    // unknown op, missing field, undecodable frame
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

export interface WireError {
  code: WireErrorCode;
  message: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  /** invalid_ref: missing_id | missing_type | unknown_type | unknown_schema | not_a_map;
   *  ref_not_found: released | expired | evicted | session released | unknown. */
  reason?: string;
}

/** Jupyter-style mime bundle: 'text/plain' always present for results. */
export type MimeBundle = Record<string, unknown>;

export interface ExecReply {
  status: 'ok' | 'error';
  execution_count: number;
  result?: { data: MimeBundle; metadata: Record<string, unknown> };
  error?: { ename: string; evalue: string; traceback: string[] };
  // Display events held back to follow the result/error (figures flushed as the cell
  // ends, Jupyter's order). status 'error' may come without `error` (IPython's
  // UsageError: its text went to stderr, as in Jupyter).
  after_result?: { data: MimeBundle; metadata: Record<string, unknown>; transient?: { display_id?: string } }[];
}

/** The handle for a Python object kept in worker memory. */
export interface WireRef {
  __type__: 'ref';
  __schema__: 1;
  id: string;
  session_id: string;
  type_name: string;
  python_module: string;
}
export const REF_TYPE = 'ref';
export const REF_SCHEMA = 1;

/** One entry of refs.list: explicit refs and namespace variables alike. */
export interface WireRefInfo {
  id: string;
  session_id: string;
  kind: 'ref' | 'variable' | 'result' | 'history'; // result = a held last-expression value like _3;
                                       // history = IPython's Out[N] (id 'out:<n>', IPython mode)
  name?: string;                       // variable name, or '_3' for results
  type_name: string;
  python_module: string;
  size_bytes: number;
  repr: string;                        // short, truncated
  created_at: number;                  // unix seconds (float)
  last_access: number;
  execution_count?: number;            // last-assigned execution count (variables)
  ttl_seconds?: number | null;
}
