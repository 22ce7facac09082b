// Notebook parameters the way papermill does them, for `pyctx run -p NAME VALUE` and
// `-f params.json`: the value of `-p` is a Python literal when it parses as one
// (None, True, 1_000, 2.5, 'text', [1, 2], (1,), {'a': 1}), else a string; the file
// is a JSON object. They become one code cell tagged `injected-parameters`
// ("# Parameters" then `name = value` lines, as papermill's Python translator
// writes them) placed after the first cell tagged `parameters`, or first when there
// is none (an earlier injected cell is replaced), and `metadata.papermill.parameters`
// records them as JSON. Knows nothing about Python processes or the pool.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CliError } from './errors';
import type { CodeCell, Notebook } from './nbformat';

/** A parsed literal: keeps a number's own text so 1.0 stays a float and big ints stay exact. */
export type PyValue =
  | { t: 'none' } | { t: 'bool'; v: boolean } | { t: 'num'; raw: string } | { t: 'str'; v: string }
  | { t: 'list' | 'tuple'; items: PyValue[] } | { t: 'dict'; entries: Array<[PyValue, PyValue]> };

export interface Parameter { name: string; value: PyValue }

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PY_KEYWORDS = new Set(('False None True and as assert async await break class continue def del elif else except '
  + 'finally for from global if import in is lambda nonlocal not or pass raise return try while with yield').split(' '));

// Python number literals (a subset of Python's grammar, so what we accept Python accepts the same way).
const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_NUMBER = new RegExp(String.raw`^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|`
  + String.raw`(?:(?:${DIGITS})?\.${DIGITS}|${DIGITS}\.?)(?:[eE][+-]?${DIGITS})?)`);
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;

/** Recursive-descent reader of Python literals (`mode: 'python'`) or JSON (`'json'`) into PyValues. */
class LiteralReader {
  private i = 0;
  constructor(private readonly s: string, private readonly mode: 'python' | 'json') {}

  /** The whole text as one value, or undefined when it is not exactly one literal. */
  readAll(): PyValue | undefined {
    try {
      const v = this.value();
      this.ws();
      return this.i === this.s.length ? v : undefined;
    } catch { return undefined; }
  }

  private ws(): void { while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++; }
  private fail(): never { throw new Error(`not a literal at ${this.i}`); }

  private value(): PyValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '[') return { t: 'list', items: this.seq(']').items };
    if (c === '(' && this.mode === 'python') { const r = this.seq(')'); return r.items.length === 1 && !r.trailingComma ? r.items[0] : { t: 'tuple', items: r.items }; }
    if (c === '{') return this.dict();
    if (c === '"' || (c === "'" && this.mode === 'python')) return { t: 'str', v: this.str() };
    const rest = this.s.slice(this.i);
    const words: Array<[string, PyValue]> = this.mode === 'python'
      ? [['None', { t: 'none' }], ['True', { t: 'bool', v: true }], ['False', { t: 'bool', v: false }]]
      : [['null', { t: 'none' }], ['true', { t: 'bool', v: true }], ['false', { t: 'bool', v: false }]];
    for (const [w, v] of words) {
      if (rest.startsWith(w) && !/[A-Za-z0-9_]/.test(rest[w.length] ?? '')) { this.i += w.length; return v; }
    }
    const m = (this.mode === 'python' ? PY_NUMBER : JSON_NUMBER).exec(rest);
    if (!m || m[0] === '' || m[0] === '+' || m[0] === '-' || /[A-Za-z0-9_.]/.test(rest[m[0].length] ?? '')) this.fail();
    // Python refuses leading zeros in a decimal integer (007), though not in a float (007.5).
    if (this.mode === 'python' && /^[+-]?0+[1-9_]/.test(m[0]) && !/[.eE]/.test(m[0]) && !/^[+-]?0[xXoObB]/.test(m[0])) this.fail();
    this.i += m[0].length;
    return { t: 'num', raw: m[0] };
  }

  private seq(close: string): { items: PyValue[]; trailingComma: boolean } {
    this.i++;
    const items: PyValue[] = [];
    let trailingComma = false;
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) { this.i++; return { items, trailingComma }; }
      items.push(this.value());
      this.ws();
      trailingComma = false;
      if (this.s[this.i] === ',') { this.i++; trailingComma = true; continue; }
      if (this.s[this.i] !== close) this.fail();
    }
  }

  private dict(): PyValue {
    this.i++;
    const entries: Array<[PyValue, PyValue]> = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') { this.i++; return { t: 'dict', entries }; }
      const k = this.value();
      if (k.t === 'list' || k.t === 'dict' || (this.mode === 'json' && k.t !== 'str')) this.fail();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail();
      entries.push([k, this.value()]);
      this.ws();
      if (this.s[this.i] === ',') { this.i++; continue; }
      if (this.s[this.i] !== '}') this.fail();
    }
  }

  private str(): string {
    const q = this.s[this.i++];
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined || c === '\n') this.fail();
      if (c === q) return out;
      if (c !== '\\') { out += c; continue; }
      const e = this.s[this.i++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '\\': '\\', "'": "'", '"': '"' };
      if (e in simple) out += simple[e];
      else if (e === '/' && this.mode === 'json') out += '/';
      else if (e === 'u' || (this.mode === 'python' && (e === 'x' || e === 'U'))) {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = this.s.slice(this.i, this.i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail();
        this.i += n;
        out += e === 'U' ? String.fromCodePoint(parseInt(hex, 16)) : String.fromCharCode(parseInt(hex, 16));
      } else if (this.mode === 'python' && e !== undefined && e !== '\n' && !/[0-7aNv]/.test(e)) out += '\\' + e; // Python keeps unknown escapes
      else this.fail();
    }
  }
}

/** Papermill's Python string: unicode_escape, then `"` escaped, in double quotes. */
export function pyString(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || (cp >= 0x7f && cp < 0x100)) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0x100 && cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else if (cp >= 0x10000) out += '\\U' + cp.toString(16).padStart(8, '0');
    else out += ch;
  }
  return `"${out}"`;
}

/** Python source of a value (papermill's translator: lists/dicts written out, strings escaped). */
export function toPython(v: PyValue): string {
  switch (v.t) {
    case 'none': return 'None';
    case 'bool': return v.v ? 'True' : 'False';
    case 'num': return v.raw;
    case 'str': return pyString(v.v);
    case 'list': return `[${v.items.map(toPython).join(', ')}]`;
    case 'tuple': return v.items.length === 1 ? `(${toPython(v.items[0])},)` : `(${v.items.map(toPython).join(', ')})`;
    case 'dict': return `{${v.entries.map(([k, x]) => `${toPython(k)}: ${toPython(x)}`).join(', ')}}`;
  }
}

/** The value as JSON for the notebook's metadata (tuples as lists, dict keys as strings). */
export function toJson(v: PyValue): unknown {
  switch (v.t) {
    case 'none': return null;
    case 'bool': return v.v;
    case 'num': {
      const n = Number(v.raw.replace(/_/g, '').replace(/^\+/, ''));
      return Number.isFinite(n) ? n : v.raw;
    }
    case 'str': return v.v;
    case 'list': case 'tuple': return v.items.map(toJson);
    case 'dict': return Object.fromEntries(v.entries.map(([k, x]) => [k.t === 'str' ? k.v : String(toJson(k)), toJson(x)]));
  }
}

/** `-p NAME VALUE`: a Python literal where VALUE is one, else the string VALUE. */
export function parseParamValue(raw: string): PyValue {
  return new LiteralReader(raw, 'python').readAll() ?? { t: 'str', v: raw };
}

export function checkParamName(name: string, where: string): void {
  if (!IDENT.test(name) || PY_KEYWORDS.has(name)) {
    throw new CliError('usage', `${where}: parameter name "${name}" is not a Python identifier`);
  }
}

/** `-f FILE`: a JSON object of parameters, in file order. */
export function readParamsFile(file: string): Parameter[] {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? 'file_not_found' : 'file_unreadable',
      `-f ${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (e as Error).message})`}`);
  }
  try { JSON.parse(text); } catch (e) {
    throw new CliError('not_json', `-f ${file}: not JSON (${(e as Error).message})`);
  }
  const v = new LiteralReader(text.replace(/^\uFEFF/, ''), 'json').readAll();
  if (!v || v.t !== 'dict') throw new CliError('usage', `-f ${file}: must hold a JSON object of parameters, like {"alpha": 0.5}`);
  return v.entries.map(([k, value]) => {
    const name = (k as { v: string }).v;
    checkParamName(name, `-f ${file}`);
    return { name, value };
  });
}

/**
 * Pulls `-p NAME VALUE` / `--parameters NAME VALUE` (two values each, which parseArgs
 * cannot express) out of argv; returns the parameters and the rest of argv.
 */
export function extractParamFlags(argv: string[]): { params: Parameter[]; rest: string[] } {
  const params: Parameter[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { rest.push(...argv.slice(i)); break; }
    if (a !== '-p' && a !== '--parameters') { rest.push(a); continue; }
    if (i + 2 >= argv.length) throw new CliError('usage', `${a} needs a name and a value (-p NAME VALUE)`);
    const name = argv[i + 1];
    checkParamName(name, a);
    params.push({ name, value: parseParamValue(argv[i + 2]) });
    i += 2;
  }
  return { params, rest };
}

/** Later parameters of the same name win, in the first one's place (papermill: a dict updated by file, then by -p). */
export function mergeParams(list: Parameter[]): Parameter[] {
  const byName = new Map<string, Parameter>();
  for (const p of list) byName.set(p.name, p);
  return [...byName.values()];
}

/** The injected cell's source, as papermill's Python translator writes it. */
export function parameterSource(params: Parameter[]): string {
  return `# Parameters\n${params.map(p => `${p.name} = ${toPython(p.value)}\n`).join('')}`;
}

const hasTag = (metadata: Record<string, unknown>, tag: string) =>
  Array.isArray(metadata?.tags) && (metadata.tags as unknown[]).includes(tag);

/** Inserts (or replaces) the `injected-parameters` cell and records the parameters in the metadata. */
export function injectParameters(nb: Notebook, params: Parameter[]): void {
  if (params.length === 0) return;
  const injected = nb.cells.findIndex(c => hasTag(c.metadata, 'injected-parameters'));
  const tagged = nb.cells.findIndex(c => hasTag(c.metadata, 'parameters'));
  const cell: CodeCell = {
    cell_type: 'code', metadata: { tags: ['injected-parameters'] },
    source: parameterSource(params), outputs: [], execution_count: null,
  };
  const ids = new Set(nb.cells.map(c => c.id).filter(Boolean));
  if (injected >= 0 && nb.cells[injected].id) cell.id = nb.cells[injected].id;
  else if (nb.nbformat_minor >= 5 || ids.size > 0) {
    do cell.id = randomBytes(4).toString('hex'); while (ids.has(cell.id));
  }
  if (injected >= 0) nb.cells.splice(injected, 1, cell);
  else nb.cells.splice(tagged >= 0 ? tagged + 1 : 0, 0, cell);
  const prev = nb.metadata.papermill;
  const papermill = typeof prev === 'object' && prev !== null && !Array.isArray(prev) ? { ...prev as object } : {};
  nb.metadata.papermill = { ...papermill, parameters: Object.fromEntries(params.map(p => [p.name, toJson(p.value)])) };
}
