// pyctx/execute: runs one cell of a notebook on its session (binding one if
// needed), streams outputs through an OutputSink, forwards input() to the client
// as a pyctx/inputRequest (echoing prompt and answer into the output, as Jupyter does), and turns a dead or replaced worker into an `aborted`
// reply with crash info instead of a failed request. The reply is sent only
// after the last output notification of the run. Output printed after the reply
// (routeLateOutput) goes to the session's last cell run, tagged `late: true`.
import { CancellationTokenSource, type CancellationToken } from 'vscode-languageserver';
import type { LateOutputEvent } from '../pool';
import type { ExecuteParams, ExecuteResult, InputReply, InputRequestParams, OutputPayload } from '../protocol/lsp';
import { optionalString, PyctxServerError, requireString } from './errors';
import { jsonSafeBundle, OutputSink } from './outputs';
import type { NotebookSession, NotebookSessions } from './sessions';
import { hopRecorder } from './trace';

export interface ExecuteDeps {
  sessions: NotebookSessions;
  sendOutput: (o: OutputPayload) => void;
  /** Asks the client; `token` is cancelled when the run ends first (the input box closes). */
  askInput: (p: InputRequestParams, token: CancellationToken) => Promise<InputReply>;
  coalesceMs: number;
  maxBytes: number;
  /** After every run: the session's namespace (refs) may have changed. */
  onRan: (session: NotebookSession) => void;
}

/** Pool error codes meaning "this context is gone", not "the request was bad". */
const CONTEXT_GONE = new Set(['worker_crashed', 'context_not_bound', 'session_worker_unavailable']);

export async function runExecute(params: ExecuteParams, deps: ExecuteDeps, token?: CancellationToken): Promise<ExecuteResult> {
  const trace = hopRecorder(params?.trace);
  trace?.mark('server.received');
  const notebookUri = requireString(params?.notebookUri, 'notebookUri');
  const executionId = requireString(params.executionId, 'executionId');
  if (typeof params.code !== 'string') throw new PyctxServerError('bad_request', 'code must be a string');
  const silent = params.silent === true;
  const { session } = await deps.sessions.ensure(notebookUri, params.cwd, optionalString(params.python, 'python'));
  trace?.mark('server.session');
  const sink = new OutputSink({ executionId, send: deps.sendOutput, coalesceMs: deps.coalesceMs, maxBytes: deps.maxBytes });
  if (!silent) {
    // Late output from now on belongs to this cell; the previous cell's pending text goes out first.
    session.lateSink?.flush();
    session.lateSink?.dispose();
    session.lateSink = undefined;
    session.lastExecution = { executionId, cellIndex: params.cellIndex };
  }
  const cancel = token?.onCancellationRequested(() => { session.ctx.interrupt(); });
  const runOver = new CancellationTokenSource();
  session.running++;
  try {
    const r = await session.ctx.execute(params.code, {
      onStream: ev => sink.stream(ev.name, ev.text),
      onDisplay: ev => sink.display(ev.update ? 'update_display' : 'display', ev.data, ev.metadata, ev.displayId ?? ev.transient?.display_id),
      onClearOutput: ev => sink.clearOutput(ev.wait),
      onInput: async req => {
        sink.flush();   // the prompt's preceding output must be visible first
        const reply = await deps.askInput({ notebookUri, executionId, prompt: req.prompt, password: req.password }, runOver.token)
          .catch((): InputReply => ({ cancelled: true }));
        if (reply.cancelled) return null;
        // As Jupyter's front ends do: the prompt and the answer stay in the cell's output (a password hidden).
        const answer = reply.value ?? '';
        sink.stream('stdout', `${req.prompt}${req.password ? (answer ? '········' : '') : answer}\n`);
        return answer;
      },
      runtimeContext: {
        notebook_uri: notebookUri,
        cell_index: params.cellIndex ?? null,
        execution_count: silent ? session.executionCount : session.executionCount + 1,
      },
      // Silent runs (API executeCode) are not cells: no count, no held `_N` result.
      ...(silent ? { storeHistory: false } : {}),
      ...(trace ? { onTrace: (hop: string) => trace.mark(hop) } : {}),
    });
    if (!silent) session.executionCount = r.executionCount;
    sink.flush();
    // The pid rides on the reply: the client needs no pyctx/sessions round trip after an implicit bind.
    const out: ExecuteResult = { status: r.status, executionCount: silent ? session.executionCount : r.executionCount, pid: session.pid };
    if (r.result) out.result = { data: jsonSafeBundle(r.result.data), metadata: r.result.metadata ?? {} };
    if (r.error) out.error = r.error;
    if (r.afterResult) {
      out.afterResult = r.afterResult.map(d => ({ data: jsonSafeBundle(d.data), metadata: d.metadata ?? {}, displayId: d.displayId }));
    }
    if (sink.truncated) out.truncated = true;
    if (trace) { trace.mark('server.reply'); out.trace = trace.hops; }
    return out;
  } catch (err) {
    sink.flush();
    const code = (err as { code?: string }).code;
    if (!session.ended && !(code && CONTEXT_GONE.has(code))) throw err;
    // The worker died under the cell, or the notebook was restarted/unbound meanwhile.
    const e = err as { exitCode?: number | null; signal?: string | null; message?: string };
    const crash = session.ended && session.ended.reason !== 'crashed'
      ? { exitCode: null, signal: null, message: session.ended.message }
      : { exitCode: session.ended?.exitCode ?? e.exitCode ?? null, signal: session.ended?.signal ?? e.signal ?? null,
          message: e.message ?? session.ended?.message ?? 'the worker crashed' };
    if (!session.ended) deps.sessions.markLost(session, crash);
    const out: ExecuteResult = { status: 'aborted', executionCount: session.executionCount + (silent ? 0 : 1), crash };
    if (sink.truncated) out.truncated = true;
    return out;
  } finally {
    sink.dispose();
    cancel?.dispose();
    runOver.cancel();
    runOver.dispose();
    session.running--;
    deps.onRan(session);
  }
}

export interface LateOutputDeps {
  sendOutput: (o: OutputPayload) => void;
  coalesceMs: number;
  maxBytes: number;
}

/**
 * Output of a session's worker after its request finished (a thread or timer of a
 * cell): sent as `late: true` outputs of the session's last cell run, coalesced and
 * capped (maxBytes per execution, then one `truncated`) like the run's own output.
 * Dropped when no cell has run yet (a silent run's leftovers have no cell to go to).
 */
export function routeLateOutput(session: NotebookSession, ev: LateOutputEvent, deps: LateOutputDeps): void {
  const last = session.lastExecution;
  if (!last || session.ended) return;
  const sink = session.lateSink ??= new OutputSink({
    executionId: last.executionId, send: deps.sendOutput, coalesceMs: deps.coalesceMs, maxBytes: deps.maxBytes, late: true,
  });
  switch (ev.kind) {
    case 'stream': return sink.stream(ev.name, ev.text);
    case 'display': return sink.display(ev.update ? 'update_display' : 'display', ev.data, ev.metadata, ev.displayId ?? ev.transient?.display_id);
    case 'clear_output': return sink.clearOutput(ev.wait);
  }
}
