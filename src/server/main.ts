// Entry of the pool server (bundled to dist/server.js; the extension starts it
// with vscode-languageclient over stdio). One connection, one Pool per
// interpreter (pools.ts: the default one named in initializationOptions, the
// others per notebook environment), sessions keyed by notebook URI, pyctx/* methods and live completion/hover for cells.
// This file only wires the parts together; each rule lives in its own module.
import { format } from 'node:util';
import { createConnection, ProposedFeatures, StreamMessageWriter, type InitializeResult } from 'vscode-languageserver/node';
import * as lsp from '../protocol/lsp';
import { guarded } from './errors';
import { routeLateOutput, runExecute } from './execute';
import { listenNotebooks, warmLiveFeatures } from './language';
import { ChangePusher } from './notify';
import { DEFAULT_OPTIONS } from './poolHost';
import { PoolRegistry } from './pools';
import { RefsCache } from './queries';
import { onRequest, onRequest0, sendNotification, sendRequest } from './rpc';
import { NotebookSessions } from './sessions';
import { parseServerOptions } from './options';
import { configureWorker, parseLiveOptions, refLimits } from './liveConfig';
import { ResyncingMessageReader } from './lspReader';
import { MemoryWatch } from './memoryWatch';

// stdio with our own reader (lspReader.ts: malformed frames are skipped, never stall
// the stream). Given streams, the library no longer does the --stdio chores itself:
// exit when the client's end closes, and keep console output off stdout (the wire).
const connection = createConnection(ProposedFeatures.all, new ResyncingMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
let shutdownReceived = false;
for (const ev of ['end', 'close'] as const) process.stdin.on(ev, () => process.exit(shutdownReceived ? 0 : 1));
console.log = console.info = (...a: unknown[]) => connection.console.log(format(...a));
console.warn = (...a: unknown[]) => connection.console.warn(format(...a));
console.error = (...a: unknown[]) => connection.console.error(format(...a));
let pools: PoolRegistry | undefined;
let sessions: NotebookSessions | undefined;
let pusher: ChangePusher | undefined;
let options: lsp.ServerOptions = {};
const refsCache = new RefsCache();
let memory: MemoryWatch | undefined;

const need = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Error('the server is not initialized');
  return v;
};

connection.onInitialize((params): InitializeResult => {
  options = parseServerOptions(params.initializationOptions);
  pools = new PoolRegistry(options, {
    onStatus: s => sendNotification(connection, lsp.serverStatus, s),
    onStarted: pool => {
      pool.on('stats', () => pusher?.stats());
      pool.on('refs', ev => { refsCache.invalidate(ev.sessionId); pusher?.refs(ev.sessionId); });
      pusher?.stats();
    },
    onChanged: () => pusher?.stats(),
  });
  const h = pools;
  pusher = new ChangePusher(
    () => {
      const all = h.payloads();
      const def = all[0];
      // Before the default pool first answered, or when it cannot start (serverStatus says why), no stats.
      if (def.state === 'error' || (def.state === 'starting' && !h.running().length)) return;
      memory?.pushed(all.flatMap(p => p.workers));
      sendNotification(connection, lsp.statsChanged, { ...def, sessions: need(sessions).list(), pools: all });
    },
    sessionId => sendNotification(connection, lsp.refsChanged, { sessionId, notebookUri: sessions?.bySession(sessionId)?.notebookUri }),
  );
  const push = pusher;
  sessions = new NotebookSessions(h, {
    onLost: p => { sendNotification(connection, lsp.sessionLost, p); push.stats(); },
    onChanged: () => push.stats(),
    onEnded: s => refsCache.forget(s.sessionId),
    refLimits: () => refLimits(options),
    onWaiting: p => { sendNotification(connection, lsp.waitingForWorker, p); push.stats(); },
    onLateOutput: (s, ev) => routeLateOutput(s, ev, {
      sendOutput: o => sendNotification(connection, lsp.output, o),
      coalesceMs: options.streamCoalesceMs ?? DEFAULT_OPTIONS.streamCoalesceMs,
      maxBytes: options.outputMaxBytes ?? DEFAULT_OPTIONS.outputMaxBytes,
    }),
  });
  return {
    capabilities: {
      completionProvider: { triggerCharacters: ['.'], resolveProvider: true },
      signatureHelpProvider: { triggerCharacters: ['(', ','], retriggerCharacters: [','] },
      hoverProvider: true,
      notebookDocumentSync: { notebookSelector: [{ notebook: { notebookType: 'jupyter-notebook' }, cells: [{ language: 'python' }] }] },
    },
    serverInfo: { name: 'pyctx' },
  };
});

connection.onInitialized(() => {
  const h = need(pools);
  memory = new MemoryWatch(() => h.running(), () => (sessions?.all().length ?? 0) > 0, () => pusher?.stats());
  memory.start();
  void h.startDefault();
});

/** The running pool holding a session (refs live in its worker), else the default pool. */
const poolOfSession = (sessionId: string) => need(pools).get(sess().bySession(sessionId)?.poolKey ?? '');

const sess = (): NotebookSessions => need(sessions);

onRequest(connection, lsp.bind, lsp.bindParams, (p, token) => guarded(async (q: lsp.BindParams) => {
  // Cancelling the request ends a wait for a free worker.
  const sub = token?.onCancellationRequested(() => sess().cancelWait(q.notebookUri));
  try { return await sess().bind(q.notebookUri, q.cwd, q.python); } finally { sub?.dispose(); }
})(p));
onRequest(connection, lsp.unbind, lsp.notebookParams, guarded(async p => ({ unbound: await sess().unbind(p.notebookUri) })));
onRequest(connection, lsp.restart, lsp.bindParams, guarded(async p => sess().restart(p.notebookUri, p.cwd, p.python)));
onRequest(connection, lsp.interrupt, lsp.notebookParams, guarded(async p => {
  // A cell still waiting for a free worker: interrupting it ends the wait.
  if (sess().cancelWait(p.notebookUri)) return { interrupted: true };
  const session = sess().get(p.notebookUri);
  if (!session || session.running === 0) return { interrupted: false };
  return { interrupted: session.ctx.interrupt() };
}));
onRequest(connection, lsp.execute, lsp.executeParams, (p, token) => guarded((params: lsp.ExecuteParams) => runExecute(params, {
  sessions: sess(),
  sendOutput: o => sendNotification(connection, lsp.output, o),
  askInput: (q, t) => sendRequest(connection, lsp.inputRequest, q, t),
  coalesceMs: options.streamCoalesceMs ?? DEFAULT_OPTIONS.streamCoalesceMs,
  maxBytes: options.outputMaxBytes ?? DEFAULT_OPTIONS.outputMaxBytes,
  onRan: s => { refsCache.invalidate(s.sessionId); pusher?.refs(s.sessionId); pusher?.stats(); warmLiveFeatures(s); },
}, token))(p));
// Live settings (lsp.LiveOptions): the cap applies to the next execute; new ref
// limits to new binds and, pushed now, to every bound worker (pruned at once).
onRequest(connection, lsp.configure, parseLiveOptions, guarded(async live => {
  const before = refLimits(options);
  options = { ...options, ...live };
  const after = refLimits(options);
  if (before.refTtlSeconds === after.refTtlSeconds && before.maxRefsPerSession === after.maxRefsPerSession) return { sessions: 0, queued: 0 };
  let queued = 0;
  const done: Promise<boolean>[] = [];
  for (const s of sess().all()) {
    // A busy worker takes it after its running cell: the reply does not wait for that.
    const busy = s.running > 0 || s.ctx.busy;
    const applied = configureWorker(s.ctx, after).then(
      () => { refsCache.invalidate(s.sessionId); pusher?.refs(s.sessionId); return true; },
      err => {
        if (!s.ended) connection.console.warn(`pyctx server: configure of session ${s.sessionId} failed: ${String((err as Error)?.message ?? err)}`);
        return false;
      });
    if (busy) queued++;
    else done.push(applied);
  }
  return { sessions: (await Promise.all(done)).filter(Boolean).length, queued };
}));
onRequest0(connection, lsp.stats, guarded(async () => need(pools).defaultPayload()));
onRequest0(connection, lsp.pools, guarded(async () => need(pools).payloads()));
onRequest0(connection, lsp.sessions, guarded(async () => sess().list()));
onRequest(connection, lsp.refs, lsp.refsParams, guarded(async p => refsCache.page(await poolOfSession(p.sessionId), p.sessionId, p.offset, p.limit)));
onRequest(connection, lsp.releaseRef, lsp.releaseRefParams, guarded(async p => {
  const pool = await poolOfSession(p.sessionId);
  const ref = { __type__: 'ref' as const, __schema__: 1 as const, id: p.refId,
    session_id: p.sessionId, type_name: '', python_module: '' };
  const released = await pool.releaseRef(ref);
  refsCache.invalidate(p.sessionId);
  pusher?.refs(p.sessionId);
  return { released };
}));
onRequest(connection, lsp.releaseSession, lsp.sessionParams, guarded(async p => {
  const pool = await poolOfSession(p.sessionId);
  const count = await pool.releaseSession(p.sessionId);
  refsCache.invalidate(p.sessionId);
  pusher?.refs(p.sessionId);
  return { count };
}));

listenNotebooks(connection, {
  get sessions() { return sess(); },
  onNotebookClosed: uri => { void sessions?.unbind(uri).catch(() => false); },
});

// Shutdown ends every worker; the process exits on `exit` (handled by the library).
let closing: Promise<void> | undefined;
const shutdown = (): Promise<void> => {
  closing ??= (async () => {
    pusher?.dispose();
    memory?.dispose();
    await sessions?.closeAll().catch(() => undefined);
    await pools?.close().catch(() => undefined);
  })();
  return closing;
};
connection.onShutdown(() => { shutdownReceived = true; return shutdown(); });
// Any other exit (the client vanished: stdin closed; a signal): no worker may outlive us.
// Each worker leads its own process group (the library kills groups too): kill the
// group so processes started by user code go with it.
process.on('exit', () => {
  for (const w of pools?.running().flatMap(p => p.stats().workers) ?? []) {
    try { process.kill(-w.pid, 'SIGKILL'); } catch {
      try { process.kill(w.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
});
// A signal during a shutdown already under way (the client gave up waiting for it) ends
// the process now: the exit handler above still kills every worker.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (closing) process.exit(0);
    void shutdown().finally(() => process.exit(0));
  });
}

// A stray rejection must not kill the server: that would drop every notebook's state.
process.on('unhandledRejection', err => { connection.console.error(`pyctx server: unhandled rejection: ${String((err as Error)?.stack ?? err)}`); });

connection.listen();
