#!/usr/bin/env bash
# Sets up a fresh machine: Debian packages (when root), npm dependencies, the build.
# Debian packages: python3-msgpack (C codec for /usr/bin/python3), python3-jedi
# (live completions), python3-matplotlib (inline plots), jupyter-nbconvert +
# python3-ipykernel + python3-jupyter-client (the Jupyter baseline for equivalence
# tests and benchmarks), python3-sympy (a conformance notebook prints with sympy),
# chromium + libkrb5-dev (the real-VS-Code test harness).
# The real VS Code itself (code-server) is installed on first use by scripts/test-vscode.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(python3-msgpack python3-jedi python3-matplotlib jupyter-nbconvert python3-ipykernel
      python3-jupyter-client python3-nbformat python3-sympy chromium libkrb5-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (install as root): ${missing[*]}" >&2
  fi
fi
# `npm ci`: exactly the committed package-lock.json, which is never rewritten (CI
# checks the tree is clean after setup). The lock file lists every platform's
# optional packages (msgpackr-extract); after changing dependencies run
# `npm install` on a fresh clone and commit the lock file it writes.
echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "setup: build"
npm run --silent build
