// `pyctx exec CODE` and `pyctx eval EXPR`: one run in a fresh context, outputs to the
// terminal. exec streams stdout/stderr as they come, prints rich outputs as their
// text/plain form (or a one-line placeholder), the last expression's value on stdout
// and a Python error's traceback on stderr. eval prints plain values as JSON and
// other objects (which arrive as refs) as their Python repr.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Pool } from '../pool';
import { PyCtxError, isRef } from '../pool';
import { CliError, Exit } from './errors';
import { settleInterrupt } from './run';

export interface OneshotOptions { timeoutMs?: number; signal: AbortSignal }

/** A terminal rendering of a mime bundle: its text/plain, else a note of what it holds. */
export function renderBundle(data: Record<string, unknown>): string {
  const plain = data['text/plain'];
  if (typeof plain === 'string') return plain;
  const parts = Object.entries(data).map(([mime, v]) => {
    const size = v instanceof Uint8Array ? v.byteLength : typeof v === 'string' ? Buffer.byteLength(v) : JSON.stringify(v).length;
    return `${mime}, ${size} bytes`;
  });
  return `[${parts.join('; ') || 'empty output'}]`;
}

function readCode(arg: string): string {
  if (arg !== '-') return arg;
  try { return readFileSync(0, 'utf8'); } catch (e) {
    throw new CliError('usage', `cannot read code from stdin: ${(e as Error).message}`);
  }
}

function poolFailure(e: unknown, opts: OneshotOptions): never | number {
  if (!(e instanceof PyCtxError)) throw e;
  if (opts.signal.aborted || e.code === 'interrupted') return Exit.interrupted;
  if (e.code === 'timeout') throw new CliError('timeout', `timed out after ${(opts.timeoutMs ?? 0) / 1000} s`);
  if (e.code === 'worker_crashed') {
    const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.exitCode ?? '?'}`;
    throw new CliError('worker_crashed', `the Python worker died (${how})`);
  }
  throw e;
}

export async function execCommand(pool: Pool, arg: string, opts: OneshotOptions): Promise<number> {
  const code = readCode(arg);
  const ctx = await pool.bind('new', { cwd: process.cwd(), owner: 'pyctx exec' });
  try {
    const r = await ctx.execute(code, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      onStream: ev => (ev.name === 'stderr' ? process.stderr : process.stdout).write(ev.text),
      onDisplay: ev => { if (!ev.update) process.stdout.write(renderBundle(ev.data) + '\n'); },
      // At a terminal input() prompts there; otherwise it raises StdinNotImplementedError.
      onInput: process.stdin.isTTY ? promptAtTerminal : undefined,
    });
    if (r.result) process.stdout.write(renderBundle(r.result.data) + '\n');
    if (r.status === 'error' && r.error) {
      let tb = r.error.traceback.length ? r.error.traceback.join('\n') : `${r.error.ename}: ${r.error.evalue}`;
      // IPython's shell colours tracebacks with ANSI codes: for a terminal only.
      if (!process.stderr.isTTY) tb = tb.replace(/\x1b\[[0-9;]*m/g, '');
      process.stderr.write(tb.endsWith('\n') ? tb : tb + '\n');
    }
    for (const d of r.afterResult ?? []) process.stdout.write(renderBundle(d.data) + '\n');
    if (r.status === 'error' && r.error) {
      if (r.error.ename === 'KeyboardInterrupt') await settleInterrupt(opts.signal);
      return opts.signal.aborted ? Exit.interrupted : Exit.cellError;
    }
    return Exit.ok;
  } catch (e) {
    return poolFailure(e, opts);
  }
}

/** JSON for the terminal; bytes (which JSON lacks) are shown as base64 strings. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('base64');
    }
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return v;
  }) ?? 'null';
}

export async function evalCommand(pool: Pool, expr: string, opts: OneshotOptions): Promise<number> {
  const ctx = await pool.bind('new', { cwd: process.cwd(), owner: 'pyctx eval' });
  try {
    const callOpts = { timeoutMs: opts.timeoutMs, signal: opts.signal };
    const value = await ctx.eval(readCode(expr), undefined, callOpts);
    // Objects that are not plain data come back as refs; show them as Python would.
    if (isRef(value)) process.stdout.write(String(await ctx.call('builtins', 'repr', [value], {}, callOpts)) + '\n');
    else process.stdout.write(toJson(value) + '\n');
    return Exit.ok;
  } catch (e) {
    if (e instanceof PyCtxError && e.code === 'python_error') {
      const tb = e.traceback?.length ? e.traceback.join('\n') : `${e.ename ?? 'Error'}: ${e.evalue ?? e.message}`;
      process.stderr.write(tb.endsWith('\n') ? tb : tb + '\n');
      return Exit.cellError;
    }
    return poolFailure(e, opts);
  }
}

/** input()/getpass at a terminal: the prompt goes to stderr, the answer comes from stdin
 *  (a password is read the same way: the terminal echoes it, which we say). */
async function promptAtTerminal(req: { prompt: string; password: boolean }): Promise<string | null> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return await rl.question(req.password ? `${req.prompt}(input is visible) ` : req.prompt);
  } catch {
    return null;
  } finally {
    rl.close();
  }
}
