#!/usr/bin/env bash
# Integrity benchmark (docs/BENCHMARKS.md "Checksum validation and scrub"):
#   1. wrk GETs of one object on a standalone target, validation off vs on (--validate-get),
#      for a 1 MiB and a 10 KiB object: median of RUNS runs each, and the ratio on/off.
#   2. The scrub job's read rate vs dd's sequential read of the same object files, each with
#      the page cache dropped first (echo 3 > /proc/sys/vm/drop_caches; where that is refused,
#      posix_fadvise(DONTNEED) on every file), and the ratio scrub/dd.
# Writes bench/results/validate-<date>.md. Builds nothing; stops the node on exit.
#
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), BENCH_DIR (/var/tmp),
#   RUNS (3), DURATION (8 s per wrk run), CONNS (16), SCRUB_MB (1024), KEEP_DATA (0)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
RUNS="${RUNS:-3}" DURATION="${DURATION:-8}" CONNS="${CONNS:-16}" SCRUB_MB="${SCRUB_MB:-1024}"
CMDLINE="RUNS=$RUNS DURATION=$DURATION CONNS=$CONNS SCRUB_MB=$SCRUB_MB bench/bench-validate.sh"

die() { echo "bench-validate: $*" >&2; exit 1; }
[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
for tool in curl wrk dd python3; do command -v "$tool" >/dev/null || die "$tool missing"; done

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-validate.XXXXXX")"
NODE_PID=""
stop_node() {
  if [[ -n "$NODE_PID" ]] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  NODE_PID=""
}
cleanup() {
  stop_node
  [[ "${KEEP_DATA:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
echo "bench-validate: work dir $WORK" >&2

# start_node [FLAGS...]: a standalone target on $WORK/mp; sets URL.
start_node() {
  local ready="$WORK/ready-$RANDOM"
  "$NODE_BIN" --role target --port 0 --host 127.0.0.1 --mountpath "$WORK/mp" \
    --ready-file "$ready" "$@" >>"$WORK/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 500); do [[ -s "$ready" ]] && break; sleep 0.02; done
  [[ -s "$ready" ]] || die "node did not start; log: $(tail -5 "$WORK/node.log")"
  URL="$(cat "$ready")"
}

# Requests/s of wrk GETs of one URL: median of RUNS runs.
wrk_median() {
  local url="$1" rates=()
  for _ in $(seq "$RUNS"); do
    rates+=("$(wrk -t2 -c"$CONNS" -d"${DURATION}s" "$url" | awk '/Requests\/sec/ {print $2}')")
  done
  printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

drop_caches() {
  sync
  if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
    python3 - "$WORK/mp" <<'PY'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        fd = os.open(os.path.join(root, f), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
    DROP="posix_fadvise(DONTNEED) per file (drop_caches refused)"
  fi
}
DROP="echo 3 > /proc/sys/vm/drop_caches"

head -c $((1 << 20)) /dev/urandom >"$WORK/1m"
head -c $((10 << 10)) /dev/urandom >"$WORK/10k"
start_node
curl -fsS -X POST "$URL/v1/buckets/b" -d '{"action":"create-bck"}' >/dev/null
curl -fsS -X PUT "$URL/v1/objects/b/1m" --data-binary @"$WORK/1m" >/dev/null
curl -fsS -X PUT "$URL/v1/objects/b/10k" --data-binary @"$WORK/10k" >/dev/null
declare -A RATE
for mode in off on; do
  stop_node
  if [[ "$mode" == on ]]; then start_node --validate-get; else start_node; fi
  for obj in 1m 10k; do
    RATE[$mode-$obj]="$(wrk_median "$URL/v1/objects/b/$obj")"
    echo "bench-validate: GET $obj validation $mode: ${RATE[$mode-$obj]} req/s" >&2
  done
done

# Scrub: 64 MiB objects up to SCRUB_MB, random data.
N=$((SCRUB_MB / 64))
head -c $((64 << 20)) /dev/urandom >"$WORK/64m"
curl -fsS -X POST "$URL/v1/buckets/s" -d '{"action":"create-bck"}' >/dev/null
for i in $(seq "$N"); do
  curl -fsS -X PUT "$URL/v1/objects/s/o$i" --data-binary @"$WORK/64m" >/dev/null
done
drop_caches
t0=$(date +%s.%N)
ID="$(curl -fsS -X PUT "$URL/v1/cluster" \
  -d '{"action":"start","value":{"kind":"scrub","bck":{"name":"s"}}}')"
while :; do
  st="$(curl -fsS -X GET "$URL/v1/cluster?what=status" -d "{\"id\":\"$ID\"}")"
  [[ "$st" == *'"end_time":0'* ]] || break
  sleep 0.05
done
t1=$(date +%s.%N)
SCRUB_S="$(echo "$t1 - $t0" | bc -l)"
drop_caches
mapfile -t FILES < <(find "$WORK/mp/ais/s" -type f -size +1M)
t0=$(date +%s.%N)
for f in "${FILES[@]}"; do dd if="$f" of=/dev/null bs=1M status=none; done
t1=$(date +%s.%N)
DD_S="$(echo "$t1 - $t0" | bc -l)"
BYTES=$((N * 64 << 20))

CPU="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
python3 - "$REPO/bench/results/validate-$(date +%Y%m%d-%H%M%S).md" "$CPU" "$CMDLINE" "$DROP" \
  "${RATE[off-1m]}" "${RATE[on-1m]}" "${RATE[off-10k]}" "${RATE[on-10k]}" \
  "$BYTES" "$SCRUB_S" "$DD_S" "${#FILES[@]}" <<'PY'
import sys
out, cpu, cmd, drop, off1m, on1m, off10k, on10k, nbytes, scrub_s, dd_s, nfiles = sys.argv[1:]
off1m, on1m, off10k, on10k = map(float, (off1m, on1m, off10k, on10k))
mib = int(nbytes) / (1 << 20)
scrub_rate, dd_rate = mib / float(scrub_s), mib / float(dd_s)
text = f"""# Checksum validation and scrub

`{cmd}` on {cpu} ({__import__('os').cpu_count()} cores). One standalone target, loopback.

| wrk GET (req/s, median) | validation off | validation on | on/off |
|---|---|---|---|
| 1 MiB | {off1m:.0f} | {on1m:.0f} | {on1m / off1m:.2f}x |
| 10 KiB | {off10k:.0f} | {on10k:.0f} | {on10k / off10k:.2f}x |

| cold read of {mib:.0f} MiB ({nfiles} object files) | MiB/s |
|---|---|
| scrub job (unthrottled) | {scrub_rate:.0f} |
| dd bs=1M, file by file | {dd_rate:.0f} |
| scrub / dd | {scrub_rate / dd_rate:.2f}x |

Page cache dropped before each read with {drop}.
"""
open(out, "w").write(text)
print(text)
PY
