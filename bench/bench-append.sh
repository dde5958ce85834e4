#!/usr/bin/env bash
# Append benchmark: one MEMBER-byte member appended to a ~SIZE_MB tar shard over HTTP
# (PUT ?archpath=, loopback), median (min-max) of RUNS appends per side:
#   aisle in place      the default for a plain tar (undo record + tail + header, 3 fsyncs)
#   aisle rewrite       the same node restarted with AISLE_APPEND_INPLACE=0 (old entries +
#                       new member streamed into a new object version: temp file, fsync, rename)
#   tar -rf             GNU tar on a local copy of the same shard, without and with an fsync
# The first in-place append also hashes the shard once (no saved XXH64 state yet): shown apart.
# Writes bench/results/append-<date>.md. Builds nothing; stops the node on exit.
#
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), BENCH_DIR (/var/tmp),
#   SIZE_MB (1024), RUNS (7), MEMBER (4096), KEEP_DATA (0)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
SIZE_MB="${SIZE_MB:-1024}" RUNS="${RUNS:-7}" MEMBER="${MEMBER:-4096}"
CMDLINE="SIZE_MB=$SIZE_MB RUNS=$RUNS MEMBER=$MEMBER bench/bench-append.sh"

die() { echo "bench-append: $*" >&2; exit 1; }
[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
for tool in curl tar python3; do command -v "$tool" >/dev/null || die "$tool missing"; done

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-append.XXXXXX")"
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
echo "bench-append: work dir $WORK" >&2

# start_node [ENV=VALUE...]: a standalone target on $WORK/mp; sets URL.
start_node() {
  local ready="$WORK/ready-$RANDOM"
  env "$@" "$NODE_BIN" --role target --port 0 --host 127.0.0.1 --mountpath "$WORK/mp" \
    --ready-file "$ready" >>"$WORK/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 500); do [[ -s "$ready" ]] && break; sleep 0.02; done
  [[ -s "$ready" ]] || die "node did not start; log: $(tail -5 "$WORK/node.log")"
  URL="$(cat "$ready")"
}

# The shard: 1 MiB members of random data up to SIZE_MB.
python3 - "$WORK/shard.tar" "$SIZE_MB" <<'PY'
import io, os, sys, tarfile
block = os.urandom(1 << 20)
with tarfile.open(sys.argv[1], "w") as tf:
    for i in range(int(sys.argv[2])):
        ti = tarfile.TarInfo("%06d.bin" % i)
        ti.size = len(block)
        tf.addfile(ti, io.BytesIO(block[i % 4096:] + block[:i % 4096]))
PY
head -c "$MEMBER" /dev/urandom >"$WORK/member.bin"
SHARD_BYTES=$(stat -c %s "$WORK/shard.tar")

# append NAME: one HTTP append; prints "seconds mode".
append() {
  curl -sS -o /dev/null -D "$WORK/h" -w '%{http_code} %{time_total}\n' -X PUT \
    --data-binary @"$WORK/member.bin" "$URL/v1/objects/b/shard.tar?archpath=$1" >"$WORK/w"
  read -r code secs <"$WORK/w"
  [[ "$code" == 200 ]] || die "append $1: HTTP $code"
  echo "$secs $(grep -i '^Ais-Append-Mode:' "$WORK/h" | tr -d '\r' | awk '{print $2}')"
}

start_node
curl -sfS -X POST "$URL/v1/buckets/b" -d '{"action":"create-bck"}' >/dev/null
curl -sfS -T "$WORK/shard.tar" "$URL/v1/objects/b/shard.tar" >/dev/null
curl -sfS "$URL/v1/objects/b/shard.tar?archpath=000000.bin" -o /dev/null  # builds the index
FIRST="$(append first)"
: >"$WORK/inplace"
for i in $(seq "$RUNS"); do append "inplace-$i" >>"$WORK/inplace"; done
stop_node

start_node AISLE_APPEND_INPLACE=0
: >"$WORK/rewrite"
for i in $(seq "$RUNS"); do append "rewrite-$i" >>"$WORK/rewrite"; done
stop_node

cp "$WORK/shard.tar" "$WORK/local.tar"
: >"$WORK/tar"
: >"$WORK/tarsync"
cd "$WORK"
for i in $(seq "$RUNS"); do
  cp member.bin "tar-$i.bin"
  s=$(date +%s.%N); tar -rf local.tar "tar-$i.bin"; e=$(date +%s.%N)
  echo "$(echo "$e - $s" | bc -l) tar" >>"$WORK/tar"
  cp member.bin "tarsync-$i.bin"
  s=$(date +%s.%N); tar -rf local.tar "tarsync-$i.bin"; sync local.tar; e=$(date +%s.%N)
  echo "$(echo "$e - $s" | bc -l) tar" >>"$WORK/tarsync"
done
cd - >/dev/null

mkdir -p "$HERE/results"
OUT="$HERE/results/append-$(date -u +%Y-%m-%d).md"
python3 - "$WORK" "$OUT" "$CMDLINE" "$SHARD_BYTES" "$FIRST" <<'PY'
import datetime, statistics, sys
work, out, cmd, size, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def load(name):
    rows = [l.split() for l in open(f"{work}/{name}") if l.strip()]
    return [float(r[0]) * 1000 for r in rows], {r[1] for r in rows if len(r) > 1}
def cell(ms):
    return "%.1f (%.1f–%.1f)" % (statistics.median(ms), min(ms), max(ms))
ip, ip_modes = load("inplace"); rw, rw_modes = load("rewrite")
tr, _ = load("tar"); ts, _ = load("tarsync")
f_ms, f_mode = float(first.split()[0]) * 1000, first.split()[1]
lines = [
    "# Append benchmark — %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "",
    "Command: `%s`: one member appended to a %.0f MB tar, median (min–max) of %d appends, ms." % (cmd, size / 1e6, len(ip)), "",
    "| side | ms per append |", "|---|---|",
    "| aisle in place (%s) | %s |" % ("/".join(sorted(ip_modes)), cell(ip)),
    "| aisle first in-place append (%s; hashes the shard once) | %.1f |" % (f_mode, f_ms),
    "| aisle rewrite (%s; AISLE_APPEND_INPLACE=0) | %s |" % ("/".join(sorted(rw_modes)), cell(rw)),
    "| GNU tar -rf, local copy, no fsync | %s |" % cell(tr),
    "| GNU tar -rf + sync FILE, local copy | %s |" % cell(ts),
    "", "rewrite / in place = **%.0f×**." % (statistics.median(rw) / statistics.median(ip)), ""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
echo "bench-append: wrote $OUT" >&2
