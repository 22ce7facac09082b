// PyCtxError: the one error type the pool library throws, with a stable `code`
// callers can switch on. Python exceptions carry ename/evalue/traceback; a dead
// worker carries exitCode/signal. Codes are part of the public contract: add,
// never rename.

import { WireErrorCode } from '../protocol/wire';

export type PyCtxErrorCode =
  | 'no_workers_available'        // bind while all `size` workers are bound
  | 'context_not_bound'           // context used after unbind (or implicit call with no bind where one is required)
  | 'worker_crashed'              // worker exited / was killed while the request was pending
  | 'timeout'                     // request ran (or waited) longer than its timeoutMs
  | 'interrupted'                 // KeyboardInterrupt from interrupt(), or aborted by signal/unbind
  | 'python_error'                // a Python exception: ename, evalue, traceback
  | 'frame_too_large'             // a frame over maxFrameBytes was refused before sending
  | 'protocol_error'              // the worker broke the wire protocol (or rejected our request as malformed)
  | 'pool_saturated'              // strict_queue: queue full or queue timeout elapsed
  | 'worker_busy'                 // strict_fail_fast: the session's worker is running something
  | 'session_worker_unavailable'  // strict modes: the session's worker is gone
  | 'ref_not_found'               // released / expired / evicted ref
  | 'session_mismatch'            // a ref of another session
  | 'invalid_ref'                 // malformed ref
  | 'pool_closed'                 // the pool was closed
  | 'python_not_found'            // the interpreter could not be resolved
  | 'worker_start_failed'         // a worker did not complete its hello
  | 'invalid_argument';           // bad input to a library call

export interface PyCtxErrorDetails {
  ename?: string;
  evalue?: string;
  traceback?: string[];
  exitCode?: number | null;
  signal?: string | null;
  pid?: number;
  /** Why, when the worker says (invalid_ref: missing_id…; ref_not_found: released | expired | evicted…). */
  reason?: string;
  cause?: unknown;
}

// The details are also the error's own fields (declaration merging), copied when given.
export interface PyCtxError extends Omit<PyCtxErrorDetails, 'cause'> {}

export class PyCtxError extends Error {
  readonly code: PyCtxErrorCode;

  constructor(code: PyCtxErrorCode, message: string, details: PyCtxErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PyCtxError';
    this.code = code;
    const { cause: _cause, ...fields } = details;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (this as Record<string, unknown>)[k] = v;
  }
}

/** Wire error codes map 1:1 onto library codes; anything unknown is a protocol error. */
const WIRE_CODES = new Set<string>(Object.values(WireErrorCode));

export function fromWireError(err: unknown, pid?: number): PyCtxError {
  const e = (err && typeof err === 'object' ? err : {}) as Record<string, unknown>;
  const code = typeof e.code === 'string' && WIRE_CODES.has(e.code) ? (e.code as PyCtxErrorCode) : 'protocol_error';
  const ename = typeof e.ename === 'string' ? e.ename : undefined;
  const evalue = typeof e.evalue === 'string' ? e.evalue : undefined;
  const message = typeof e.message === 'string' && e.message
    ? e.message
    : ename ? `${ename}: ${evalue ?? ''}` : `worker error ${String(e.code)}`;
  return new PyCtxError(code, message, {
    ename, evalue,
    traceback: Array.isArray(e.traceback) ? e.traceback.map(String) : undefined,
    reason: typeof e.reason === 'string' ? e.reason : undefined,
    pid,
  });
}
