// The API returned by activate() for other extensions, shaped after the Jupyter
// extension's kernel API (@vscode/jupyter-extension, type-checked against it
// below): `getKernel(uri)` gives a notebook's live kernel with `status`,
// `onDidChangeStatus`, `language` and `executeCode(code, token)` streaming
// outputs; plus the pool's stats and refs. Get it with
//   const api = await vscode.extensions.getExtension('pyctx.pyctx')!.activate();
import * as vscode from 'vscode';
import type { Kernel, Kernels, KernelStatus } from '@vscode/jupyter-extension';
import type { PyctxClient, RefsChangedParams, StatsChangedParams } from '../client';
import type { OutputPayload, PoolStatsPayload, RefsResult, SessionInfo } from '../protocol/lsp';
import type { PyctxKernel } from '../kernel/controller';
import { CONTROLLER_ID, envControllerId } from '../kernel/controllers';
import type { NotebookRunner } from '../kernel/notebookRunner';
import { bundleItems, errorItem, streamItem } from '../kernel/mime';
import { onDidTrace, type TraceRecord } from '../kernel/trace';

/** One output of executeCode (the Jupyter API's `Output`, which it does not export by name). */
export type KernelOutput = ReturnType<Kernel['executeCode']> extends AsyncIterable<infer O> ? O : never;

export interface PyctxKernelApi extends Kernel {
  readonly notebookUri: vscode.Uri;
  /** Pid of the worker holding this notebook's context (undefined until known). */
  readonly pid: number | undefined;
}

export interface PyctxExtensionApi {
  /** Jupyter-compatible kernels API. */
  readonly kernels: Kernels;
  /** The kernel of an open notebook that has a pyctx context (ran a cell or was bound), else undefined. */
  getKernel(uri: vscode.Uri): Thenable<PyctxKernelApi | undefined>;
  /** The Python environments pyctx found, one NotebookController each (`controllerId`). */
  readonly environments: {
    list(): EnvironmentInfo[];
    /** The id of the pyctx controller selected for an open notebook (undefined: none of pyctx's). */
    controllerFor(notebookUri: vscode.Uri): string | undefined;
    /** Discovers again (as the "pyctx: Refresh Python Environments" command). */
    refresh(): Promise<EnvironmentInfo[]>;
    readonly onDidChange: vscode.Event<EnvironmentInfo[]>;
  };
  readonly pool: {
    /** The default environment's pool. */
    stats(): Promise<PoolStatsPayload>;
    /** Every pool (one per interpreter in use), the default first. */
    pools(): Promise<PoolStatsPayload[]>;
    /** Sessions of every pool; each carries its `python`. */
    sessions(): Promise<SessionInfo[]>;
    readonly onDidChange: vscode.Event<StatsChangedParams>;
  };
  readonly refs: {
    /** A session's refs, largest first, paged. */
    list(sessionId: string, offset?: number, limit?: number): Promise<RefsResult>;
    release(sessionId: string, refId: string): Promise<{ released: boolean }>;
    releaseSession(sessionId: string): Promise<{ count: number }>;
    readonly onDidChange: vscode.Event<RefsChangedParams>;
  };
  /** What the views registered (tree and status bar handles), for tests and tools. */
  views?: unknown;
  /** Diagnostics: each finished end-to-end trace of a cell or executeCode while the
   *  extension host runs with PYCTX_TRACE=1 (src/kernel/trace.ts), as printed. */
  readonly debug: { readonly onTrace: vscode.Event<TraceRecord> };
}

export interface EnvironmentInfo {
  id: string;
  /** The interpreter it runs as (a venv's own bin/python). */
  python: string;
  version: string | undefined;
  displayName: string;
  /** Its NotebookController (`pyctx` for the default environment). */
  controllerId: string;
  isDefault: boolean;
  /** Why it cannot run (missing, broken, too old). */
  error?: string;
}

function environmentInfos(kernel: PyctxKernel): EnvironmentInfo[] {
  const envs = kernel.environments;
  return envs.list().map(e => ({
    id: e.id, python: e.python, version: e.version, displayName: e.name,
    controllerId: e.id === envs.defaultId ? CONTROLLER_ID : envControllerId(e.id),
    isDefault: e.id === envs.defaultId, ...(e.error ? { error: e.error } : {}),
  }));
}

export function createApi(kernel: PyctxKernel, client: PyctxClient): PyctxExtensionApi {
  const kernels = new WeakMap<NotebookRunner, PyctxKernelApi>();
  const getKernel = async (uri: vscode.Uri): Promise<PyctxKernelApi | undefined> => {
    const runner = kernel.existingRunner(uri);
    if (!runner || !(runner.bound || runner.isBusy)) return undefined;
    let k = kernels.get(runner);
    if (!k) { k = kernelOf(runner); kernels.set(runner, k); }
    return k;
  };
  return {
    kernels: { getKernel } satisfies Kernels,
    getKernel,
    environments: {
      list: () => environmentInfos(kernel),
      controllerFor: uri => kernel.selectedControllerId(uri),
      refresh: async () => { await kernel.environments.refresh(); return environmentInfos(kernel); },
      // After the controllers follow the registry, so a listed controllerId is selectable.
      onDidChange: (listener, thisArg, disposables) =>
        kernel.controllers.onDidChange(() => listener.call(thisArg, environmentInfos(kernel)), undefined, disposables),
    },
    pool: {
      stats: () => client.stats(),
      pools: () => client.pools(),
      sessions: () => client.sessions(),
      onDidChange: client.onStatsChanged,
    },
    refs: {
      list: (sessionId, offset, limit) => client.refs(sessionId, offset, limit),
      release: (sessionId, refId) => client.releaseRef(sessionId, refId),
      releaseSession: sessionId => client.releaseSession(sessionId),
      onDidChange: client.onRefsChanged,
    },
    debug: { onTrace: onDidTrace },
  };
}

function kernelOf(runner: NotebookRunner): PyctxKernelApi {
  const k = {
    get status(): KernelStatus { return runner.status; },
    onDidChangeStatus: runner.onDidChangeStatus,
    language: 'python',
    notebookUri: runner.notebook.uri,
    get pid() { return runner.pid; },
    executeCode: (code: string, token: vscode.CancellationToken) => executeCode(runner, code, token),
  };
  return k satisfies Kernel;
}

/** Streams a run's outputs as they arrive; completes after the last (or throws the request's error).
 *  Silent, as the Jupyter API promises: not a cell run (no execution count, no `_N`). */
async function* executeCode(runner: NotebookRunner, code: string, token: vscode.CancellationToken): AsyncGenerator<KernelOutput> {
  const buffered: KernelOutput[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const push = (o: KernelOutput | undefined) => { if (o) buffered.push(o); wake?.(); };

  const run = runner.runCode(code, o => push(outputOf(o)), token).then(r => {
    if (r.result) push({ items: bundleItems(r.result.data), metadata: r.result.metadata });
    if (r.error) push({ items: [errorItem(r.error.ename, r.error.evalue, r.error.traceback)] });
    for (const d of r.afterResult ?? []) push({ items: bundleItems(d.data), metadata: d.metadata });
    if (r.crash) push({ items: [errorItem('WorkerCrashed', r.crash.message, [])] });
  }, err => { failure = err; }).finally(() => { finished = true; wake?.(); });

  while (true) {
    if (buffered.length) { yield buffered.shift()!; continue; }
    if (finished) break;
    await new Promise<void>(resolve => { wake = resolve; });
    wake = undefined;
  }
  await run;
  if (failure) throw failure;
}

function outputOf(o: OutputPayload): KernelOutput | undefined {
  switch (o.kind) {
    case 'stream': return { items: [streamItem(o.name, o.text)] };
    case 'display':
    case 'update_display': return { items: bundleItems(o.data), metadata: { ...o.metadata, displayId: o.displayId, update: o.kind === 'update_display' } };
    case 'truncated': return { items: [streamItem('stderr', `[pyctx] output truncated at ${o.limitBytes} bytes`)] };
    case 'clear_output': return undefined;
  }
}
