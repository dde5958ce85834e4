#!/usr/bin/env bash
# Two builds of aisle-fs side by side against one node, alternating run by run, to tell a
# regression from noise after a change: sequential read of a BIG_MB object through a fresh mount
# by default, with -o direct_io (local reads, the node being on this host) and over HTTP with
# -o direct_io. Prints every run and the medians per build and mode. Builds nothing.
# Usage: bench/compare-fs-builds.sh DIR_A DIR_B   (each holding aisle-fs; the node from DIR_B)
# Environment: RUNS (8), BIG_MB (1024), BENCH_DIR (/var/tmp)
set -euo pipefail
A=${1:?usage: compare-fs-builds.sh DIR_A DIR_B}
B=${2:?usage: compare-fs-builds.sh DIR_A DIR_B}
RUNS=${RUNS:-8}
BIG_MB=${BIG_MB:-1024}
PY=/usr/bin/python3
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/aisle-compare-fs.XXXXXX")
MNT=$W/mnt
NODE_PID="" FS_PID=""
# shellcheck source=bench/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
cleanup() {
  unmount_fuse FS_PID
  [[ -n "$NODE_PID" ]] && stop_pid "$NODE_PID"
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
mkdir -p "$W/mp" "$MNT"
"$B/aisle-node" --role target --port 0 --host 127.0.0.1 --mountpath "$W/mp" \
  --ready-file "$W/ready" >"$W/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do [[ -s "$W/ready" ]] && break; sleep 0.1; done
URL=$(cat "$W/ready")
curl -sf -X POST "$URL/v1/buckets/b" -d '{"action":"create-bck"}' >/dev/null
head -c $((BIG_MB << 20)) /dev/urandom >"$W/big"
curl -sf -X PUT -T "$W/big" "$URL/v1/objects/b/big" >/dev/null
rm -f "$W/big"
curl -sf -o /dev/null "$URL/v1/objects/b/big"  # warm the node's page cache
: >"$W/times"
for r in $(seq "$RUNS"); do
  for dir in "$A" "$B"; do
    for mode in default direct_io local_reads=off,direct_io; do
      opts=()
      [[ "$mode" != default ]] && opts=(-o "$mode")
      "$dir/aisle-fs" "$URL" "$MNT" -f "${opts[@]}" >"$W/fs.log" 2>&1 &
      FS_PID=$!
      for _ in $(seq 100); do is_mounted && break; sleep 0.05; done
      t0=$(now); dd if="$MNT/b/big" of=/dev/null bs=1M status=none; t1=$(now)
      echo "$dir $mode $(elapsed "$t0" "$t1")" | tee -a "$W/times"
      unmount_fuse FS_PID
    done
  done
done
$PY - "$W/times" <<'PYEOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    d, mode, t = line.split()
    runs[(mode, d)].append(float(t))
for (mode, d), ts in sorted(runs.items()):
    print("%-28s %-30s median %.4f s (%.4f-%.4f), %d runs" % (mode, d, statistics.median(ts), min(ts), max(ts), len(ts)))
PYEOF
