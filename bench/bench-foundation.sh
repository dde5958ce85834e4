#!/usr/bin/env bash
# Foundation benchmarks (design.md §10), side by side in one run, on 127.0.0.1 only:
#   GET 1 MiB and 10 KiB objects: aisle-node vs nginx serving the same bytes from the same disk
#     (wrk -t2 -c32, RUNS alternating runs of DUR seconds each, median req/s and MB/s);
#   durable PUT of 1 MiB objects (sequential, one keep-alive connection) vs
#     fio sequential 1 MiB writes with fsync after each write, on the same disk.
# Builds nothing. Prints a table and writes bench/results/foundation-<date>.md.
#
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), BENCH_DIR (default /var/tmp),
#   DUR (10), RUNS (5), N_1M (64), N_10K (1000), PUT_MB (256), WRK_THREADS (2), WRK_CONNS (32)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
DUR="${DUR:-10}"
RUNS="${RUNS:-5}"
N_1M="${N_1M:-64}"
N_10K="${N_10K:-1000}"
PUT_MB="${PUT_MB:-256}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-32}"
PY=/usr/bin/python3
HELPER="$HERE/bench_helper.py"
CMDLINE="DUR=$DUR RUNS=$RUNS N_1M=$N_1M N_10K=$N_10K PUT_MB=$PUT_MB bench/bench-foundation.sh"

die() { echo "bench-foundation: $*" >&2; exit 1; }
# shellcheck source=bench/bench-lib.sh
source "$HERE/bench-lib.sh"

[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
for tool in nginx wrk fio; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] ||
    die "$tool missing: run $REPO/packaging/install-deps.sh --bench"
done
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench.XXXXXX")"
NODE_PID=""
NGINX_PID=""
cleanup() {
  local rc=$?
  for pid in $NGINX_PID $NODE_PID; do stop_pid "$pid" 0 50; done
  if [[ "${BENCH_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
echo "== starting aisle-node ($NODE_BIN), data in $WORK"
mkdir -p "$WORK/mp0" "$WORK/www" "$WORK/fio" "$WORK/nginx-tmp"
"$NODE_BIN" --role target --host 127.0.0.1 --port 0 --mountpath "$WORK/mp0" \
  --ready-file "$WORK/node.url" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 200); do
  [[ -s "$WORK/node.url" ]] && break
  kill -0 "$NODE_PID" 2>/dev/null || { cat "$WORK/node.log" >&2; die "aisle-node exited"; }
  sleep 0.1
done
[[ -s "$WORK/node.url" ]] || die "aisle-node not ready after 20 s"
AISLE_URL="$(cat "$WORK/node.url")"
echo "   aisle at $AISLE_URL"

echo "== populating: $N_1M x 1 MiB, $N_10K x 10 KiB (same bytes to aisle and to nginx's root)"
$PY "$HELPER" populate "$AISLE_URL" b1m "$N_1M" 1048576 "$WORK/www"
$PY "$HELPER" populate "$AISLE_URL" b10k "$N_10K" 10240 "$WORK/www"
sync

NGINX_PORT="$(free_port)"
write_nginx_conf "$NGINX_PORT"
echo "== starting nginx on 127.0.0.1:$NGINX_PORT"
start_nginx "http://127.0.0.1:$NGINX_PORT"

# sanity: both serve identical bytes
for b in b1m b10k; do
  cmp <(curl -sf "$AISLE_URL/v1/objects/$b/obj-00000") <(curl -sf "http://127.0.0.1:$NGINX_PORT/$b/obj-00000") ||
    die "aisle and nginx serve different bytes for $b/obj-00000"
done

RESULTS="$WORK/results.jsonl"
$PY - "$RESULTS" "$RUNS" "$WRK_THREADS" "$WRK_CONNS" "$DUR" "$N_1M" "$N_10K" "$PUT_MB" <<'EOF'
import json, os, subprocess, sys, time
out, runs, t, c, dur, n1, n10, mb = sys.argv[1:]
cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
cpu = "%s x%d" % (cpu, os.cpu_count())
disk = subprocess.run(["df", "-hT", os.path.dirname(out)], capture_output=True, text=True).stdout.splitlines()[-1]
load = " ".join(open("/proc/loadavg").read().split()[:3])
json.dump({"kind": "meta", "date": time.strftime("%Y-%m-%d"), "cpu": cpu, "load": load, "disk": "df: " + " ".join(disk.split()),
           "runs": int(runs), "wrk": "wrk -t%s -c%s -d%ss" % (t, c, dur),
           "setup": "%s x 1 MiB and %s x 10 KiB objects, GETs cycle over all of them; aisle-node 1 mountpath; "
                    "nginx (sendfile, tcp_nopush, keepalive, access_log off, worker_processes auto) on the same "
                    "files; durable PUT = %s x 1 MiB sequential PUTs on one connection vs fio --rw=write --bs=1M "
                    "--size=%sM --fsync=1" % (n1, n10, mb, mb)}, open(out, "w"))
open(out, "a").write("\n")
EOF

write_wrk_luas

run_wrk() {  # side bucket test
  local url="http://127.0.0.1:$NGINX_PORT"
  [[ $1 == aisle ]] && url="$AISLE_URL"
  wrk_run "$1" "$3" "$WORK/$1-$2.lua" "$url"
}

echo "== GET: wrk -t$WRK_THREADS -c$WRK_CONNS -d${DUR}s, $RUNS runs each, alternating"
# warm-up (page cache, connections): 2 s each, not recorded
for side in aisle nginx; do
  for b in b1m b10k; do
    wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d2s -s "$WORK/$side-$b.lua" \
      "$([[ $side == aisle ]] && echo "$AISLE_URL" || echo "http://127.0.0.1:$NGINX_PORT")" >/dev/null 2>&1 || true
  done
done
for r in $(seq "$RUNS"); do
  echo "-- run $r/$RUNS"
  for b in b1m b10k; do
    test="get-${b#b}"
    if (( r % 2 )); then order="aisle nginx"; else order="nginx aisle"; fi
    for side in $order; do run_wrk "$side" "$b" "$test"; done
  done
done

echo "== durable PUT: $PUT_MB x 1 MiB sequential PUTs vs fio --bs=1M --size=${PUT_MB}M --fsync=1"
for r in $(seq "$RUNS"); do
  js="$($PY "$HELPER" durable-put "$AISLE_URL" bput "$PUT_MB" 1048576)"
  echo "{\"test\":\"put-1m\",\"side\":\"aisle\",${js#\{}" >>"$RESULTS"
  # free the space again so every run writes to a similar disk state
  curl -sf -X DELETE "$AISLE_URL/v1/buckets/bput" >/dev/null || true
  rm -f "$WORK/fio/"*
  fio --name=w --rw=write --bs=1M --size="${PUT_MB}M" --fsync=1 --direct=0 --directory="$WORK/fio" \
    --output-format=json --output="$WORK/fio.json" >/dev/null
  mbps="$($PY "$HELPER" fio-mbps "$WORK/fio.json")"
  rm -f "$WORK/fio/"*
  echo "{\"test\":\"put-1m\",\"side\":\"fio\",\"mbps\":$mbps}" >>"$RESULTS"
  $PY -c 'import json,sys; print("   run %s: aisle %.1f MB/s   fio %.1f MB/s" % (sys.argv[1], json.loads(sys.argv[2])["mbps"], float(sys.argv[3])))' "$r" "$js" "$mbps"
done

mkdir -p "$HERE/results"
OUT_MD="$HERE/results/foundation-$(date +%Y-%m-%d).md"
echo
$PY "$HELPER" report "$RESULTS" "$OUT_MD" "$CMDLINE"
cp "$RESULTS" "${OUT_MD%.md}.jsonl"
