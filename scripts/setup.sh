#!/usr/bin/env bash
# Sets up a fresh machine: Debian packages (when root), npm dependencies, the build.
# Debian packages: python3-msgpack (C codec for /usr/bin/python3), python3-jedi
# (live completions), python3-matplotlib (inline plots), jupyter-nbconvert +
# python3-ipykernel + python3-jupyter-client (the Jupyter baseline for equivalence
# tests and benchmarks), chromium + libkrb5-dev (the real-VS-Code test harness).
# The real VS Code itself (code-server) is installed on first use by scripts/test-vscode.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(python3-msgpack python3-jedi python3-matplotlib jupyter-nbconvert python3-ipykernel
      python3-jupyter-client python3-nbformat chromium libkrb5-dev)
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
# `npm install`, not `npm ci`: npm 11 writes lock files without the other platforms'
# optional packages (msgpackr-extract), which `npm ci` then rejects as out of sync.
# With the lock file present, `npm install` installs exactly the locked versions.
echo "setup: npm install"
npm install --no-audit --no-fund --loglevel=error
echo "setup: build"
npm run --silent build
