// nbformat 4 on disk for the CLI: the notebook types, reading a file into them (with
// one-line errors for every way a file can fail to be a notebook), a structural
// validator that mirrors the nbformat 4.x JSON schema, and a writer that produces
// the same bytes layout as Jupyter's (indent 1, sorted keys, multi-line strings
// split into lists of lines). Knows nothing about Python or the pool.
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { CliError } from './errors';

export type MultilineString = string | string[];
export type MimeBundle = Record<string, unknown>;

export interface StreamOutput { output_type: 'stream'; name: 'stdout' | 'stderr'; text: MultilineString }
export interface DisplayDataOutput { output_type: 'display_data'; data: MimeBundle; metadata: Record<string, unknown> }
export interface ExecuteResultOutput {
  output_type: 'execute_result'; data: MimeBundle; metadata: Record<string, unknown>; execution_count: number | null;
}
export interface ErrorOutput { output_type: 'error'; ename: string; evalue: string; traceback: string[] }
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

export interface CodeCell {
  cell_type: 'code'; id?: string; metadata: Record<string, unknown>; source: MultilineString;
  outputs: Output[]; execution_count: number | null;
}
export interface OtherCell {
  cell_type: 'markdown' | 'raw'; id?: string; metadata: Record<string, unknown>; source: MultilineString;
  attachments?: Record<string, MimeBundle>;
}
export type Cell = CodeCell | OtherCell;

export interface Notebook {
  nbformat: number; nbformat_minor: number; metadata: Record<string, unknown>; cells: Cell[];
}

/** Text of a multi-line field as one string (files store lists of lines). */
export function joinText(s: MultilineString): string {
  return Array.isArray(s) ? s.join('') : s;
}

/** Python's str.splitlines(True) for the separators Jupyter writes: \n, \r\n, \r. */
export function splitLines(s: string): string[] {
  const out: string[] = [];
  const re = /\r\n|\n|\r/g;
  let start = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out.push(s.slice(start, m.index + m[0].length));
    start = m.index + m[0].length;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

// ---- reading ---------------------------------------------------------------

/** Reads and checks a notebook; every failure is a CliError with a one-line message. */
export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError('file_not_found', `${file}: no such file`);
    if (code === 'EISDIR') throw new CliError('not_a_notebook', `${file}: is a directory, not a notebook`);
    throw new CliError('file_unreadable', `${file}: cannot read (${code ?? (e as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliError('not_json', `${file}: not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc) || !('cells' in doc || 'nbformat' in doc || 'worksheets' in doc)) {
    throw new CliError('not_a_notebook', `${file}: not a Jupyter notebook (no "nbformat" or "cells")`);
  }
  if (doc.nbformat !== 4) {
    const v = typeof doc.nbformat === 'number' ? String(doc.nbformat) : JSON.stringify(doc.nbformat ?? null);
    throw new CliError('unsupported_nbformat',
      `${file}: nbformat ${v} is not supported; pyctx reads nbformat 4 (convert with: jupyter nbconvert --to notebook)`);
  }
  const problem = validateNotebook(doc, { strict: false });
  if (problem) throw new CliError('not_a_notebook', `${file}: not a valid nbformat 4 notebook: ${problem}`);
  return doc as unknown as Notebook;
}

// ---- validation --------------------------------------------------------------

const CELL_ID = /^[a-zA-Z0-9-_]+$/;
const isJsonMime = (m: string) => m === 'application/json' || (m.startsWith('application/') && m.endsWith('+json'));

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function isMultiline(x: unknown): boolean {
  return typeof x === 'string' || (Array.isArray(x) && x.every(s => typeof s === 'string'));
}
function isCount(x: unknown): boolean {
  return x === null || (Number.isInteger(x) && (x as number) >= 0);
}
function extraKeys(o: Record<string, unknown>, allowed: string[]): string | undefined {
  return Object.keys(o).find(k => !allowed.includes(k));
}

/**
 * Checks a parsed document against the nbformat 4 schema's structure. Returns the
 * first problem as "where: what", or undefined when valid. `strict` also refuses
 * properties the schema does not allow (used on what we write; input is read
 * leniently, as Jupyter does).
 */
export function validateNotebook(doc: unknown, opts: { strict: boolean }): string | undefined {
  if (!isObject(doc)) return 'top level: not an object';
  if (doc.nbformat !== 4) return 'nbformat: must be 4';
  if (!Number.isInteger(doc.nbformat_minor) || (doc.nbformat_minor as number) < 0) return 'nbformat_minor: must be an integer >= 0';
  if (!isObject(doc.metadata)) return 'metadata: must be an object';
  if (!Array.isArray(doc.cells)) return 'cells: must be an array';
  if (opts.strict) {
    const extra = extraKeys(doc, ['nbformat', 'nbformat_minor', 'metadata', 'cells']);
    if (extra) return `top level: unexpected property "${extra}"`;
  }
  const needIds = (doc.nbformat_minor as number) >= 5;
  const seen = new Set<string>();
  for (let i = 0; i < doc.cells.length; i++) {
    const p = validateCell(doc.cells[i], needIds, seen, opts.strict);
    if (p) return `cells[${i}]${p}`;
  }
  return undefined;
}

function validateCell(c: unknown, needIds: boolean, seen: Set<string>, strict: boolean): string | undefined {
  if (!isObject(c)) return ': not an object';
  if (c.cell_type !== 'code' && c.cell_type !== 'markdown' && c.cell_type !== 'raw') {
    return `.cell_type: ${JSON.stringify(c.cell_type)} is not code, markdown or raw`;
  }
  if ('id' in c || (needIds && strict)) {
    if (typeof c.id !== 'string' || c.id.length < 1 || c.id.length > 64 || !CELL_ID.test(c.id)) {
      return '.id: must be 1-64 characters of letters, digits, - and _';
    }
    if (seen.has(c.id)) return `.id: duplicate id "${c.id}"`;
    seen.add(c.id);
  }
  if (!isObject(c.metadata)) return '.metadata: must be an object';
  if (!isMultiline(c.source)) return '.source: must be a string or a list of strings';
  if (c.cell_type === 'code') {
    if (!Array.isArray(c.outputs)) return '.outputs: must be an array';
    if (!isCount(c.execution_count)) return '.execution_count: must be an integer >= 0 or null';
    if (strict) {
      const extra = extraKeys(c, ['id', 'cell_type', 'metadata', 'source', 'outputs', 'execution_count']);
      if (extra) return `: unexpected property "${extra}"`;
    }
    for (let j = 0; j < c.outputs.length; j++) {
      const p = validateOutput(c.outputs[j], strict);
      if (p) return `.outputs[${j}]${p}`;
    }
  } else if (strict) {
    const extra = extraKeys(c, ['id', 'cell_type', 'metadata', 'source', 'attachments']);
    if (extra) return `: unexpected property "${extra}"`;
  }
  return undefined;
}

function validateBundle(data: unknown): string | undefined {
  if (!isObject(data)) return '.data: must be an object';
  for (const [mime, v] of Object.entries(data)) {
    if (!isJsonMime(mime) && !isMultiline(v)) return `.data["${mime}"]: must be a string or a list of strings`;
  }
  return undefined;
}

function validateOutput(o: unknown, strict: boolean): string | undefined {
  if (!isObject(o)) return ': not an object';
  const allowed: Record<string, string[]> = {
    stream: ['output_type', 'name', 'text'],
    display_data: ['output_type', 'data', 'metadata'],
    execute_result: ['output_type', 'data', 'metadata', 'execution_count'],
    error: ['output_type', 'ename', 'evalue', 'traceback'],
  };
  const keys = typeof o.output_type === 'string' ? allowed[o.output_type] : undefined;
  if (!keys) return `.output_type: ${JSON.stringify(o.output_type)} is not stream, display_data, execute_result or error`;
  if (strict) {
    const extra = extraKeys(o, keys);
    if (extra) return `: unexpected property "${extra}"`;
  }
  switch (o.output_type) {
    case 'stream':
      if (typeof o.name !== 'string') return '.name: must be a string';
      if (!isMultiline(o.text)) return '.text: must be a string or a list of strings';
      return undefined;
    case 'execute_result':
    case 'display_data':
      if (o.output_type === 'execute_result' && !isCount(o.execution_count)) {
        return '.execution_count: must be an integer >= 0 or null';
      }
      if (!isObject(o.metadata)) return '.metadata: must be an object';
      return validateBundle(o.data);
    case 'error':
      if (typeof o.ename !== 'string') return '.ename: must be a string';
      if (typeof o.evalue !== 'string') return '.evalue: must be a string';
      if (!Array.isArray(o.traceback) || !o.traceback.every(s => typeof s === 'string')) {
        return '.traceback: must be a list of strings';
      }
      return undefined;
  }
  return undefined;
}

// ---- writing -----------------------------------------------------------------

const SPLIT_MIMES = new Set(['application/javascript', 'image/svg+xml']);

function splitBundle(data: MimeBundle): MimeBundle {
  const out: MimeBundle = {};
  for (const [k, v] of Object.entries(data)) {
    out[k] = typeof v === 'string' && (k.startsWith('text/') || SPLIT_MIMES.has(k)) ? splitLines(v) : v;
  }
  return out;
}

/** nbformat's strip_transient: values that describe a past load, never written (a trust signature of old outputs above all). */
const TRANSIENT_NB_METADATA = ['orig_nbformat', 'orig_nbformat_minor', 'signature'];

/** The on-disk form Jupyter writes: multi-line strings as lists of lines (nbformat's split_lines), transient values dropped. */

function toDiskForm(nb: Notebook): Notebook {
  const metadata = { ...nb.metadata };
  for (const k of TRANSIENT_NB_METADATA) delete metadata[k];
  return {
    ...nb,
    metadata,
    cells: nb.cells.map((c0): Cell => {
      const c = 'trusted' in (c0.metadata ?? {}) ? { ...c0, metadata: { ...c0.metadata } } : c0;
      delete c.metadata.trusted;
      const source = splitLines(joinText(c.source));
      if (c.cell_type !== 'code') return { ...c, source };
      const outputs = c.outputs.map((o): Output => {
        if (o.output_type === 'stream') return { ...o, text: splitLines(joinText(o.text)) };
        if (o.output_type !== 'display_data' && o.output_type !== 'execute_result') return o;
        return isObject(o.data) ? { ...o, data: splitBundle(o.data) } : o;
      });
      return { ...c, source, outputs };
    }),
  };
}

/** JSON.stringify with keys sorted at every level, like json.dumps(sort_keys=True). */
function sortKeys(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sortKeys);
  if (!isObject(x)) return x;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x).sort()) out[k] = sortKeys(x[k]);
  return out;
}

export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(toDiskForm(nb)), null, 1) + '\n';
}

/**
 * Validates (strictly) and writes atomically (temp file + rename), creating the
 * folder if needed, so a failed write never leaves half a notebook behind.
 */
export function writeNotebook(file: string, nb: Notebook): void {
  const text = serializeNotebook(nb);
  const problem = validateNotebook(JSON.parse(text), { strict: true });
  if (problem) throw new CliError('invalid_output', `refusing to write ${file}: result is not valid nbformat 4: ${problem}`);
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.pyctx-${process.pid}.tmp`;
    writeFileSync(tmp, text, 'utf8');
    renameSync(tmp, file);
  } catch (e) {
    throw new CliError('write_failed', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
