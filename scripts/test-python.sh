#!/usr/bin/env bash
# Worker unittests on both codec paths: the pure-Python codec (python3 on PATH,
# no msgpack) and the C msgpack package (Debian's /usr/bin/python3 + python3-msgpack).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
for py in python3 /usr/bin/python3; do
  command -v "$py" >/dev/null || { echo "skip: $py not found"; continue; }
  echo "-- $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
  if PYTHONPATH=python "$py" -m unittest discover -s test/python -p 'test_*.py' >"$log" 2>&1; then
    tail -n 3 "$log"
  else
    cat "$log"; rm -f "$log"; exit 1
  fi
done
rm -f "$log"
