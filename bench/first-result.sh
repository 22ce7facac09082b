#!/usr/bin/env bash
# Time to first result in the real VS Code, pyctx vs ipykernel (jupyter_client),
# measured in the same run: runs test/vscode/bench-first-result.test.ts inside the
# integration harness (code-server, or desktop VS Code with VSCODE_EXECUTABLE) and
# prints the medians. PYCTX_BENCH_RUNS=N changes the number of runs (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
PYCTX_BENCH=1 PYCTX_TEST_FILES=bench-first-result exec bash scripts/test-vscode.sh --dev "$@"
