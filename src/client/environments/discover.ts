// Finding the Python environments a notebook can run in, offline and cheap (no
// `vscode` import: unit-tested on a faked home). Sources, in the order a duplicate
// keeps its name from: the `pyctx.python` setting; folders with a `pyvenv.cfg`
// directly under a workspace folder (.venv, venv, env, …); conda environments
// listed in ~/.conda/environments.txt; the Python extension's environments (passed
// in by pythonExtension.ts); pyenv versions; `python3`/`python` on PATH; well-known
// system interpreters (/usr/bin/python3, /usr/local/bin/python3).
//
// Every candidate is run once (`-c`, a few ms) for its sys.executable, version and
// prefix. Duplicates (a pyenv shim on PATH and its version, a symlink and its
// target) merge on (real executable, sys.prefix), so a venv never merges with its
// base interpreter. A venv runs as its own bin/python — sys.executable, never the
// symlink's target — so its sys.prefix and site-packages stay in force. A candidate
// that fails to run (or is older than 3.8) is listed with its error, never dropped.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export type EnvironmentKind = 'setting' | 'venv' | 'conda' | 'python-extension' | 'pyenv' | 'path' | 'system';
const KIND_ORDER: readonly EnvironmentKind[] = ['setting', 'venv', 'conda', 'python-extension', 'pyenv', 'path', 'system'];

export interface Candidate {
  /** What to run (a path, or a command looked up on PATH for the setting). */
  python: string;
  kind: EnvironmentKind;
  /** A name the source gives it (a venv's folder, a conda env's name, the Python extension's). */
  name?: string;
}

export interface PythonEnvironment {
  /** Stable across refreshes and windows: derived from the path it runs as. */
  id: string;
  /** The executable to run: the interpreter's own sys.executable (a venv's bin/python). */
  python: string;
  version?: string;
  prefix?: string;
  /** Display name: `.venv`, `pyenv 3.11.7`, `conda: base`, `Python 3.11.2 (/usr/bin)`. */
  name: string;
  kind: EnvironmentKind;
  /** Every source that found it (after merging duplicates). */
  sources: EnvironmentKind[];
  /** Why it cannot run pyctx (missing, broken, too old); listed anyway. */
  error?: string;
}

export interface DiscoveryInput {
  home: string;
  /** PATH to search for python3/python. */
  pathEnv?: string;
  workspaceFolders?: readonly string[];
  /** `pyctx.python`, when set. */
  configured?: string;
  /** The Python extension's known environments. */
  extra?: readonly Candidate[];
  /** PYENV_ROOT (default ~/.pyenv). */
  pyenvRoot?: string;
  /** Well-known system interpreters to look at (default /usr/bin/python3, /usr/local/bin/python3). */
  systemPaths?: readonly string[];
  probeTimeoutMs?: number;
}

const PROBE_CONCURRENCY = 4;
export const MIN_VERSION: readonly [number, number] = [3, 8];
const IS_WIN = process.platform === 'win32';
const BIN = IS_WIN ? 'Scripts' : 'bin';

/** An environment's id from the path it runs as. */
export function environmentId(python: string): string {
  return createHash('sha256').update(python).digest('hex').slice(0, 12);
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch { return false; }
}

/** The first `name` on PATH, as the shell would run it. */
export function which(name: string, pathEnv: string): string | undefined {
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, IS_WIN ? `${name}.exe` : name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** The interpreter inside an environment folder (a venv or conda prefix); the path even if it is missing. */
export function interpreterIn(prefix: string): string {
  const names = IS_WIN ? ['python.exe'] : ['python', 'python3'];
  const dirs = IS_WIN ? [path.join(prefix, 'Scripts'), prefix] : [path.join(prefix, BIN)];
  for (const d of dirs) for (const n of names) if (existsSync(path.join(d, n))) return path.join(d, n);
  return path.join(dirs[0], names[0]);
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter(d => d.isDirectory() || d.isSymbolicLink()).map(d => path.join(dir, d.name)).sort();
  } catch { return []; }
}

/** Every candidate, cheap (the file system only), in source order. */
export function findCandidates(input: DiscoveryInput): Candidate[] {
  const out: Candidate[] = [];
  if (input.configured?.trim()) {
    const c = input.configured.trim();
    const resolved = c.includes('/') || c.includes('\\') ? c : which(c, input.pathEnv ?? '') ?? c;
    out.push({ python: resolved, kind: 'setting' });
  }
  const folders = input.workspaceFolders ?? [];
  for (const folder of folders) {
    for (const dir of listDirs(folder)) {
      if (!existsSync(path.join(dir, 'pyvenv.cfg'))) continue;
      const name = folders.length > 1 ? `${path.basename(dir)} (${path.basename(folder)})` : path.basename(dir);
      out.push({ python: interpreterIn(dir), kind: 'venv', name });
    }
  }
  try {
    const txt = readFileSync(path.join(input.home, '.conda', 'environments.txt'), 'utf8');
    for (const line of txt.split(/\r?\n/).map(l => l.trim()).filter(Boolean)) {
      const isEnv = path.basename(path.dirname(line)) === 'envs';
      out.push({ python: interpreterIn(line), kind: 'conda', name: `conda: ${isEnv ? path.basename(line) : 'base'}` });
    }
  } catch { /* no conda */ }
  out.push(...(input.extra ?? []));
  const pyenvRoot = input.pyenvRoot ?? path.join(input.home, '.pyenv');
  for (const dir of listDirs(path.join(pyenvRoot, 'versions'))) {
    const python = [path.join(dir, BIN, 'python3'), path.join(dir, BIN, 'python')].find(isExecutable);
    if (python) out.push({ python, kind: 'pyenv', name: `pyenv ${path.basename(dir)}` });
  }
  for (const name of ['python3', 'python']) {
    const found = which(name, input.pathEnv ?? '');
    if (found) out.push({ python: found, kind: 'path' });
  }
  const system = input.systemPaths ?? (IS_WIN ? [] : ['/usr/bin/python3', '/usr/local/bin/python3']);
  for (const p of system) if (isExecutable(p)) out.push({ python: p, kind: 'system' });
  return out;
}

export interface Probe { executable: string; version: string; prefix: string; error?: string }

const PROBE = 'import sys, platform; print(sys.executable); print(platform.python_version()); print(sys.prefix)';

/** Runs the candidate once: its sys.executable, version and prefix, or why it cannot run. */
export function probe(python: string, timeoutMs = 60_000): Promise<Probe | { error: string }> {
  return new Promise(resolve => {
    execFile(python, ['-c', PROBE], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      const lines = String(stdout).trim().split(/\r?\n/);
      if (err || lines.length < 3 || !lines[0]) {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        const why = e?.code === 'ENOENT' ? `${python} does not exist (or its base interpreter is gone)`
          : e?.code === 'EACCES' ? `${python} is not executable`
          : e?.killed ? `${python} did not answer within ${Math.round(timeoutMs / 1000)} s`
          : `${python} failed to run: ${String(stderr).trim().split('\n').pop() || e?.message || 'no output'}`;
        resolve({ error: why });
        return;
      }
      const [executable, version, prefix] = lines;
      const [maj, min] = version.split('.').map(Number);
      const old = maj < MIN_VERSION[0] || (maj === MIN_VERSION[0] && min < MIN_VERSION[1]);
      resolve({ executable, version, prefix, ...(old ? { error: `Python ${version} is too old: pyctx needs Python ${MIN_VERSION.join('.')} or newer` } : {}) });
    });
  });
}

function realOr(p: string): string {
  try { return realpathSync(p); } catch { return p; }
}

function nameFor(kind: EnvironmentKind, given: string | undefined, run: string, version: string | undefined): string {
  if (given) return given;
  const v = version ? `Python ${version}` : path.basename(run);
  return kind === 'setting' ? `${v} (pyctx.python)` : `${v} (${path.dirname(run)})`;
}

/** Discovers, probes and merges. `defaultPython` (a command or path; default python3, then
 *  python on PATH) names the default environment: `defaultId` is the one it runs as. */
export async function discoverEnvironments(input: DiscoveryInput, defaultPython?: string): Promise<{ environments: PythonEnvironment[]; defaultId?: string }> {
  const candidates = findCandidates(input);
  const defaultCandidate = defaultPython?.trim()
    ? (defaultPython.includes('/') || defaultPython.includes('\\') ? defaultPython : which(defaultPython, input.pathEnv ?? '') ?? defaultPython)
    : candidates.find(c => c.kind === 'path')?.python;
  // The default may come from nowhere else (the Python extension's active interpreter): list it too.
  if (defaultCandidate && !candidates.some(c => c.python === defaultCandidate)) candidates.push({ python: defaultCandidate, kind: 'path' });
  // Probe each distinct path once, all at once.
  const paths = [...new Set(candidates.map(c => c.python))];
  const probes = new Map<string, Probe | { error: string }>();
  // A few at a time: a dozen interpreters starting at once on a busy machine time out together.
  const queue = [...paths];
  await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, queue.length) }, async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) probes.set(p, await probe(p, input.probeTimeoutMs));
  }));

  const byKey = new Map<string, PythonEnvironment>();
  const keyOfPath = new Map<string, string>();
  const sorted = [...candidates].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  for (const c of sorted) {
    const p = probes.get(c.python)!;
    const run = 'executable' in p ? p.executable : c.python;
    const key = 'executable' in p ? `${realOr(p.executable)}\0${p.prefix}` : `missing\0${c.python}`;
    keyOfPath.set(c.python, key);
    const existing = byKey.get(key);
    if (existing) {
      if (!existing.sources.includes(c.kind)) existing.sources.push(c.kind);
      continue;
    }
    const version = 'version' in p ? p.version : undefined;
    byKey.set(key, {
      id: environmentId(run), python: run, version, prefix: 'prefix' in p ? p.prefix : undefined,
      name: nameFor(c.kind, c.name, run, version), kind: c.kind, sources: [c.kind], ...(p.error ? { error: p.error } : {}),
    });
  }
  const defaultKey = defaultCandidate ? keyOfPath.get(defaultCandidate) : undefined;
  const defaultId = defaultKey ? byKey.get(defaultKey)?.id : undefined;
  return { environments: [...byKey.values()].sort(pickerOrder), defaultId };
}

/** The order environments are listed in (api.environments.list(), controllers' creation;
 *  VS Code's kernel picker sorts by label itself): those that can run first, by source
 *  (workspace venvs before pyenv's before the system's), newest Python first within a
 *  source; those that cannot (too old, missing) last. */
function pickerOrder(a: PythonEnvironment, b: PythonEnvironment): number {
  return Number(a.error !== undefined) - Number(b.error !== undefined)
    || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind)
    || compareVersions(b.version, a.version);
}

function compareVersions(a: string | undefined, b: string | undefined): number {
  const pa = (a ?? '').split('.').map(Number), pb = (b ?? '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d) return d;
  }
  return 0;
}
