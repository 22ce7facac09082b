// Errors the server returns to the client: every failure of a pyctx/* request is a
// ResponseError(PYCTX_ERROR, message, { code }) with a stable code (lsp.ts). Pool
// errors (PyCtxError) keep their own code; anything else is `internal_error`.
import { ResponseError } from 'vscode-languageserver';
import { PYCTX_ERROR, type PyctxErrorData } from '../protocol/lsp';

export type ServerErrorCode = 'no_python' | 'environment_unavailable' | 'bad_request' | 'internal_error' | 'wait_cancelled';

export class PyctxServerError extends Error {
  constructor(readonly code: ServerErrorCode, message: string) {
    super(message);
    this.name = 'PyctxServerError';
  }
}

export function toResponseError(err: unknown): ResponseError<PyctxErrorData> {
  if (err instanceof ResponseError) return err as ResponseError<PyctxErrorData>;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new ResponseError<PyctxErrorData>(PYCTX_ERROR, message, { code: typeof code === 'string' ? code : 'internal_error' });
}

/** Wraps a request handler so every failure reaches the client as a PYCTX_ERROR. */
export function guarded<P, R>(fn: (params: P) => Promise<R>): (params: P) => Promise<R> {
  return async (params: P) => {
    try {
      return await fn(params);
    } catch (err) {
      throw toResponseError(err);
    }
  };
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new PyctxServerError('bad_request', `${field} must be a non-empty string`);
  return value;
}

export function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new PyctxServerError('bad_request', `${field} must be a string`);
  return value;
}
