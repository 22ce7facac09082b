#!/usr/bin/env bash
# `npm run bench:vscode`: the editor benchmarks in one real VS Code run (code-server,
# or desktop VS Code with VSCODE_EXECUTABLE):
#   test/vscode/bench-latency.test.ts       pyctx against VS Code's own floor (a no-op
#                                           controller), interleaved, medians + differences
#   test/vscode/bench-first-result.test.ts  time to first result, pyctx vs ipykernel
# PYCTX_BENCH_LATENCY_RUNS=N (default 21) and PYCTX_BENCH_RUNS=N (default 7) set the runs;
# PYCTX_VSCODE_IPYTHON=auto measures IPython mode (python3 on PATH has IPython here).
set -euo pipefail
cd "$(dirname "$0")/.."
PYCTX_BENCH=1 PYCTX_TEST_FILES="${PYCTX_TEST_FILES:-bench-latency,bench-first-result}" exec bash scripts/test-vscode.sh --dev "$@"
