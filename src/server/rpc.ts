// Typed registration of lsp.ts methods on the server connection. lsp.ts builds its
// RequestType/NotificationType objects with vscode-languageserver-protocol 3.18.5
// (the client's), while vscode-languageserver 10 pins 3.18.4: the classes differ
// for TypeScript though the wire is identical. So the server registers by method
// name, and these helpers keep the payload types of lsp.ts. Every request's params
// are checked against its schema here (params.ts): a bad one never reaches its
// handler and is answered with a PYCTX_ERROR `bad_request`.
import type { CancellationToken, Connection } from 'vscode-languageserver';
import type { ParamsSchema } from '../protocol/lsp';
import { toResponseError } from './errors';
import { checkNoParams, checkParams } from './params';

type Req<P, R> = { readonly method: string; readonly _: [P, R, unknown, unknown] | undefined };
type Req0<R> = { readonly method: string; readonly _: [R, unknown, unknown] | undefined };
type Note<P> = { readonly method: string; readonly _: [P, unknown] | undefined };

/** Is this the token jsonrpc appends (the handler's last argument), not a param? */
const isToken = (v: unknown): v is CancellationToken =>
  !!v && typeof v === 'object' && typeof (v as CancellationToken).onCancellationRequested === 'function';

/** A schema (params.ts checks it), or a strict parser of its own that throws bad_request. */
export type ParamsCheck<P> = ParamsSchema<P> | ((raw: unknown) => P);

export function onRequest<P, R>(conn: Connection, type: Req<P, R>, check: ParamsCheck<P>,
  handler: (params: P, token: CancellationToken) => Promise<R>): void {
  // jsonrpc calls (token) without params, (params, token) with named params and
  // (...positional, token) with an array: take the token from the end.
  conn.onRequest(type.method, (...args: unknown[]): Promise<unknown> => {
    const token = args[args.length - 1] as CancellationToken;
    const given = args.slice(0, -1);
    try {
      const raw = given.length === 1 ? given[0] : given.length === 0 ? undefined : given;
      const params = typeof check === 'function' ? check(raw) : checkParams(type.method, check, raw);
      return handler(params, token);
    } catch (e) {
      return Promise.reject(toResponseError(e));
    }
  });
}

export function onRequest0<R>(conn: Connection, type: Req0<R>, handler: (token: CancellationToken) => Promise<R>): void {
  conn.onRequest(type.method, (...args: unknown[]): Promise<unknown> => {
    const token = args[args.length - 1];
    const given = args.slice(0, -1);
    try {
      checkNoParams(type.method, given.length === 1 ? given[0] : given.length === 0 ? undefined : given);
      return handler(isToken(token) ? token : (undefined as unknown as CancellationToken));
    } catch (e) {
      return Promise.reject(toResponseError(e));
    }
  });
}

export function sendNotification<P>(conn: Connection, type: Note<P>, params: P): void {
  // A closed connection (client gone) must not become an unhandled rejection.
  conn.sendNotification(type.method, params).catch(() => undefined);
}

export function sendRequest<P, R>(conn: Connection, type: Req<P, R>, params: P, token?: CancellationToken): Promise<R> {
  return conn.sendRequest(type.method, params, token) as Promise<R>;
}
