// Extension entry: starts the pool server client, the `pyctx` notebook kernel,
// its commands and the views, and returns the API other extensions use
// (src/api/). Everything is owned by context.subscriptions, so deactivate has
// nothing left to do but let VS Code dispose it (which stops the server and,
// with it, every Python worker).
import * as vscode from 'vscode';
import { PyctxClient } from './client';
import { EnvironmentRegistry } from './client/environments';
import { PyctxKernel } from './kernel/controller';
import { registerKernelCommands } from './commands';
import { createApi, type PyctxExtensionApi } from './api';
import { registerViews } from './views';

export async function activate(context: vscode.ExtensionContext): Promise<PyctxExtensionApi> {
  const channel = vscode.window.createOutputChannel('pyctx');
  context.subscriptions.push(channel);
  let client: PyctxClient;
  try {
    client = await PyctxClient.start(context);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    channel.appendLine(`pyctx: the pool server did not start: ${message}`);
    void vscode.window.showErrorMessage(`pyctx: the pool server did not start: ${message}`);
    throw err;
  }
  context.subscriptions.push(client);

  const environments = new EnvironmentRegistry(() => client.python.python);
  const kernel = new PyctxKernel(client, environments, channel);
  context.subscriptions.push(environments, kernel, ...registerKernelCommands(kernel, client, channel));

  const api = createApi(kernel, client);
  api.views = registerViews(context, client, environmentNamer(kernel));
  return api;
}

/** The display name of a pool's environment ('' = the default) for the views. */
function environmentNamer(kernel: PyctxKernel): (environment: string) => string | undefined {
  return environment => {
    const t = environment ? kernel.controllers.all().find(x => x.python === environment) : kernel.controllers.defaultTarget;
    return t?.controller.label.replace(/^pyctx: /, '');
  };
}

export function deactivate(): void {
  // context.subscriptions dispose the client (server stop) and the kernel.
}
