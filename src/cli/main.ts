// Entry of the `pyctx` command line (bundled to dist/cli.js, launched by bin/pyctx.js).
// Owns argument parsing, the pool's lifetime per command, Ctrl-C, and turning every
// failure into one line on stderr plus an exit status (errors.ts) — never a stack
// trace (PYCTX_DEBUG=1 prints one for developers).
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IPYTHON_MODES, Pool, PyCtxError, splitCommandLine, type IPythonMode } from '../pool';
import { groupByPython } from './environment';
import { CliError, Exit, oneLine } from './errors';
import { readNotebook } from './nbformat';
import { Progress } from './progress';
import { runAll, type RunJob, type RunOutcome } from './run';
import { extractParamFlags, injectParameters, mergeParams, readParamsFile } from './params';
import { DEFAULT_MAX_OUTPUT_BYTES } from './outputs';
import { execCommand, evalCommand } from './oneshot';
import { statsCommand } from './stats';
import { benchCommand } from './bench';
import { USAGE } from './usage';

const commonOptions = {
  python: { type: 'string' },
  preload: { type: 'string' },
  'memory-limit': { type: 'string' },
  ipython: { type: 'string' },
  launcher: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    // Node's messages go on with advice about '--'; the first sentence is the point.
    throw new CliError('usage', `${oneLine(e).split(/\. /)[0].replace(/\.$/, '')} (see pyctx --help)`);
  }
}

function positiveNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError('usage', `${flag} needs a positive number, got "${v}"`);
  return n;
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  const n = positiveNumber(flag, v);
  if (n !== undefined && !Number.isInteger(n)) throw new CliError('usage', `${flag} needs a whole number, got "${v}"`);
  return n;
}

/** A byte count: a whole number >= 0 (digits only, so "1e3" or "4M" are refused, not guessed). */
function byteCount(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) {
    throw new CliError('usage', `${flag} needs a whole number of bytes (0 = no limit), got "${v}"`);
  }
  return Number(v);
}

export interface PoolChoice { python?: string; preload?: string[]; memoryLimitBytes?: number; ipython?: IPythonMode; launcher?: string[] }

/** `--launcher "srun --unbuffered -N1 -n1"`: split as a shell would, never run by one. */
function launcherArg(v: string | boolean | undefined): string[] | undefined {
  if (typeof v !== 'string') return undefined;
  let argv: string[];
  try { argv = splitCommandLine(v); } catch (e) { throw new CliError('usage', `--launcher: ${oneLine(e)}`); }
  if (argv.length === 0) throw new CliError('usage', '--launcher needs a command, e.g. --launcher "srun --unbuffered -N1 -n1"');
  return argv;
}

function poolChoice(values: { python?: string | boolean; preload?: string | boolean; 'memory-limit'?: string | boolean; ipython?: string | boolean; launcher?: string | boolean }): PoolChoice {
  const ipython = typeof values.ipython === 'string' ? values.ipython : undefined;
  if (ipython !== undefined && !IPYTHON_MODES.includes(ipython as IPythonMode)) {
    throw new CliError('usage', `--ipython takes auto or off, got "${ipython}"`);
  }
  const python = typeof values.python === 'string' ? values.python : process.env.PYCTX_PYTHON || undefined;
  const preload = typeof values.preload === 'string'
    ? values.preload.split(',').map(s => s.trim()).filter(Boolean) : undefined;
  const mb = typeof values['memory-limit'] === 'string' ? positiveInt('--memory-limit', values['memory-limit']) : undefined;
  const minMb = Pool.MIN_MEMORY_LIMIT_BYTES / 2 ** 20;
  if (mb !== undefined && mb < minMb) throw new CliError('usage', `--memory-limit needs at least ${minMb} (MiB), got "${mb}"`);
  return { python, preload, memoryLimitBytes: mb === undefined ? undefined : mb * 2 ** 20, ipython: ipython as IPythonMode | undefined, launcher: launcherArg(values.launcher) };
}

/** Starts a pool; an unusable interpreter becomes a one-line environment error. */
export async function startPool(choice: PoolChoice, size: number, warm: number): Promise<Pool> {
  try {
    return await Pool.start({ python: choice.python, preload: choice.preload, memoryLimitBytes: choice.memoryLimitBytes, ipython: choice.ipython, launcher: choice.launcher, size, warm });
  } catch (e) {
    if (e instanceof PyCtxError && e.code === 'python_not_found') throw new CliError('python_not_found', oneLine(e));
    const where = [choice.python, choice.launcher && `through ${choice.launcher.join(' ')}`].filter(Boolean).join(' ');
    throw new CliError('pool_failed', `cannot start Python workers${where ? ` (${where})` : ''}: ${oneLine(e)}`);
  }
}

/** Ctrl-C: the first aborts (running cells are interrupted, results written), the second exits at once. */
function interruptController(): AbortController {
  const ac = new AbortController();
  process.on('SIGINT', () => {
    if (ac.signal.aborted) process.exit(Exit.interrupted);
    process.stderr.write('pyctx: interrupted, stopping (Ctrl-C again to quit at once)\n');
    ac.abort();
  });
  return ac;
}

function defaultOutput(input: string): string {
  const ext = path.extname(input);
  return path.join(path.dirname(input), `${path.basename(input, ext)}.executed${ext || '.ipynb'}`);
}

async function runCommand(argvIn: string[]): Promise<number> {
  // -p NAME VALUE takes two values, which parseArgs cannot say: taken out first.
  const { params: flagParams, rest: argv } = extractParamFlags(argvIn);
  const { values, positionals } = parse(argv, {
    ...commonOptions,
    output: { type: 'string', short: 'o' },
    inplace: { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    'allow-errors': { type: 'boolean' },
    'max-output-bytes': { type: 'string' },
    progress: { type: 'boolean' },
    'parameters-file': { type: 'string', short: 'f', multiple: true },
  });
  if (values.help) { process.stdout.write(USAGE); return Exit.ok; }
  if (positionals.length === 0) throw new CliError('usage', 'run needs at least one notebook (pyctx run NOTEBOOK.ipynb)');
  if (values.output && values.inplace) throw new CliError('usage', '-o and --inplace exclude each other');
  if (values.output && positionals.length > 1) throw new CliError('usage', '-o takes one notebook; with several, use --inplace or the default NAME.executed.ipynb');
  const jobs = positiveInt('-j', values.jobs) ?? 1;
  const timeoutS = positiveNumber('--timeout', values.timeout);
  const maxOutputBytes = byteCount('--max-output-bytes', values['max-output-bytes']) ?? DEFAULT_MAX_OUTPUT_BYTES;

  // Every input is read and checked before any Python starts: bad input fails fast.
  // Parameters as papermill merges them: files first, then -p, later names winning.
  const params = mergeParams([...(values['parameters-file'] ?? []).flatMap(readParamsFile), ...flagParams]);
  const list: RunJob[] = positionals.map(input => {
    const notebook = readNotebook(input);
    injectParameters(notebook, params);
    return { input, output: values.inplace ? input : values.output ?? defaultOutput(input), notebook };
  });

  // One pool per interpreter: --python, else each notebook's recorded environment (environment.ts).
  const choice = poolChoice(values);
  const groups = groupByPython(list, choice.python);
  const ac = interruptController();
  const progress = new Progress(!!values.progress || !!process.stderr.isTTY);
  const outcomes: RunOutcome[] = [];
  for (const [python, group] of groups) {
    if (ac.signal.aborted) break;
    const size = Math.min(jobs, group.length);
    const pool = await startPool({ ...choice, python }, size, size);
    try {
      outcomes.push(...await runAll(pool, group, jobs, {
        allowErrors: !!values['allow-errors'],
        timeoutMs: timeoutS === undefined ? undefined : Math.round(timeoutS * 1000),
        maxOutputBytes,
        progress,
        signal: ac.signal,
      }));
    } finally {
      await pool.close().catch(() => undefined);
    }
  }
  return report(outcomes, ac.signal.aborted);
}

/** Prints where each executed copy went (stdout) and what failed (stderr); returns the exit status. */
function report(outcomes: RunOutcome[], interrupted: boolean): number {
  let code: number = Exit.ok;
  for (const o of outcomes) {
    const secs = (o.elapsedMs / 1000).toFixed(2);
    process.stdout.write(`pyctx: wrote ${o.job.output} (${o.cellsRun}/${o.codeCells} cells, ${secs} s)\n`);
    if (o.status !== 'ok') {
      process.stderr.write(`pyctx: ${o.job.input}: ${o.message ?? o.status}\n`);
      if (code === Exit.ok) code = Exit.cellError;
    }
  }
  return interrupted ? Exit.interrupted : code;
}

async function oneshot(argv: string[], kind: 'exec' | 'eval'): Promise<number> {
  const { values, positionals } = parse(argv, commonOptions);
  if (values.help) { process.stdout.write(USAGE); return Exit.ok; }
  if (positionals.length !== 1) throw new CliError('usage', `${kind} takes exactly one argument (quote the code)`);
  const timeoutS = positiveNumber('--timeout', values.timeout);
  const ac = interruptController();
  const pool = await startPool(poolChoice(values), 1, 1);
  try {
    const opts = { timeoutMs: timeoutS === undefined ? undefined : Math.round(timeoutS * 1000), signal: ac.signal };
    const code = kind === 'exec' ? await execCommand(pool, positionals[0], opts) : await evalCommand(pool, positionals[0], opts);
    return ac.signal.aborted ? Exit.interrupted : code;
  } finally {
    await pool.close().catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      process.stderr.write(USAGE);
      return Exit.usage;
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return Exit.ok;
    case '--version':
    case '-V':
      process.stdout.write(`${version()}\n`);
      return Exit.ok;
    case 'run': return runCommand(rest);
    case 'exec': return oneshot(rest, 'exec');
    case 'eval': return oneshot(rest, 'eval');
    case 'stats': {
      const { values, positionals } = parse(rest, { ...commonOptions, json: { type: 'boolean' }, size: { type: 'string' }, warm: { type: 'string' } });
      if (values.help) { process.stdout.write(USAGE); return Exit.ok; }
      if (positionals.length) throw new CliError('usage', `stats takes no arguments, got "${positionals[0]}"`);
      const size = positiveInt('--size', values.size) ?? 4;
      const warm = values.warm === '0' ? 0 : positiveInt('--warm', values.warm) ?? 1;
      if (warm > size) throw new CliError('usage', '--warm cannot exceed --size');
      const pool = await startPool(poolChoice(values), size, warm);
      try { return await statsCommand(pool, !!values.json); } finally { await pool.close().catch(() => undefined); }
    }
    case 'bench': {
      const { values, positionals } = parse(rest, { ...commonOptions, runs: { type: 'string' }, cells: { type: 'string' }, all: { type: 'boolean' } });
      if (values.help) { process.stdout.write(USAGE); return Exit.ok; }
      if (positionals.length) throw new CliError('usage', `bench takes no arguments, got "${positionals[0]}"`);
      return benchCommand({
        runs: positiveInt('--runs', values.runs) ?? 5,
        cells: positiveInt('--cells', values.cells) ?? 100,
        python: poolChoice(values).python,
        all: !!values.all,
      });
    }
    default:
      throw new CliError('usage', `unknown command "${cmd}" (commands: run, exec, eval, stats, bench; see pyctx --help)`);
  }
}

function version(): string {
  // src/cli/main.ts sits two folders below package.json, the bundle dist/cli.js one.
  for (const rel of ['../package.json', '../../package.json']) {
    try { return (require(path.join(__dirname, rel)) as { version: string }).version; } catch { /* try the next */ }
  }
  return 'unknown';
}

function fail(e: unknown): number {
  if (process.env.PYCTX_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  if (e instanceof CliError) {
    process.stderr.write(`pyctx: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof PyCtxError) {
    process.stderr.write(`pyctx: ${oneLine(e)} [${e.code}]\n`);
    return e.code === 'python_not_found' || e.code === 'worker_start_failed' ? Exit.environment : Exit.cellError;
  }
  process.stderr.write(`pyctx: internal error: ${oneLine(e)} (set PYCTX_DEBUG=1 for details)\n`);
  return Exit.cellError;
}

main(process.argv.slice(2)).catch(fail).then(code => {
  process.exitCode = code;
  // Anything left holding the event loop (a worker that will not die) must not hang the CLI.
  setTimeout(() => process.exit(code), 3000).unref();
});
