// Test/bench harness (not a test itself): starts the real pool server as a child
// process over stdio — `node --import tsx src/server/main.ts --stdio`, or the
// bundled dist/server.js — and talks to it with vscode-languageserver-protocol's
// createProtocolConnection, the same JSON-RPC the extension's LanguageClient
// speaks, through the extension's own typed wrappers (src/client/api.ts).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import {
  createProtocolConnection, ExitNotification, InitializedNotification, InitializeRequest, ShutdownRequest,
  StreamMessageReader, StreamMessageWriter, type InitializeResult, type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { PyctxApi } from '../../src/client/api';
import type { ServerOptions, ServerStatusParams } from '../../src/protocol/lsp';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface ServerHarness {
  child: ChildProcessWithoutNullStreams;
  conn: ProtocolConnection;
  api: PyctxApi;
  init: InitializeResult;
  stderr: () => string;
  /** Resolves with the first serverStatus whose state is ready or error. */
  settled: Promise<ServerStatusParams>;
  /** Resolves when the server process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  close(): Promise<void>;
}

export interface StartOptions {
  init?: ServerOptions;
  env?: NodeJS.ProcessEnv;
  bundled?: boolean;       // run dist/server.js instead of the TypeScript source
}

export async function startServer(opts: StartOptions = {}): Promise<ServerHarness> {
  const args = opts.bundled ? [path.join(ROOT, 'dist', 'server.js'), '--stdio'] : ['--import', 'tsx', path.join(ROOT, 'src', 'server', 'main.ts'), '--stdio'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const api = new PyctxApi(conn);
  const settled = new Promise<ServerStatusParams>(resolve => {
    const d = api.onServerStatus(s => { if (s.state !== 'starting') { d.dispose(); resolve(s); } });
  });
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid, rootUri: null, initializationOptions: opts.init ?? {},
    capabilities: { notebookDocument: { synchronization: {} } },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  let closed = false;
  return {
    child, conn, api, init, settled, exited, stderr: () => err,
    async close() {
      if (closed) return;
      closed = true;
      if (child.exitCode === null && child.signalCode === null) {
        try {
          await Promise.race([conn.sendRequest(ShutdownRequest.type), new Promise(r => setTimeout(r, 5000))]);
          await conn.sendNotification(ExitNotification.type);
        } catch { /* already gone */ }
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      api.dispose();
      conn.dispose();
    },
  };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Polls `cond` (cheaply) until it holds or `ms` passes; returns the last value. */
export async function waitFor<T>(cond: () => T | Promise<T>, ms = 10000, every = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v || Date.now() > end) return v;
    await new Promise(r => setTimeout(r, every));
  }
}

/** An LSP frame around `body` (test input written raw to the server's stdin). */
export const frame = (body: string): string => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
export const VALID = '{"jsonrpc":"2.0","method":"ok"}';

/** Every malformed kind the reader must survive, each followed by nothing else. */
export const BAD_FRAMES: Record<string, string> = {
  'no Content-Length': `Content-Type: application/json\r\n\r\n${VALID}`,
  'non-numeric length': `Content-Length: twelve\r\n\r\n${VALID}`,
  'negative length': `Content-Length: -40\r\n\r\n${VALID}`,
  'oversized length': 'Content-Length: 99999999999999\r\n\r\n{"big":',
  'line without a colon': `Content-Length 31\r\n\r\n${VALID}`,
  'garbage bytes': '\x00\xff garbage \r\n no header at all',
  'body not JSON': frame('{not json'),
  'body not an object': frame('[1,2,3]'),
};
