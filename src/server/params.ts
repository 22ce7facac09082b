// Checks a pyctx/* request's params against its ParamsSchema (src/protocol/lsp.ts)
// before any handler sees them: the wrong type, a missing required field or an
// unknown field is a `bad_request` naming the field, so a value like `cwd: 12345`
// never reaches the pool or a worker.
import type { FieldKind, ParamsSchema } from '../protocol/lsp';
import { PyctxServerError } from './errors';

const WHAT: Record<FieldKind, string> = {
  name: 'a non-empty string',
  string: 'a string',
  index: 'an integer >= 0',
  number: 'a finite number',
  boolean: 'true or false',
};

function fits(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'name': return typeof v === 'string' && v.length > 0;
    case 'string': return typeof v === 'string';
    case 'index': return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
  }
}

const show = (v: unknown): string => {
  const text = v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** `params` as P, or a bad_request saying what is wrong. */
export function checkParams<P>(method: string, schema: ParamsSchema<P>, params: unknown): P {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new PyctxServerError('bad_request', `${method} needs an object of named params, got ${show(params)}`);
  }
  const spec = schema as Record<string, string>;
  const o = params as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(key in spec)) throw new PyctxServerError('bad_request', `${method}: unknown field ${JSON.stringify(key)} (expected ${Object.keys(spec).join(', ')})`);
  }
  for (const [key, raw] of Object.entries(spec)) {
    const optional = raw.endsWith('?');
    const kind = (optional ? raw.slice(0, -1) : raw) as FieldKind;
    const v = o[key];
    if (v === undefined && optional) continue;
    if (!fits(kind, v)) throw new PyctxServerError('bad_request', `${method}: ${key} must be ${WHAT[kind]}, got ${show(v)}`);
  }
  return params as P;
}

/** A request without params: none, null, {} or [] are fine; anything else is a bad_request. */
export function checkNoParams(method: string, params: unknown): void {
  if (params === undefined || params === null) return;
  if (Array.isArray(params) ? params.length === 0 : typeof params === 'object' && Object.keys(params).length === 0) return;
  throw new PyctxServerError('bad_request', `${method} takes no params, got ${show(params)}`);
}
