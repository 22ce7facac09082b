// Package entry of the pyctx library (`require('pyctx')` / `import ... from 'pyctx'`):
// the Pool, its Context handles, the error type and the ref helper, plus every
// public type. Nothing here imports vscode.
export { Pool } from './pool';
export type { PoolEvents } from './pool';
export { Context } from './context';
export type { ContextEvents, ContextState } from './context';
export { PyCtxError } from './errors';
export type { PyCtxErrorCode, PyCtxErrorDetails } from './errors';
export { isRef } from './refs';
export type * from './types';
export { IPYTHON_MODES } from './types';
export { splitCommandLine } from './launch';
