#!/usr/bin/env bash
# The integration suite inside a real VS Code (test/vscode/, run by `npm test`).
#
#   scripts/test-vscode.sh           full suite on the dev folder, then the activation
#                                    tests against the packaged .vsix installed into VS Code
#   scripts/test-vscode.sh --dev     full suite on the dev folder, then the click-through UI
#                                    tests (test/ui/, pyctx installed, playwright; PYCTX_UI_TESTS=0 skips)
#   scripts/test-vscode.sh --vsix    package, install the .vsix, run the activation tests
#   ... -- ARGS                      ARGS go to the runner (--verbose, --timeout S, --screenshot F)
#
# Runner: desktop VS Code through @vscode/test-electron when VSCODE_EXECUTABLE is set
# (needs a display, e.g. xvfb-run); otherwise code-server + Debian chromium, installed
# once into .vscode-test/real-vscode (scripts/vscode/install.sh).
# Env: PYCTX_TEST_FILES / PYCTX_TEST_GREP filter the suite; PYCTX_VSCODE_KEEP=1 keeps
# run dirs (logs, user data) even when the run passed.
#
# Each run lives in its own temp dir (user data, extensions, TMPDIR, workspace copy).
# After a run, `ps` must show no process of it (code-server, chromium, extension host,
# pool server, Python workers): leftovers are listed, killed, and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
runner_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) mode=dev ;;
    --vsix) mode=vsix ;;
    --all) mode=all ;;
    --) shift; runner_args=("$@"); break ;;
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
  esac
  shift
done

# Build when a source is newer than the bundles (npm test has just built).
if [ ! -f dist/extension.js ] || [ ! -f dist/test/vscode/index.js ] \
   || [ -n "$(find src test/vscode python package.json -newer dist/test/vscode/index.js -type f ! -name '*.pyc' -print -quit)" ]; then
  echo "vscode: building"; node scripts/build.mjs
fi

if [ -n "${VSCODE_EXECUTABLE:-}" ]; then
  runner=(node scripts/vscode/run-electron.mjs)
  echo "vscode: desktop VS Code $VSCODE_EXECUTABLE (@vscode/test-electron)"
else
  bash scripts/vscode/install.sh
  runner=(node scripts/vscode/run-tests.mjs)
fi

# Processes of run dir $1 still alive: their environment (PYCTX_VSCODE_RUN, TMPDIR),
# command line or working directory points into it. ps output goes to a file first,
# so the search itself is not listed.
leftovers() {
  local snap; snap="$(mktemp)"
  ps axeww -o pid=,args= > "$snap"
  { grep -F -- "$1" "$snap" | awk '{print $1}'
    for p in /proc/[0-9]*; do
      case "$(readlink "$p/cwd" 2>/dev/null)" in "$1"|"$1"/*) echo "${p#/proc/}" ;; esac
    done
  } | sort -un | grep -vx "$$" || true
  rm -f "$snap"
}

# ps check: wait up to 10 s for the run's processes to go (workers exit when their
# pipes close), then report and kill what is left.
check_processes() {
  local run="$1" pids deadline=$((SECONDS + 10))
  while :; do
    pids="$(leftovers "$run")"
    [ -z "$pids" ] && { echo "vscode: ps check: no process of the run left"; return 0; }
    [ $SECONDS -lt $deadline ] || break
    sleep 0.5
  done
  echo "vscode: ps check FAILED: processes of the run still alive:" >&2
  # shellcheck disable=SC2086
  ps -o pid,ppid,pgid,etime,args -p "$(echo $pids | tr ' ' ,)" >&2 || true
  for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  return 1
}

# Fixture notebooks are copied into each run's workspace and never written: their
# checksums must be the same after the runs.
fixture_sums() { find test/fixtures/vscode -type f -print0 | sort -z | xargs -0 sha1sum; }
fixtures_before="$(fixture_sums)"

status=0
run_suite() {  # $1 = label, rest = runner arguments
  local label="$1"; shift
  local run; run="$(mktemp -d "${TMPDIR:-/tmp}/pyctx-vscode.XXXXXX")"
  local t0=$SECONDS rc=0
  echo "== vscode tests: $label (run dir $run)"
  # The runner gets its own process group (set -m), killed as a whole at the end;
  # code-server and chromium run in groups of their own, which the runner ends.
  set -m
  "${runner[@]}" --run-dir "$run" "$@" ${runner_args[@]+"${runner_args[@]}"} &
  local pid=$!
  set +m
  trap 'kill -TERM -- -'"$pid"' 2>/dev/null' INT TERM
  wait "$pid" || rc=$?
  trap - INT TERM
  kill -KILL -- -"$pid" 2>/dev/null || true
  check_processes "$run" || rc=1
  echo "vscode: $label: $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
  if [ $rc != 0 ] || [ "${PYCTX_VSCODE_KEEP:-}" = 1 ]; then
    echo "vscode: logs kept in $run (code-server.log, user/logs/)"
  else
    rm -rf "$run"
  fi
  [ $rc = 0 ] || status=1
}

# Click-through UI tests (test/ui/): pyctx installed as users have it, notifications and
# dialogs shown, driven by playwright; `npm start` is started and stopped there too.
run_ui() {
  local t0=$SECONDS rc=0 files=()
  for f in test/ui/*.test.mjs; do
    if [ -z "${PYCTX_TEST_FILES:-}" ] || [[ ",${PYCTX_TEST_FILES}," == *",ui,"* ]] || [[ "$f" == *"${PYCTX_TEST_FILES}"* ]]; then files+=("$f"); fi
  done
  [ ${#files[@]} -gt 0 ] || return 0
  # PYCTX_UI_TESTS=0 skips them (a quick local run); npm test and CI run them.
  if [ "${PYCTX_UI_TESTS:-}" = 0 ]; then echo "vscode: UI tests (test/ui/) skipped: PYCTX_UI_TESTS=0"; return 0; fi
  echo "== vscode UI tests: ${files[*]}"
  node --test --test-concurrency=1 --test-timeout=1500000 "${files[@]}" || rc=$?
  echo "vscode: UI tests: $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
  [ $rc = 0 ] || status=1
}

# Whether PYCTX_TEST_FILES (if set) names some test/vscode file.
has_vscode_tests() {
  [ -z "${PYCTX_TEST_FILES:-}" ] && return 0
  local x
  for x in ${PYCTX_TEST_FILES//,/ }; do ls test/vscode/*.test.ts | grep -q -- "$x" && return 0; done
  return 1
}

if [ "$mode" != vsix ]; then
  if has_vscode_tests; then run_suite "dev folder"; fi
  run_ui
fi
if [ "$mode" != dev ]; then
  pkg="$(mktemp -d "${TMPDIR:-/tmp}/pyctx-vsix.XXXXXX")"
  t0=$SECONDS
  npx --no-install vsce package --out "$pkg/pyctx.vsix" > "$pkg/vsce.log" 2>&1 \
    || { cat "$pkg/vsce.log" >&2; rm -rf "$pkg"; echo "vscode: vsce package failed" >&2; exit 1; }
  echo "vscode: packaged pyctx.vsix ($(du -k "$pkg/pyctx.vsix" | cut -f1) KB, $(python3 -c "import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$pkg/pyctx.vsix") files) in $((SECONDS - t0)) s"
  PYCTX_TEST_FILES="${PYCTX_TEST_FILES:-activation}" run_suite "installed vsix" --vsix "$pkg/pyctx.vsix"
  rm -rf "$pkg"
fi
if [ "$(fixture_sums)" != "$fixtures_before" ]; then
  echo "vscode: FAILED: a run modified test/fixtures/vscode (tests must use the workspace copy)" >&2
  status=1
fi
exit $status
