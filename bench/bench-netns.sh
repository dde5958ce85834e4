#!/usr/bin/env bash
# Multi-host benchmark in network namespaces (issue #17; needs root): 1 proxy + 4 targets and a
# client, each in its own namespace on a bridge (tests/integration/netns_lib.py), nodes started
# from JSON configs as the systemd units start them, the proxy's and every target's link capped
# with tbf at RATE bytes/s each way (the client's not).
#   1. Aggregate GET throughput from the client namespace: the objects of 1 target vs those of
#      all 4, fetched at once through the proxy (curl -L). Object bytes go from the owner
#      straight to the client, so 4 capped links should give ~4x. Target >= 3.6x.
#   2. Sequential read of one BIG_MB object from the client namespace: aisle-fs with
#      -o direct_io (dd bs=1M, a fresh mount per run) vs curl -L. Target >= 0.9x.
# Medians over RUNS runs. Removes every namespace, process and mount it made, also on failure.
# Prints a table and writes bench/results/netns-<date>.md. Builds nothing.
#
# Environment: AISLE_NODE_BIN (build/server/aisle-node), AISLE_FS_BIN (build/fs/aisle-fs),
#   RATE (52428800 = 50 MiB/s), RUNS (5), OBJ_MB (32), OBJS_PER_TARGET (4), BIG_MB (256)
set -euo pipefail
cd "$(dirname "$0")/.."
export AISLE_NODE_BIN="${AISLE_NODE_BIN:-$PWD/build/server/aisle-node}"
export AISLE_FS_BIN="${AISLE_FS_BIN:-$PWD/build/fs/aisle-fs}"
die() { echo "bench-netns: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (network namespaces)"
[[ -x "$AISLE_NODE_BIN" ]] || die "aisle-node not found at $AISLE_NODE_BIN (set AISLE_NODE_BIN)"
[[ -x "$AISLE_FS_BIN" ]] || die "aisle-fs not found at $AISLE_FS_BIN (set AISLE_FS_BIN)"
command -v curl >/dev/null || die "curl missing"
mkdir -p bench/results
out="bench/results/netns-$(date -u +%F).md"
/usr/bin/python3 bench/bench_netns.py | tee "$out"
echo "(written to $out)"
