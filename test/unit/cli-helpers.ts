// Helpers for the CLI tests (not a test file itself): start `pyctx` as a real
// process from the TypeScript source (node + tsx loader, no build needed), make
// temporary notebooks, read results back. Every temp dir lives under os.tmpdir().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');

export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Starts the CLI; the caller owns the process. */
export function spawnCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): ChildProcess {
  const env = { ...process.env, ...opts.env };
  delete env.PYCTX_DEBUG;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: opts.cwd ?? os.tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(opts.input ?? '');
  return child;
}

/** Collects a started CLI's output until it exits (killed after `timeoutMs` so a hang fails the test). */
export function collect(child: ChildProcess, timeoutMs = 60000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', d => { stdout += d; });
  child.stderr?.setEncoding('utf8').on('data', d => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pyctx did not exit within ${timeoutMs} ms; stderr so far: ${stderr}`));
    }, timeoutMs);
    child.on('error', e => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return collect(spawnCli(args, opts), opts.timeoutMs);
}

export function makeTmp(prefix = 'pyctx-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes an nbformat 4.5 notebook whose code cells hold `sources` (a leading "md:" makes a markdown cell). */
export function writeNb(dir: string, name: string, sources: string[]): string {
  const cells = sources.map((s, i) => s.startsWith('md:')
    ? { cell_type: 'markdown', id: `m${i}`, metadata: {}, source: s.slice(3) }
    : { cell_type: 'code', id: `c${i}`, metadata: {}, source: s, outputs: [], execution_count: null });
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }, null, 1));
  return file;
}

export interface LoadedCell { cell_type: string; execution_count?: number | null; outputs?: any[]; source: string | string[]; id?: string }
export function readNb(file: string): { cells: LoadedCell[]; metadata: any } {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** A multi-line field (list of lines on disk) as one string. */
export const text = (v: unknown): string => (Array.isArray(v) ? v.join('') : String(v));

/** Lines of stderr without empty ones. */
export const lines = (s: string): string[] => s.split('\n').filter(l => l.trim() !== '');
