#!/usr/bin/env bash
# TLS benchmark, on 127.0.0.1 only: GET 1 MiB and 10 KiB objects over https from aisle-node
# (--tls-cert/--tls-key) vs nginx with TLS serving the same bytes, and vs aisle-node over plain
# HTTP (wrk -t2 -c32, RUNS alternating runs of DUR seconds each, median req/s and MB/s; the
# same P-256 certificate and TLS 1.3 on both servers, connections kept alive).
# Builds nothing. Prints a table and writes bench/results/tls-<date>.md.
#
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), BENCH_DIR (default /var/tmp),
#   DUR (5), RUNS (3), N_1M (64), N_10K (1000), WRK_THREADS (2), WRK_CONNS (32)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
DUR="${DUR:-5}"
RUNS="${RUNS:-3}"
N_1M="${N_1M:-64}"
N_10K="${N_10K:-1000}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-32}"
PY=/usr/bin/python3
HELPER="$HERE/bench_helper.py"
CMDLINE="DUR=$DUR RUNS=$RUNS N_1M=$N_1M N_10K=$N_10K bench/bench-tls.sh"

die() { echo "bench-tls: $*" >&2; exit 1; }
# shellcheck source=bench/bench-lib.sh
source "$HERE/bench-lib.sh"

[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
for tool in nginx wrk openssl curl; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] ||
    die "$tool missing: run $REPO/packaging/install-deps.sh --bench"
done
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-tls.XXXXXX")"
PIDS=()
NGINX_PID=""  # set by start_nginx
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}" $NGINX_PID; do stop_pid "$pid" 0 50; done
  if [[ "${BENCH_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== certificates (P-256 CA and server certificate for 127.0.0.1)"
T="$WORK/tls"
mkdir -p "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/ca.key" \
  -out "$T/ca.crt" -days 2 -subj "/CN=bench CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/node.key" \
  -out "$T/node.csr" -subj "/CN=bench" 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" >"$T/ext"
openssl x509 -req -in "$T/node.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -set_serial 1 \
  -out "$T/node.crt" -days 2 -extfile "$T/ext" 2>/dev/null

start_node() {  # name extra-args...
  local name=$1
  shift
  mkdir -p "$WORK/$name"
  "$NODE_BIN" --role target --host 127.0.0.1 --port 0 --mountpath "$WORK/$name" \
    --ready-file "$WORK/$name.url" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do
    [[ -s "$WORK/$name.url" ]] && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "aisle-node exited"; }
    sleep 0.1
  done
  die "aisle-node not ready after 20 s"
}

echo "== starting aisle-node twice (plain HTTP, and TLS), data in $WORK"
start_node plain
start_node tls --tls-cert "$T/node.crt" --tls-key "$T/node.key"
PLAIN_URL="$(cat "$WORK/plain.url")"
TLS_URL="$(cat "$WORK/tls.url")"
echo "   plain at $PLAIN_URL, TLS at $TLS_URL"

echo "== populating: $N_1M x 1 MiB, $N_10K x 10 KiB (same bytes to both nodes and nginx's root)"
mkdir -p "$WORK/www" "$WORK/nginx-tmp"
$PY "$HELPER" populate "$PLAIN_URL" b1m "$N_1M" 1048576 "$WORK/www"
$PY "$HELPER" populate "$PLAIN_URL" b10k "$N_10K" 10240 "$WORK/www"
$PY - "$TLS_URL" "$T/ca.crt" "$WORK/www" <<'EOF'
import http.client, json, os, ssl, sys, urllib.parse
url, ca, www = sys.argv[1:]
u = urllib.parse.urlsplit(url)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
for b in ("b1m", "b10k"):
    c.request("POST", "/v1/buckets/" + b, body=json.dumps({"action": "create-bck"}),
              headers={"Content-Type": "application/json"})
    c.getresponse().read()
    for name in sorted(os.listdir(os.path.join(www, b))):
        with open(os.path.join(www, b, name), "rb") as f:
            c.request("PUT", "/v1/objects/%s/%s" % (b, name), body=f.read())
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit("PUT %s/%s: %d" % (b, name, r.status))
EOF
sync

NGINX_PORT="$(free_port)"
write_nginx_conf "$NGINX_PORT" "$T/node.crt" "$T/node.key"
echo "== starting nginx (TLS) on 127.0.0.1:$NGINX_PORT"
NGINX_URL="https://127.0.0.1:$NGINX_PORT"
start_nginx "$NGINX_URL" --cacert "$T/ca.crt"

for b in b1m b10k; do
  cmp <(curl -sf --cacert "$T/ca.crt" "$TLS_URL/v1/objects/$b/obj-00000") \
    <(curl -sf --cacert "$T/ca.crt" "$NGINX_URL/$b/obj-00000") ||
    die "aisle (TLS) and nginx serve different bytes for $b/obj-00000"
  cmp <(curl -sf "$PLAIN_URL/v1/objects/$b/obj-00000") \
    <(curl -sf --cacert "$T/ca.crt" "$TLS_URL/v1/objects/$b/obj-00000") ||
    die "the two nodes serve different bytes for $b/obj-00000"
done

write_wrk_luas

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
url_of() {
  case $1 in
    aisle-tls) echo "$TLS_URL" ;;
    aisle-plain) echo "$PLAIN_URL" ;;
    nginx-tls) echo "$NGINX_URL" ;;
  esac
}
run_wrk() {  # side bucket test
  local lua="$WORK/aisle-$2.lua"
  [[ $1 == nginx-tls ]] && lua="$WORK/nginx-$2.lua"
  wrk_run "$1" "$3" "$lua" "$(url_of "$1")"
}

echo "== GET: wrk -t$WRK_THREADS -c$WRK_CONNS -d${DUR}s, $RUNS runs each, rotating order"
SIDES=(aisle-tls nginx-tls aisle-plain)
for side in "${SIDES[@]}"; do  # warm-up: page cache, sessions; not recorded
  for b in b1m b10k; do
    lua="$WORK/aisle-$b.lua"; [[ $side == nginx-tls ]] && lua="$WORK/nginx-$b.lua"
    wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d2s -s "$lua" "$(url_of "$side")" >/dev/null 2>&1 || true
  done
done
for r in $(seq "$RUNS"); do
  echo "-- run $r/$RUNS"
  for b in b1m b10k; do
    for i in 0 1 2; do
      run_wrk "${SIDES[$(((i + r) % 3))]}" "$b" "get-${b#b}"
    done
  done
done

mkdir -p "$HERE/results"
OUT_MD="$HERE/results/tls-$(date +%Y-%m-%d).md"
echo
$PY - "$RESULTS" "$OUT_MD" "$CMDLINE" "$WRK_THREADS" "$WRK_CONNS" "$DUR" "$LOAD_BEFORE" <<'EOF'
import json, os, statistics, sys, time
results, out_md, cmdline, t, c, dur, load = sys.argv[1:]
rows = [json.loads(l) for l in open(results) if l.strip()]
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
cpu = "%s x%d" % (cpu, os.cpu_count())
def med(test, side, key):
    xs = [r[key] for r in rows if r["test"] == test and r["side"] == side]
    return statistics.median(xs) if xs else float("nan")
lines = ["### TLS GET (%s, %s)" % (time.strftime("%Y-%m-%d"), cmdline), "",
         "CPU: %s; load before: %s; wrk -t%s -c%s -d%ss, median of the runs; P-256 certificate, "
         "keep-alive connections (handshakes amortised)." % (cpu, load, t, c, dur), "",
         "| test | aisle TLS req/s | nginx TLS req/s | aisle plain req/s | aisle TLS MB/s | "
         "TLS aisle/nginx | aisle TLS/plain |", "|---|---|---|---|---|---|---|"]
for test in ("get-1m", "get-10k"):
    a, n, p = (med(test, s, "rps") for s in ("aisle-tls", "nginx-tls", "aisle-plain"))
    mbs = med(test, "aisle-tls", "Bps") / 1e6
    lines.append("| %s | %.0f | %.0f | %.0f | %.1f | %.2f | %.2f |" % (test, a, n, p, mbs, a / n, a / p))
text = "\n".join(lines) + "\n"
print(text)
open(out_md, "w").write(text)
EOF
cp "$RESULTS" "${OUT_MD%.md}.jsonl"
