// Finding Python: the worker package directory (python/pyctx_worker, found by
// walking up from this file so it works from src/pool under tsx and from dist/
// when bundled) and the interpreter, resolved ONCE to its real sys.executable so
// workers never go through a pyenv shim (60-100 ms per start).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PyCtxError } from './errors';
import { launchArgv, launcherName } from './launch';

let execaModule: Promise<typeof import('execa')> | undefined;
let execaLoaded: typeof import('execa') | undefined;
/** execa 9 is ESM-only; a dynamic import loads it from this CommonJS package. */
export function loadExeca(): Promise<typeof import('execa')> {
  execaModule ??= import('execa').then(m => { execaLoaded = m; return m; });
  return execaModule;
}
/** The execa module once loadExeca() resolved (Pool.start does that first). */
export function execaSync(): typeof import('execa') {
  if (!execaLoaded) throw new Error('execa not loaded yet: await loadExeca() first');
  return execaLoaded;
}

let pythonDirCache: string | undefined;
/** Absolute path of the directory holding pyctx_worker/. */
export function findPythonDir(start: string = __dirname): string {
  if (pythonDirCache) return pythonDirCache;
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'python', 'pyctx_worker', '__init__.py'))) {
      pythonDirCache = path.join(dir, 'python');
      return pythonDirCache;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new PyCtxError('worker_start_failed', `python/pyctx_worker not found above ${start}`);
    dir = up;
  }
}

/** The -c bootstrap every worker runs: no shell, no -m lookup, the package dir on sys.path. */
export function workerBootstrap(pythonDir: string): string {
  return `import sys; sys.path.append(${JSON.stringify(pythonDir)}); from pyctx_worker.__main__ import main; main()`;
}

export interface ResolvedPython { executable: string; version: string }

/**
 * Run the candidate once and ask it for its real executable. With a launcher the
 * question goes through it: the node's Python may not be the login node's.
 */
export async function resolvePython(requested?: string, launcher?: readonly string[], timeoutMs = 60000): Promise<ResolvedPython> {
  const { execa } = await loadExeca();
  const candidates = requested ? [requested] : ['python3', 'python'];
  const tried: string[] = [];
  for (const cmd of candidates) {
    const argv = launchArgv(launcher, [cmd, '-c', 'import sys, platform; print(sys.executable); print(platform.python_version()); print(sys.version_info >= (3, 8))']);
    const r = await execa(argv.file, argv.args,
      { reject: false, timeout: launcher ? timeoutMs : 30000, stdin: 'ignore', killSignal: 'SIGTERM' });
    // Through srun --unbuffered the output comes from a pty: \r\n line ends are possible.
    const lines = typeof r.stdout === 'string' ? r.stdout.trim().split(/\r?\n/).map(l => l.trim()) : [];
    if (r.exitCode === 0 && lines.length === 3 && lines[0]) {
      if (lines[2] !== 'True') {
        tried.push(`${cmd} (Python ${lines[1]} < 3.8)`);
        continue;
      }
      return { executable: lines[0], version: lines[1] };
    }
    if (launcher) {
      const said = (typeof r.stderr === 'string' ? r.stderr : '').trim().split(/\r?\n/).slice(-3).join(' | ');
      if (r.timedOut) {
        // Still queued (or the node never answered): the launcher's problem, not Python's.
        throw new PyCtxError('worker_start_failed', `could not start ${cmd} through ${launcherName(launcher)}: `
          + `no answer within ${timeoutMs} ms (startTimeoutMs)${said ? `: ${said}` : ''}`);
      }
      const how = r.failed && r.code === 'ENOENT' ? `${launcher[0]} not found` : `exit status ${r.exitCode ?? r.signal}`;
      tried.push(`${cmd} through ${launcherName(launcher)} (${how}${said ? `: ${said}` : ''})`);
      continue;
    }
    tried.push(`${cmd} (${r.failed && r.code === 'ENOENT' ? 'not found' : (r.shortMessage ?? 'failed')})`);
  }
  throw new PyCtxError('python_not_found', `no usable Python interpreter: tried ${tried.join(', ')}`);
}
