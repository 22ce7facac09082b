// The extension's one handle on the pool server: owns a vscode-languageclient
// `LanguageClient` that runs dist/server.js (stdio, the extension host's node),
// adds lifecycle on top of the typed wrappers of api.ts:
//  - server process crash: the LanguageClient restarts it (bounded: at most
//    `maxRestartCount` in 3 minutes) and `onDidReset` fires at once, so every
//    notebook knows its state is gone and binds fresh on its next run (no hang:
//    requests in flight reject when the connection closes);
//  - settings changes never drop state silently: the live ones (output cap, ref
//    limits) go to the running server (`pyctx/configure`); the ones that need a new
//    pool (interpreter, size, warm, preload, affinity; the Python extension's active
//    interpreter) restart the server at once only when no notebook is bound, else
//    the user is asked (Restart now / Later). Later keeps everything running; the
//    settings apply at the server's next start. A restart fires onDidReset.
//  - requests made during a restart wait for the new server; one that the restart
//    (or a crash) cut off rejects with `server_restarted` and a sentence saying what
//    happened and what to do, never the transport's "connection got disposed".
import { fork, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { CloseAction, LanguageClient, RevealOutputChannelOn, State } from 'vscode-languageclient/node';
import type { CloseHandlerResult, ErrorHandler, LanguageClientOptions, ServerOptions as NodeServerOptions } from 'vscode-languageclient/node';
import { ConnectionError, Emitter, ErrorCodes, Event, ResponseError } from 'vscode-languageserver-protocol';
import type { ServerOptions } from '../protocol/lsp';
import { PyctxApi } from './api';
import { resolveInterpreter, watchActiveInterpreter, type ResolvedInterpreter } from './interpreter';
import { affectsLive, liveOptions, readServerOptions, restartSettingsChanged } from './settings';

export interface ResetEvent {
  /** crashed: the server process died; restarted: settings/interpreter change or restartServer(); stopped: gave up restarting. */
  reason: 'crashed' | 'restarted' | 'stopped';
  message?: string;
}

export interface PyctxClientOptions {
  /** Absolute path of dist/server.js; default context.asAbsolutePath('dist/server.js'). */
  serverModule?: string;
  /** Where the LanguageClient logs (default: its own "pyctx" output channel). */
  outputChannel?: vscode.LogOutputChannel;
  /** Server restarts allowed within 3 minutes after crashes (default 4). */
  maxRestartCount?: number;
}

export const NOTEBOOK_CELL_SELECTOR = [{ notebook: 'jupyter-notebook', language: 'python' }];

/** How long a restart waits for the old server's shutdown (it ends every worker) before starting anew. */
const RESTART_STOP_TIMEOUT_MS = 10_000;
/** After a shutdown that timed out: how long the old server gets to exit on SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 3_000;

export class PyctxClient extends PyctxApi {
  private readonly resetEmitter = new Emitter<ResetEvent>();
  /** The server restarted or died: every notebook's context is gone; its next run binds fresh. */
  readonly onDidReset: Event<ResetEvent> = this.resetEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  private interpreter: ResolvedInterpreter = { source: 'path' };
  private options: ServerOptions = {};
  private restarting: Promise<void> | undefined;
  /** The running server's process (pyctx spawns it, so a restart can see it gone). */
  private serverProcess: { sp: ChildProcess; closed: Promise<void> } | undefined;
  private lastReset: ResetEvent | undefined;
  private restartAgain = false;
  /** The interpreter the running server was started with. */
  private startedWith: ResolvedInterpreter = { source: 'path' };
  /** The options of the running server that only a new pool can change (see askRestart). */
  private startedPoolKey = '';
  /** Changes waiting for a restart (the user answered Later), named as in the question. */
  private readonly pendingRestart = new Set<string>();
  private asking: Promise<void> | undefined;
  /** Settings changes are read and pushed in order. */
  private settingsChain: Promise<void> = Promise.resolve();

  // The LanguageClient's default policy: restart on close, bounded per 3 minutes.
  private readonly errorPolicy: ErrorHandler;

  private constructor(readonly languageClient: LanguageClient, maxRestartCount: number) {
    super(languageClient);
    this.errorPolicy = languageClient.createDefaultErrorHandler(maxRestartCount);
  }

  /** Creates, starts and wires the client; resolves once the server answered `initialize`. */
  static async start(context: vscode.ExtensionContext, opts: PyctxClientOptions = {}): Promise<PyctxClient> {
    const serverModule = opts.serverModule ?? context.asAbsolutePath('dist/server.js');
    let self: PyctxClient | undefined;
    // The same process the LanguageClient would fork for { module, transport: stdio },
    // spawned here so that a restart can wait for the old one to be gone (see restartServer).
    const serverOptions: NodeServerOptions = async () => {
      const sp = fork(serverModule, ['--stdio', `--clientProcessId=${process.pid}`], {
        silent: true, execArgv: [], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      });
      self!.serverProcess = { sp, closed: new Promise(resolve => sp.once('close', () => resolve())) };
      return sp;
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: NOTEBOOK_CELL_SELECTOR,
      outputChannel: opts.outputChannel,
      outputChannelName: 'pyctx server',
      // The kernel and views surface failures themselves; the log stays in its channel.
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // Re-evaluated at every (re)start, so restarts pick up the latest settings.
      initializationOptions: () => self?.initOptions() ?? {},
      errorHandler: {
        error: (error, message, count) => self!.errorPolicy.error(error, message, count),
        closed: () => self!.onServerClosed(),
      },
    };
    const languageClient = new LanguageClient('pyctx', 'pyctx pool server', serverOptions, clientOptions);
    self = new PyctxClient(languageClient, opts.maxRestartCount ?? 4);
    self.disposables.push(self.onDidReset(e => { self!.lastReset = e; }));
    await self.refreshOptions();
    self.disposables.push(
      vscode.workspace.onDidChangeConfiguration(e => self!.onSettingsChanged(e)),
      await watchActiveInterpreter(() => self!.onActiveInterpreterChanged()),
    );
    await languageClient.start();
    return self;
  }

  /** The interpreter the running server was started with (and where it came from). */
  get python(): ResolvedInterpreter { return this.startedWith; }
  /** Changes that wait for the next server start (the user answered Later). */
  get pendingRestartSettings(): string[] { return [...this.pendingRestart]; }
  get isRunning(): boolean { return this.languageClient.state === State.Running; }

  /** Stops and starts the server with fresh settings; every notebook's state is gone. */
  restartServer(): Promise<void> {
    // A request during a restart runs once more afterwards, so the last settings win.
    if (this.restarting) {
      this.restartAgain = true;
      return this.restarting;
    }
    this.restarting = (async () => {
      try {
        do {
          this.restartAgain = false;
          await this.refreshOptions();
          this.resetEmitter.fire({ reason: 'restarted' });
          // Not LanguageClient.restart(): it gives the shutdown 2 s, and when that times out
          // (workers slow to end on a loaded machine) it never starts again, leaving every
          // request "Client is not running".
          await this.stopServer(RESTART_STOP_TIMEOUT_MS);
          await this.languageClient.start();
        } while (this.restartAgain);
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  // Requests wait for a restart under way, instead of reaching the connection it closes.
  protected override whenReady(): Promise<void> | undefined {
    return this.restarting;
  }

  // The transport's words for a lost connection ("Pending response rejected since
  // connection got disposed", "Client is not running") say nothing a user can act on.
  protected override explain(err: unknown): unknown {
    if (!connectionLost(err)) return err;
    const reason = this.lastReset?.reason;
    const message = reason === 'stopped'
      ? 'The pyctx pool server stopped and will not be restarted (it crashed repeatedly). Reload the window to start it again; its log is in the Output panel, "pyctx server".'
      : reason === 'crashed'
        ? 'The pyctx pool server crashed while this ran and was restarted: every notebook\'s state is gone. Run the cell again; the log is in the Output panel, "pyctx server".'
        : 'The pyctx pool server restarted while this ran (a setting that needs a new pool changed, or a restart was asked for): every notebook\'s state is gone. Run the cell again.';
    return new ResponseError(ErrorCodes.ConnectionInactive, message, { code: 'server_restarted' });
  }

  /** Graceful stop (server shutdown ends every worker); dispose() does the same without waiting. */
  async stop(): Promise<void> {
    for (const d of this.disposables.splice(0)) d.dispose();
    await this.stopServer(5000);
  }

  // A shutdown that timed out leaves the old connection open: when that server finally
  // exits, the LanguageClient (11.0) takes its close for the current connection's,
  // disposes a newer one (every request in flight fails) and restarts again. So a server
  // that did not stop in time is ended here (its exit handler kills its workers), and is
  // gone before anything starts anew.
  private async stopServer(timeoutMs: number): Promise<void> {
    const old = this.isRunning ? this.serverProcess : undefined;
    const stopped = await this.languageClient.stop(timeoutMs).then(() => true, () => false);
    if (!stopped && old) await endProcess(old);
  }

  override dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.languageClient.dispose(2000).catch(() => undefined);
    this.resetEmitter.dispose();
    super.dispose();
  }

  // Called by the LanguageClient at every (re)start: whatever waited for a restart applies now.
  private initOptions(): ServerOptions {
    this.startedWith = this.interpreter;
    this.pendingRestart.clear();
    this.startedPoolKey = this.poolKey();
    return { ...this.options, python: this.interpreter.python };
  }

  // What a new pool would be started with, compared with the running one's.
  private poolKey(): string {
    const { poolSize, warm, preload, memoryLimitMB, affinity, ipython, launcher, idleShutdownMinutes } = this.options;
    return JSON.stringify([this.interpreter.python ?? null, poolSize ?? null, warm ?? null, preload ?? null, memoryLimitMB ?? null, affinity ?? null, ipython ?? null, launcher ?? null, idleShutdownMinutes ?? null]);
  }

  private onSettingsChanged(e: vscode.ConfigurationChangeEvent): void {
    const restart = restartSettingsChanged(e);
    const live = affectsLive(e);
    if (!restart.length && !live) return;
    // Read first in any case: a later start (a restart, a crash) uses the newest settings.
    this.settingsChain = this.settingsChain.then(async () => {
      await this.refreshOptions();
      if (live) await this.pushLiveOptions();
    }).catch(() => undefined);
    if (restart.length) void this.settingsChain.then(() => this.askRestart(restart.join(', ')));
  }

  private onActiveInterpreterChanged(): void {
    if (this.interpreter.source !== 'python-extension') return;   // pyctx.python wins; PATH is not watched
    this.settingsChain = this.settingsChain.then(() => this.refreshOptions()).catch(() => undefined);
    void this.settingsChain.then(() => {
      if (this.interpreter.python !== this.startedWith.python) return this.askRestart('the Python interpreter');
      return undefined;
    });
  }

  /** The running server takes the live settings; a server that is (re)starting reads them at start. */
  private async pushLiveOptions(): Promise<void> {
    if (!this.isRunning || this.restarting) return;
    try {
      await this.configure(liveOptions(this.options));
    } catch (err) {
      this.languageClient.warn(`pyctx: applying settings to the pool server failed: ${(err as Error)?.message ?? err}`);
    }
  }

  /** Restarts now when no notebook would lose state; else asks (Restart now / Later). */
  private askRestart(what: string): Promise<void> {
    // Set back to what the server runs with (e.g. after Later): nothing to apply.
    if (this.poolKey() === this.startedPoolKey) {
      this.pendingRestart.clear();
      return Promise.resolve();
    }
    this.pendingRestart.add(what);
    // One question at a time: an open one covers every change made meanwhile.
    this.asking ??= (async () => {
      try {
        const bound = await this.boundNotebooks();
        if (bound === 0) return void await this.restartServer();
        const names = [...this.pendingRestart].join(', ');
        const lose = bound === 1 ? '1 notebook will lose its state' : `${bound} notebooks will lose their state`;
        const choice = await vscode.window.showWarningMessage(`Restart the pyctx pool to apply ${names}? ${lose}.`, 'Restart now', 'Later');
        if (choice === 'Restart now') return void await this.restartServer();
        void vscode.window.showInformationMessage(
          `pyctx: ${names} will apply when the pool server next starts (e.g. after reloading the window); notebooks keep their state until then.`);
      } finally {
        this.asking = undefined;
      }
    })();
    return this.asking;
  }

  /** Notebooks bound on the running server (0 when it is not running or has no Python). */
  private async boundNotebooks(): Promise<number> {
    if (!this.isRunning) return 0;
    try { return (await this.sessions()).length; } catch { return 0; }
  }

  private async refreshOptions(): Promise<void> {
    this.options = readServerOptions();
    this.interpreter = await resolveInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
  }

  // The server's connection closed without stop(): tell every notebook at once.
  private async onServerClosed(): Promise<CloseHandlerResult> {
    const result = await this.errorPolicy.closed();
    const gaveUp = result.action === CloseAction.DoNotRestart;
    this.resetEmitter.fire(gaveUp
      ? { reason: 'stopped', message: result.message ?? 'pyctx pool server stopped' }
      : { reason: 'crashed', message: 'pyctx pool server crashed and was restarted; notebook state is lost' });
    return result;
  }
}

/** A request failed because its connection to the server closed (not an answer of the server). */
function connectionLost(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  if (err instanceof ResponseError) return err.code === ErrorCodes.PendingResponseRejected || err.code === ErrorCodes.ConnectionInactive;
  return false;
}

/** Ends a server process: SIGTERM (its exit handler kills its workers), SIGKILL after a grace. */
async function endProcess({ sp, closed }: { sp: ChildProcess; closed: Promise<void> }): Promise<void> {
  const alive = sp.exitCode === null && sp.signalCode === null;
  if (alive) sp.kill('SIGTERM');
  const timer = alive ? setTimeout(() => sp.kill('SIGKILL'), TERM_GRACE_MS) : undefined;
  await closed;
  clearTimeout(timer);
}
