#!/usr/bin/env bash
# HA control plane (--etcd) vs embedded: failover time (kill -9 of the primary -> first bucket
# create via another proxy, median of ROUNDS=5), bucket creates/s and ETL registrations/s, and
# 10 KiB PUT/GET throughput through a proxy. 3 etcd members + 3 proxies + 3 targets on
# loopback; results as JSON on stdout (docs/BENCHMARKS.md "HA control plane").
# usage: bench/bench-etcd.sh [BUILD_DIR]   (env: ROUNDS, N_META, SECONDS_IO, THREADS)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
MNT=/nonexistent
source bench/bench-lib.sh
BUILD=${1:-build}
export AISLE_NODE_BIN=$PWD/$BUILD/server/aisle-node AISLE_CLI_BIN=$PWD/$BUILD/cli/aisle
[[ -x /usr/bin/etcd ]] || { echo "bench-etcd: needs /usr/bin/etcd (etcd-server)" >&2; exit 1; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')" >&2
$PY bench/bench_etcd.py
