// Cell-by-cell comparison of two executed copies of one notebook (pyctx run's and
// jupyter nbconvert --execute's) for the conformance test (not a test file itself).
// Normalizes what may legitimately differ, then names each remaining difference as
// { notebook, cell, aspect } so docs/jupyter-differences.json can list it with a reason.
//
// Normalized away (transport or chance, not content):
//  - cell ids (cells are matched by position) and nbclient's timing metadata (`execution`);
//  - the notebook's kernelspec (nbconvert keeps the input's, pyctx writes the kernel that
//    ran) and `widgets` state (nbclient's widget manager); other metadata is compared;
//  - memory addresses (0x7f...), the temporary folder the run used, the name a cell's code
//    goes by in warnings and tracebacks (ipykernel's /tmp/ipykernel_123/456.py, IPython's
//    <ipython-input-1-ab12>, pyctx's <cell-1>), ANSI colour codes;
//  - images: image/* (png, jpeg, gif, svg+xml) compared by mime type and metadata only, not
//    bytes (renderers differ in compression and ids, not in what the picture is);
//  - stream text: "\r\n" as "\n", and within a run of consecutive stream outputs the text
//    per stream name (ipykernel flushes stdout and stderr on separate timers);
//  - the figures of %time / %timeit ("Wall time: 1.2 ms") replaced by T, ISO date-times
//    (2026-01-31T12:00:00.123Z, what a cell printed of the clock) by <DATETIME>.
// Aspects: `missing` (one side wrote no notebook), `cells` (cell list or sources differ),
// `metadata`, `execution_count`, `outputs` (anything but traceback text), `traceback`
// (same ename and evalue, different traceback text).
import { text } from './cli-helpers';

export interface Difference { notebook: string; cell: number; aspect: string; detail: string }

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const ADDR = /0x[0-9a-fA-F]{6,16}/g;
// What a cell's code is called in warnings and tracebacks: ipykernel's temp file, plain IPython's, pyctx's.
const CELL_FILE = /\/tmp\/ipykernel_\d+\/\d+\.py|<ipython-input-\d+-[0-9a-f]+>|<cell-\d+>/g;
const TIMES = /^(CPU times|Wall time):.*$/gm;
const TIMEIT = /^.*(?:per loop|loops?, best of).*$/gm;
const DATETIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?/g;
const UNITS = /\d+(\.\d+)?(e[+-]?\d+)?\s?(ns|µs|us|ms|s|min|h|d)\b/g;

/** `tmpDirs`: the folders the runs used, longest first (each side may have its own). */
export function normalizeText(s: string, tmpDirs: string[]): string {
  for (const d of tmpDirs) s = s.split(d).join('<TMP>');
  return s.replace(ANSI, '').replace(CELL_FILE, '<CELLFILE>').replace(DATETIME, '<DATETIME>').replace(ADDR, '0xADDR')
    .replace(/\r\n/g, '\n').replace(TIMES, l => l.replace(UNITS, 'T')).replace(TIMEIT, l => l.replace(UNITS, 'T'));
}

function normalizeBundle(data: Record<string, unknown>, tmpDir: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [mime, v] of Object.entries(data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (mime.startsWith('image/')) out[mime] = '<image>';
    else if (typeof v === 'string' || Array.isArray(v)) out[mime] = normalizeText(text(v), tmpDir);
    else out[mime] = v;
  }
  return out;
}

/** Outputs as comparable values; tracebacks kept apart (they are their own aspect). */
export function normalizeOutputs(outputs: any[], tmpDir: string[]): { outputs: unknown[]; tracebacks: string[] } {
  const result: unknown[] = [];
  const tracebacks: string[] = [];
  let streams: Map<string, string> | null = null;
  const flush = () => {
    if (streams) for (const [name, t] of [...streams].sort()) result.push({ stream: name, text: normalizeText(t, tmpDir) });
    streams = null;
  };
  for (const o of outputs ?? []) {
    if (o.output_type === 'stream') {
      streams ??= new Map();
      streams.set(o.name, (streams.get(o.name) ?? '') + text(o.text));
      continue;
    }
    flush();
    if (o.output_type === 'error') {
      result.push({ error: o.ename, evalue: normalizeText(o.evalue ?? '', tmpDir) });
      tracebacks.push(normalizeText((o.traceback ?? []).join('\n'), tmpDir));
    } else {
      result.push({ type: o.output_type, count: o.execution_count, data: normalizeBundle(o.data, tmpDir), metadata: o.metadata ?? {} });
    }
  }
  flush();
  return { outputs: result, tracebacks };
}

const short = (v: unknown) => { const s = JSON.stringify(v); return s.length > 300 ? `${s.slice(0, 300)}...` : s; };

function withoutKeys(o: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o ?? {}).sort()) if (!keys.includes(k)) out[k] = o![k];
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Differences between pyctx's copy and Jupyter's of one notebook (`name` as folder/file). */
export function compareNotebooks(name: string, pyctx: any, jupyter: any, tmpDir: string[], opts: { ignoreVersion?: boolean } = {}): Difference[] {
  const diffs: Difference[] = [];
  const add = (cell: number, aspect: string, detail: string) => diffs.push({ notebook: name, cell, aspect, detail });
  const ma = withoutKeys(pyctx.metadata, ['kernelspec', 'widgets']);
  const mb = withoutKeys(jupyter.metadata, ['kernelspec', 'widgets']);
  if (opts.ignoreVersion) for (const m of [ma, mb]) if (m.language_info) m.language_info = withoutKeys(m.language_info as Record<string, unknown>, ['version']);
  if (!same(ma, mb)) add(0, 'metadata', `pyctx ${short(ma)} / jupyter ${short(mb)}`);
  const a = pyctx.cells as any[];
  const b = jupyter.cells as any[];
  if (a.length !== b.length || a.some((c, i) => c.cell_type !== b[i].cell_type || text(c.source) !== text(b[i].source))) {
    add(0, 'cells', `pyctx has ${a.length} cells, jupyter ${b.length} (or their sources differ)`);
    return diffs;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i].cell_type !== 'code') continue;
    const cell = i + 1;
    if (a[i].execution_count !== b[i].execution_count) add(cell, 'execution_count', `pyctx ${a[i].execution_count} / jupyter ${b[i].execution_count}`);
    const cma = withoutKeys(a[i].metadata, ['execution']);
    const cmb = withoutKeys(b[i].metadata, ['execution']);
    if (!same(cma, cmb)) add(cell, 'cell_metadata', `pyctx ${short(cma)} / jupyter ${short(cmb)}`);
    const na = normalizeOutputs(a[i].outputs, tmpDir);
    const nb = normalizeOutputs(b[i].outputs, tmpDir);
    if (!same(na.outputs, nb.outputs)) add(cell, 'outputs', `pyctx ${short(na.outputs)} / jupyter ${short(nb.outputs)}`);
    else if (!same(na.tracebacks, nb.tracebacks)) add(cell, 'traceback', `pyctx ${short(na.tracebacks)} / jupyter ${short(nb.tracebacks)}`);
  }
  return diffs;
}
