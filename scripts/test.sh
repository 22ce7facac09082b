#!/usr/bin/env bash
# The project's one test command (`npm test`): builds, then runs every suite in
# order of cost — Python worker unittests (both codecs), typecheck, Node tests
# against real workers, the stress suite (crash storm, floods, malformed input;
# prints its figures), workers on a cluster (Slurm and ssh on 127.0.0.1, as root),
# and the integration suite inside a real VS Code with its click-through UI tests
# (test/ui/, playwright on code-server; scripts/test-vscode.sh runs both).
# Set PYCTX_SKIP_VSCODE=1 to leave out the editor suite while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== build";            npm run --silent build
echo "== python unittests"; bash scripts/test-python.sh
echo "== typecheck";        npm run --silent typecheck
echo "== node tests";       npm run --silent test:unit
echo "== stress";           npm run --silent test:stress
echo "== cluster tests";    bash scripts/test-cluster.sh
if [ "${PYCTX_SKIP_VSCODE:-}" != 1 ]; then
  echo "== vscode tests";   bash scripts/test-vscode.sh
fi
