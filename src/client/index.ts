// Public surface of the extension-side client (consumed by src/kernel/,
// src/extension.ts and src/views/). Typical use in activate():
//
//   const client = await PyctxClient.start(context);          // starts dist/server.js
//   context.subscriptions.push(client);
//   client.setInputHandler(async (p, token) => ({ value: await showInputBox(p) }));
//   client.onDidReset(() => forgetAllBindings());              // server restarted
//   client.onSessionLost(l => markNotebookLost(l.notebookUri, l));
//   const r = await client.execute({ notebookUri, code, cellIndex, cwd }, out => append(out));
//
// Failed requests reject with a ResponseError; `errorCode(err)` gives its stable
// code (`no_python`, `worker_crashed`, ...; see lsp.ts PYCTX_ERROR).
export { PyctxClient, NOTEBOOK_CELL_SELECTOR } from './client';
export type { PyctxClientOptions, ResetEvent } from './client';
export { PyctxApi, errorCode } from './api';
export type { RpcEndpoint, ExecuteRequest, InputHandler, StatsChangedParams, RefsChangedParams } from './api';
export { resolveInterpreter } from './interpreter';
export type { ResolvedInterpreter, InterpreterSource } from './interpreter';
export { readServerOptions, liveOptions, SERVER_SETTINGS, RESTART_SETTINGS, LIVE_SETTINGS } from './settings';
export type * from '../protocol/lsp';
