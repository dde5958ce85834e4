#!/usr/bin/env bash
# User-auth overhead: 10 KiB GETs with wrk straight to one target, with a bearer token, auth on
# (--auth: every request's JWT verified) vs off (the same header, ignored). Requests/s, median
# of RUNS (3) runs of DURATION (5 s) each, alternating off/on; the ratio is on / off.
# Writes bench/results/auth-<date>.md. Environment: AISLE_NODE_BIN, RUNS, DURATION, THREADS (2),
# CONNS (16).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
RUNS="${RUNS:-3}"; DURATION="${DURATION:-5}"; THREADS="${THREADS:-2}"; CONNS="${CONNS:-16}"
[[ -x "$NODE" ]] || { echo "bench-auth: no aisle-node at $NODE" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-auth: wrk not installed" >&2; exit 1; }
WORK="$(mktemp -d /tmp/aisle-bench-auth-XXXXXX)"
PID=""
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/secret"; chmod 600 "$WORK/secret"
# A user token (HS256 with the secret) allowed to read bucket b; sent in both modes.
TOKEN="$(/usr/bin/python3 - "$WORK/secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
key = open(sys.argv[1], "rb").read().strip()
b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b64(json.dumps({"sub": "bench", "exp": int(time.time()) + 3600, "admin": False,
                    "buckets": [{"bck": {"name": "b", "provider": "ais"}, "perm": "387"}]}).encode())
print(h + "." + p + "." + b64(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest()))
PY
)"
ADMIN="$(/usr/bin/python3 - "$WORK/secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
key = open(sys.argv[1], "rb").read().strip()
b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b64(json.dumps({"sub": "admin", "exp": int(time.time()) + 3600, "admin": True}).encode())
print(h + "." + p + "." + b64(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest()))
PY
)"
start() {  # $1: extra flags
  rm -rf "$WORK/mp" "$WORK/ready"; mkdir -p "$WORK/mp"
  "$NODE" --role target --port 0 --mountpath "$WORK/mp" --cluster-secret-file "$WORK/secret" \
    --ready-file "$WORK/ready" --log-level warn $1 >"$WORK/node.log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do [[ -s "$WORK/ready" ]] && break; sleep 0.05; done
  URL="$(cat "$WORK/ready")"
  curl -sf -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"action":"create-bck"}' "$URL/v1/buckets/b" >/dev/null
  head -c 10240 /dev/urandom > "$WORK/obj"
  curl -sf -X PUT -H "Authorization: Bearer $ADMIN" --data-binary @"$WORK/obj" \
    "$URL/v1/objects/b/o" >/dev/null
  curl -sf -H "Authorization: Bearer $TOKEN" "$URL/v1/objects/b/o" -o /dev/null
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
run() {  # requests/s of one wrk run
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" \
    "$URL/v1/objects/b/o" | awk '/Requests\/sec/ {print $2}'
}
OFF=(); ON=()
for i in $(seq "$RUNS"); do
  start ""; OFF+=("$(run)"); stop
  start "--auth"; ON+=("$(run)"); stop
done
RESULT="$(/usr/bin/python3 - "${OFF[*]}" "${ON[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]; on = [float(x) for x in sys.argv[2].split()]
print("%.0f %.0f %.3f %s %s" % (statistics.median(off), statistics.median(on),
      statistics.median(on) / statistics.median(off), "/".join("%.0f" % x for x in off),
      "/".join("%.0f" % x for x in on)))
PY
)"
read -r MOFF MON RATIO ROFF RON <<<"$RESULT"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
mkdir -p "$HERE/results"
OUT="$HERE/results/auth-$(date -u +%Y-%m-%d).md"
cat > "$OUT" <<MD
# User auth overhead: 10 KiB GET straight to a target

CPU: $CPU ($(nproc) cores seen). wrk -t$THREADS -c$CONNS -d${DURATION}s with
\`Authorization: Bearer <JWT>\`, one target, $RUNS runs each (alternating).

| auth | requests/s (median) | runs |
|---|---|---|
| off | $MOFF | $ROFF |
| on (JWT verified per request) | $MON | $RON |

Ratio on / off: **$RATIO**
MD
cat "$OUT"
