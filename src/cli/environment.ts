// Which interpreter `pyctx run` uses for a notebook: --python (or PYCTX_PYTHON) when
// given; else the environment the notebook recorded in VS Code (metadata.pyctx.python,
// written by src/kernel/persistence.ts); else the pool's default (python3, then
// python). Notebooks are grouped so each interpreter gets one pool. A recorded
// interpreter that is gone is bad input (exit 3), said in plain words before any
// Python starts, not silently replaced by another Python.
import { existsSync } from 'node:fs';
import { CliError } from './errors';
import type { Notebook } from './nbformat';

/** The interpreter a notebook recorded, if any. */
export function recordedPython(nb: Notebook): string | undefined {
  const r = (nb.metadata?.pyctx ?? undefined) as { python?: unknown } | undefined;
  return typeof r?.python === 'string' && r.python ? r.python : undefined;
}

/** Jobs grouped by the interpreter to run them with (undefined: the default). */
export function groupByPython<J extends { input: string; notebook: Notebook }>(jobs: J[], explicit: string | undefined): Map<string | undefined, J[]> {
  const groups = new Map<string | undefined, J[]>();
  for (const job of jobs) {
    const python = explicit ?? recordedPython(job.notebook);
    if (!explicit && python && !existsSync(python)) {
      throw new CliError('python_not_found',
        `${job.input} records the Python environment ${python}, which no longer exists; recreate it, or pass --python to run with another interpreter`);
    }
    groups.set(python, [...(groups.get(python) ?? []), job]);
  }
  return groups;
}
