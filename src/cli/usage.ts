// Help text of the `pyctx` command line (kept apart so main.ts stays about control flow).

export const USAGE = `pyctx — run Python notebooks and code on a warm worker pool

Usage:
  pyctx run NOTEBOOK.ipynb... [-o OUT.ipynb | --inplace] [-j N] [--allow-errors]
            [--timeout S] [--max-output-bytes N] [--python P] [--preload mod,...]
            [--memory-limit MB] [--ipython auto|off] [--launcher CMD] [--progress]
            [-p NAME VALUE]... [-f PARAMS.json]
  pyctx exec CODE | -          run statements in a fresh context ("-" reads stdin)
  pyctx eval EXPR              evaluate one expression, print its value as JSON
  pyctx stats [--json]         start a pool and print its statistics
  pyctx bench [--runs N] [--cells N] [--all]
                               pyctx run vs jupyter nbconvert --execute on a
                               generated notebook of small cells (median, ratio);
                               --all: the whole npm run bench suite (source checkout)

Options:
  -o, --output FILE   where the executed notebook goes (one notebook only);
                      default NAME.executed.ipynb next to the input
  --inplace           overwrite the input notebook
  -j, --jobs N        notebooks run in parallel on one pool, one context each (default 1)
  --allow-errors      keep running after a cell raises (exit 0 if nothing else failed);
                      without it, only cells tagged raises-exception may raise.
                      Cells tagged skip-execution are not run
  -p, --parameters NAME VALUE  a notebook parameter, as papermill: VALUE is a Python
                      literal where it parses as one (3, 0.5, True, None, [1, 2],
                      'x'), else a string; repeatable. Injected as a cell tagged
                      injected-parameters after the cell tagged parameters (or first)
  -f, --parameters-file FILE  parameters from a JSON object (-p wins on a name)
  --timeout S         per-cell time limit in seconds; the cell is interrupted
  --max-output-bytes N  per-cell output kept, in bytes (default 4194304 = 4 MiB;
                      0 = no limit); past it output is dropped with a note and
                      the cell runs on
  --python P          interpreter (default: $PYCTX_PYTHON, then python3, then python)
  --preload a,b       modules imported into workers before they are handed out
  --memory-limit MB   address-space cap per worker (at least 128): a runaway
                      allocation is a MemoryError in its cell, not a killed worker
  --ipython auto|off  auto (default): cells run through the interpreter's IPython
                      shell when it has IPython >= 7 (magics, tracebacks, get_ipython()
                      as in Jupyter); off: pyctx's built-in layer
  --launcher CMD      start each worker through CMD, e.g. "srun --unbuffered -N1 -n1"
                      or "ssh node7" (split like a shell would; see docs/cluster.md)
  --progress          print the per-cell progress line even when stderr is not a terminal
  -h, --help          this text;  --version  the version

Exit status: 0 ok, 1 a cell failed (error, timeout, dead worker), 2 bad usage or
input file, 3 no usable Python, 130 interrupted (Ctrl-C; what ran is written).
`;
