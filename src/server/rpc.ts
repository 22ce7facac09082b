// Typed registration of lsp.ts methods on the server connection. lsp.ts builds its
// RequestType/NotificationType objects with vscode-languageserver-protocol 3.18.5
// (the client's), while vscode-languageserver 10 pins 3.18.4: the classes differ
// for TypeScript though the wire is identical. So the server registers by method
// name, and these helpers keep the payload types of lsp.ts.
import type { CancellationToken, Connection } from 'vscode-languageserver';

type Req<P, R> = { readonly method: string; readonly _: [P, R, unknown, unknown] | undefined };
type Req0<R> = { readonly method: string; readonly _: [R, unknown, unknown] | undefined };
type Note<P> = { readonly method: string; readonly _: [P, unknown] | undefined };

export function onRequest<P, R>(conn: Connection, type: Req<P, R>, handler: (params: P, token: CancellationToken) => Promise<R>): void {
  // Sent without params, jsonrpc passes the token first: keep the handler's shape.
  conn.onRequest(type.method, (a: unknown, b?: unknown): Promise<unknown> =>
    b === undefined ? handler(undefined as P, a as CancellationToken) : handler(a as P, b as CancellationToken));
}

export function onRequest0<R>(conn: Connection, type: Req0<R>, handler: (token: CancellationToken) => Promise<R>): void {
  conn.onRequest(type.method, (token: CancellationToken): Promise<unknown> => handler(token));
}

export function sendNotification<P>(conn: Connection, type: Note<P>, params: P): void {
  // A closed connection (client gone) must not become an unhandled rejection.
  conn.sendNotification(type.method, params).catch(() => undefined);
}

export function sendRequest<P, R>(conn: Connection, type: Req<P, R>, params: P, token?: CancellationToken): Promise<R> {
  return conn.sendRequest(type.method, params, token) as Promise<R>;
}
