// Notebook cells on the Node side: routing a running exec's events to the
// execute() callbacks, and turning the worker's ExecReply (or a Python-level wire
// error) into the library's ExecuteResult / PyCtxError.
import { PyCtxError } from './errors';
import type { ExecuteOptions, ExecuteResult } from './types';

/** The onEvent handler of one execute(): stream / display / update_display / clear_output. */
export function cellEventHandler(opts: ExecuteOptions): (ev: Record<string, unknown>) => void {
  return ev => {
    switch (ev.event) {
      case 'stream':
        opts.onStream?.({ name: ev.name === 'stderr' ? 'stderr' : 'stdout', text: String(ev.text ?? '') });
        break;
      case 'display':
      case 'update_display': {
        const transient = (ev.transient ?? undefined) as { display_id?: string } | undefined;
        opts.onDisplay?.({
          data: (ev.data ?? {}) as Record<string, unknown>,
          metadata: (ev.metadata ?? {}) as Record<string, unknown>,
          transient, update: ev.event === 'update_display', displayId: transient?.display_id,
        });
        break;
      }
      case 'clear_output':
        opts.onClearOutput?.({ wait: ev.wait === true });
        break;
    }
  };
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
