// The extension's one handle on the pool server: owns a vscode-languageclient
// `LanguageClient` that runs dist/server.js (stdio, the extension host's node),
// adds lifecycle on top of the typed wrappers of api.ts:
//  - server process crash: the LanguageClient restarts it (bounded: at most
//    `maxRestartCount` in 3 minutes) and `onDidReset` fires at once, so every
//    notebook knows its state is gone and binds fresh on its next run (no hang:
//    requests in flight reject when the connection closes);
//  - a change of a pyctx.* server setting or of the Python extension's active
//    interpreter restarts the server with new initializationOptions (onDidReset too).
import * as vscode from 'vscode';
import { CloseAction, LanguageClient, RevealOutputChannelOn, State, TransportKind } from 'vscode-languageclient/node';
import type { CloseHandlerResult, ErrorHandler, LanguageClientOptions, ServerOptions as NodeServerOptions } from 'vscode-languageclient/node';
import { Emitter, Event } from 'vscode-languageserver-protocol';
import type { ServerOptions } from '../protocol/lsp';
import { PyctxApi } from './api';
import { resolveInterpreter, watchActiveInterpreter, type ResolvedInterpreter } from './interpreter';
import { affectsServer, readServerOptions } from './settings';

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

export class PyctxClient extends PyctxApi {
  private readonly resetEmitter = new Emitter<ResetEvent>();
  /** The server restarted or died: every notebook's context is gone; its next run binds fresh. */
  readonly onDidReset: Event<ResetEvent> = this.resetEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  private interpreter: ResolvedInterpreter = { source: 'path' };
  private options: ServerOptions = {};
  private restarting: Promise<void> | undefined;
  private restartAgain = false;

  // The LanguageClient's default policy: restart on close, bounded per 3 minutes.
  private readonly errorPolicy: ErrorHandler;

  private constructor(readonly languageClient: LanguageClient, maxRestartCount: number) {
    super(languageClient);
    this.errorPolicy = languageClient.createDefaultErrorHandler(maxRestartCount);
  }

  /** Creates, starts and wires the client; resolves once the server answered `initialize`. */
  static async start(context: vscode.ExtensionContext, opts: PyctxClientOptions = {}): Promise<PyctxClient> {
    const serverModule = opts.serverModule ?? context.asAbsolutePath('dist/server.js');
    const run = { module: serverModule, transport: TransportKind.stdio };
    const serverOptions: NodeServerOptions = { run, debug: run };
    let self: PyctxClient | undefined;
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
    await self.refreshOptions();
    self.disposables.push(
      vscode.workspace.onDidChangeConfiguration(e => { if (affectsServer(e)) void self!.restartServer(); }),
      await watchActiveInterpreter(() => { if (self!.interpreter.source === 'python-extension') void self!.restartServer(); }),
    );
    await languageClient.start();
    return self;
  }

  /** The interpreter the running server was started with (and where it came from). */
  get python(): ResolvedInterpreter { return this.interpreter; }
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
          await this.languageClient.restart();
        } while (this.restartAgain);
      } finally {
        this.restarting = undefined;
      }
    })();
    return this.restarting;
  }

  /** Graceful stop (server shutdown ends every worker); dispose() does the same without waiting. */
  async stop(): Promise<void> {
    for (const d of this.disposables.splice(0)) d.dispose();
    await this.languageClient.stop(5000).catch(() => undefined);
  }

  override dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.languageClient.dispose(2000).catch(() => undefined);
    this.resetEmitter.dispose();
    super.dispose();
  }

  private initOptions(): ServerOptions {
    return { ...this.options, python: this.interpreter.python };
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
