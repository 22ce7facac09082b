// Shared helpers of the pool tests (test/unit/pool*.test.ts): start a pool on the
// interpreter under test (PYCTX_TEST_PYTHON, default python3) and make sure it is
// closed, and small waiting utilities with a hard deadline (never timing asserts).
import { after } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool, PyCtxError, type PoolOptions } from '../../src/pool/index';

export const TEST_PYTHON = process.env.PYCTX_TEST_PYTHON || 'python3';

/** Start a pool that is closed when the test file ends. */
export async function startPool(opts: PoolOptions = {}): Promise<Pool> {
  const pool = await Pool.start({ python: TEST_PYTHON, size: 2, warm: 1, ...opts });
  after(() => pool.close());
  return pool;
}

/** Poll `cond` until true; fail after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

/** Assert that a promise rejects with a PyCtxError of this code; returns it. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<PyCtxError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof PyCtxError)) throw new Error(`expected PyCtxError ${code}, got ${String(e)}`);
    if (e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected rejection with ${code}, but it resolved`);
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** True while a process with this pid runs (a zombie waiting to be reaped counts as gone). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return alive(pid);
  }
}

/**
 * A file-based gate for cells that must still be running while the test asserts
 * (no timing assumptions): `code` waits until `open()` creates the file.
 */
export function gate(): { code: string; file: string; open: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pyctx-gate-'));
  const file = path.join(dir, 'open');
  after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    code: `import os as _os, time as _time\nwhile not _os.path.exists(${JSON.stringify(file)}): _time.sleep(0.01)`,
    file,
    open: () => { if (!existsSync(file)) writeFileSync(file, ''); },
  };
}
