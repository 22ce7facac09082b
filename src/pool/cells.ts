// Notebook cells on the Node side: routing a running exec's events to the
// execute() callbacks (and a finished request's late events to 'lateOutput'), and
// turning the worker's ExecReply (or a Python-level wire error) into the library's
// ExecuteResult / PyCtxError.
import { Event } from '../protocol/wire';
import { PyCtxError } from './errors';
import type { ExecuteOptions, ExecuteResult, LateOutputEvent, OutputEvent } from './types';

/** A wire output event (stream / display / update_display / clear_output) as a library value. */
function toOutput(ev: Record<string, unknown>): OutputEvent | undefined {
  switch (ev.event) {
    case Event.stream:
      return { kind: 'stream', name: ev.name === 'stderr' ? 'stderr' : 'stdout', text: String(ev.text ?? '') };
    case Event.display:
    case Event.updateDisplay: {
      const transient = (ev.transient ?? undefined) as { display_id?: string } | undefined;
      return {
        kind: 'display',
        data: (ev.data ?? {}) as Record<string, unknown>,
        metadata: (ev.metadata ?? {}) as Record<string, unknown>,
        transient, update: ev.event === Event.updateDisplay, displayId: transient?.display_id,
      };
    }
    case Event.clearOutput:
      return { kind: 'clear_output', wait: ev.wait === true };
  }
  return undefined;
}

/** The onEvent handler of one execute(): stream / display / update_display / clear_output. */
export function cellEventHandler(opts: ExecuteOptions): (ev: Record<string, unknown>) => void {
  return ev => {
    const out = toOutput(ev);
    if (!out) return;
    if (out.kind === 'stream') opts.onStream?.({ name: out.name, text: out.text });
    else if (out.kind === 'display') {
      const { kind: _kind, ...display } = out;
      opts.onDisplay?.(display);
    } else opts.onClearOutput?.({ wait: out.wait });
  };
}

/** A finished request's event as a LateOutputEvent; undefined for events that are not output. */
export function lateOutputEvent(ev: Record<string, unknown>, sessionId: string, pid: number): LateOutputEvent | undefined {
  const out = toOutput(ev);
  return out && { sessionId, pid, requestId: Number(ev.id ?? 0), ...out };
}

/** ExecReply (snake_case wire) -> ExecuteResult. */
export function toExecuteResult(v: unknown): ExecuteResult {
  const r = (v ?? {}) as Record<string, unknown>;
  const out: ExecuteResult = {
    status: r.status === 'error' ? 'error' : 'ok',
    executionCount: Number(r.execution_count ?? 0),
  };
  if (r.result) out.result = r.result as ExecuteResult['result'];
  if (r.error) out.error = r.error as ExecuteResult['error'];
  if (Array.isArray(r.after_result) && r.after_result.length) {
    out.afterResult = (r.after_result as Record<string, unknown>[]).map(ev => {
      const transient = (ev.transient ?? undefined) as { display_id?: string } | undefined;
      return {
        data: (ev.data ?? {}) as Record<string, unknown>, metadata: (ev.metadata ?? {}) as Record<string, unknown>,
        transient, update: false, displayId: transient?.display_id,
      };
    });
  }
  return out;
}

/** A Python-level failure reported as a wire error is still a normal cell outcome. */
export function cellErrorResult(e: unknown): ExecuteResult | undefined {
  if (e instanceof PyCtxError && (e.code === 'python_error' || e.code === 'interrupted') && e.ename) {
    return { status: 'error', executionCount: 0, error: { ename: e.ename, evalue: e.evalue ?? '', traceback: e.traceback ?? [] } };
  }
  return undefined;
}

/** For exec() (not execute()): an error status rejects; KeyboardInterrupt as `interrupted`. */
export function execReplyOrThrow(v: unknown, pid: number): void {
  const r = v as { status?: string; error?: { ename: string; evalue: string; traceback: string[] } } | null;
  if (r && r.status === 'error' && r.error) {
    const code = r.error.ename === 'KeyboardInterrupt' ? 'interrupted' : 'python_error';
    throw new PyCtxError(code, `${r.error.ename}: ${r.error.evalue}`, { ...r.error, pid });
  }
}
