// The server's one Pool (one interpreter per server process). Starts it from the
// initializationOptions, trying the configured interpreter, else python3 then
// python; when none works the server stays up in an error state: it pushes a
// `pyctx/serverStatus` error naming every interpreter tried and how to set
// `pyctx.python`, and every request that needs Python fails with code
// `no_python` and the same message (no crash, so no restart loop).
import { Pool } from '../pool';
import type { ServerOptions, ServerStatusParams } from '../protocol/lsp';
import { PyctxServerError } from './errors';

export const DEFAULT_OPTIONS = { poolSize: 4, warm: 1, outputMaxBytes: 4 * 1024 * 1024, streamCoalesceMs: 16 } as const;

export class PoolHost {
  private started: Promise<Pool> | undefined;
  private pool: Pool | undefined;
  private failure: PyctxServerError | undefined;
  status: ServerStatusParams = { state: 'starting' };

  constructor(readonly options: ServerOptions, private readonly onStatus: (s: ServerStatusParams) => void) {}

  /** Starts the pool once; later calls return the same promise. Never rejects for a missing Python: see get(). */
  start(): Promise<Pool | undefined> {
    this.started ??= this.startPool();
    return this.started.catch(() => undefined);
  }

  /** The running pool, or the `no_python` error (the server cannot run cells). */
  async get(): Promise<Pool> {
    const pool = await this.start();
    if (pool) return pool;
    throw this.failure ?? new PyctxServerError('no_python', 'the Python pool is not available');
  }

  /** The pool if it is already up (for cheap paths like completion), else undefined. */
  get current(): Pool | undefined { return this.pool; }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.close();
  }

  /** Shrinks to zero (idle shutdown, pools.ts): closes the pool; the next get() starts a new one. */
  async stop(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    this.failure = undefined;
    const pool = this.pool ?? await started?.catch(() => undefined);
    if (this.pool === pool) this.pool = undefined;
    this.status = { state: 'starting' };
    if (pool) await pool.close();
  }

  /** Whether a start was asked for (and not undone by stop()). */
  get wasStarted(): boolean { return this.started !== undefined; }
  /** Why the pool cannot start, once it failed. */
  get error(): string | undefined { return this.failure?.message; }

  private async startPool(): Promise<Pool> {
    this.setStatus({ state: 'starting', python: this.options.python });
    const candidates = this.options.python ? [this.options.python] : ['python3', 'python'];
    const tried: string[] = [];
    for (const python of candidates) {
      try {
        const pool = await Pool.start({
          python,
          size: this.options.poolSize ?? DEFAULT_OPTIONS.poolSize,
          warm: this.options.warm ?? DEFAULT_OPTIONS.warm,
          preload: this.options.preload,
          memoryLimitBytes: this.options.memoryLimitMB ? Math.floor(this.options.memoryLimitMB * 2 ** 20) : undefined,
          launcher: this.options.launcher,
          affinity: this.options.affinity,
          ipython: this.options.ipython,
          refTtlSeconds: this.options.refTtlSeconds,
          maxRefsPerSession: this.options.maxRefsPerSession,
        });
        this.pool = pool;
        this.setStatus({ state: 'ready', python: pool.python, tried: [...candidates.slice(0, tried.length + 1)] });
        return pool;
      } catch (err) {
        tried.push(`${python}: ${(err as Error).message}`);
      }
    }
    const message = `pyctx found no usable Python interpreter (tried ${candidates.join(', ')}). `
      + `Set the setting \`pyctx.python\` to the full path of a Python 3.8+ executable `
      + `(or select an interpreter with the Python extension). Details: ${tried.join('; ')}`;
    this.failure = new PyctxServerError('no_python', message);
    this.setStatus({ state: 'error', message, tried: candidates });
    throw this.failure;
  }

  private setStatus(s: ServerStatusParams): void {
    this.status = s;
    this.onStatus(s);
  }
}
