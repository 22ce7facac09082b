// `pyctx stats`: the figures of a freshly started pool (numWorkers, availableWorkers,
// checkedOut, pendingRequests, per-worker pid/state/memory), the interpreter and the
// wire codec it uses, and the layer running cells (IPython's shell or the built-in one). `--json` prints one JSON object for machines.
import type { Pool } from '../pool';
import { Exit } from './errors';

export async function statsCommand(pool: Pool, json: boolean): Promise<number> {
  const s = pool.stats();
  const info = {
    numWorkers: s.numWorkers,
    availableWorkers: s.availableWorkers,
    checkedOut: s.checkedOut,
    pendingRequests: s.pendingRequests,
    python: pool.python,
    pythonVersion: pool.pythonVersion,
    codec: pool.codec,
    shell: pool.shell,
    ipythonVersion: pool.ipythonVersion,
    shellNote: pool.shellNote,
    workers: s.workers,
  };
  if (json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return Exit.ok;
  }
  const rows: Array<[string, string]> = [
    ['numWorkers', String(info.numWorkers)],
    ['availableWorkers', String(info.availableWorkers)],
    ['checkedOut', String(info.checkedOut)],
    ['pendingRequests', String(info.pendingRequests)],
    ['interpreter', `${info.python} (Python ${info.pythonVersion})`],
    ['codec', String(info.codec)],
    ['cells', info.shell === 'ipython' ? `IPython ${info.ipythonVersion} shell`
      : `built-in layer${info.shellNote ? ` (${info.shellNote})` : ''}`],
  ];
  const w = Math.max(...rows.map(r => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
  for (const wk of s.workers) {
    process.stdout.write(`  worker pid ${wk.pid}  ${wk.state.padEnd(8)}  ${(wk.rssBytes / 1048576).toFixed(1)} MiB  owner ${wk.owner ?? '-'}\n`);
  }
  return Exit.ok;
}
