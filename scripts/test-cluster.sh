#!/usr/bin/env bash
# Cluster suite (test/cluster/): workers launched through srun on a single-node Slurm
# (../shared/recipes/slurm: Debian packages, daemons on 127.0.0.1, no systemd) and
# through ssh to an sshd the tests start on 127.0.0.1 with keys they make. Installs
# what it needs (slurm packages via up.sh, openssh-server/-client here), brings Slurm
# up, runs the tests, and always tears Slurm down — also when a test fails.
# Needs root (daemons, apt); elsewhere it says so and skips. With SLURM_CONF set to a
# cluster that answers `sinfo`, that cluster is used as is (iterating locally).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname)" != Linux ] || [ "$(id -u)" != 0 ]; then
  echo "cluster tests skipped: they need root on Linux (slurm daemons, sshd)" >&2
  exit 0
fi
need=()
for p in openssh-server openssh-client; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
recipe="../shared/recipes/slurm"
if [ -n "${SLURM_CONF:-}" ] && sinfo -h >/dev/null 2>&1; then
  echo "cluster tests: using the running cluster of $SLURM_CONF"
else
  dir="$(mktemp -d /tmp/pyctx-slurm.XXXXXX)"
  trap 'bash "$recipe/down.sh" "$dir"; rm -rf "$dir"' EXIT
  eval "$(bash "$recipe/up.sh" "$dir" | tail -1)"
  export SLURM_CONF
fi
node --import tsx --test --test-concurrency=1 test/cluster/*.test.ts
