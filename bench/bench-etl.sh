#!/usr/bin/env bash
# ETL benchmarks, side by side in one run, on 127.0.0.1 only (1 proxy + TARGETS targets
# started here, ephemeral ports, data in a temp dir under BENCH_DIR):
#   1. inline built-in transforms vs plain GET: objects/s over N_OBJ x OBJ_KB KiB objects,
#      GET ?etl_name=ident (built-in identity) and ?etl_name=xxh (built-in xxhash) vs plain
#      GET, with two clients: Python (THREADS threads, keep-alive, through the proxy following
#      its redirect, like SDK clients) and wrk (THREADS connections straight to the owning
#      targets). Target: identity >= 0.9x plain.
#   2. the same for a Python hpush:// program (a small http.server identity program) and the
#      Python code runtime (init code, identity transform()). Recorded, no target.
#   3. offline: `aisle etl transform pil-resize ais://offsrc ais://dst --wait` over N_OFF
#      generated IMG_SIZE^2 JPEGs (Resize(256)+CenterCrop(224)+JPEG q90 with PIL:
#      examples/imagefolder/pil_transform.py) vs a client-side loop doing the same with the
#      CLI: per object `aisle object get` -> the same transform() in one local Python process
#      -> `aisle object put`; also vs the bulk way (`aisle object get -r`, transform the
#      directory, `aisle object put -r`) and with the built-in image-resize job. Ours must win.
#   4. ImageFolder images/s (examples/imagefolder/train.py, DataLoader num_workers=2,
#      batch 32), epoch 2 of 2 (epoch 1 = warm-up) over N_IMG generated IMG_SIZE^2 JPEGs:
#      (a) aisle-fs transform view .etl/resize (built-in image-resize size=256,crop=224), no
#      client resize, vs (b) local files with --client-resize (PIL in the workers): >= 1.0x;
#      (c) an offline-transformed bucket through the mount: >= 1.4x (b); (d) the Python PIL
#      ETL view .etl/pil-resize, for reference. A fresh mount for every train.py run.
# Medians (min-max) of RUNS runs. Kills and unmounts everything it started, also on
# failure/Ctrl-C. Prints a table and writes bench/results/etl-<date>.md. Builds nothing.
#
# Environment: AISLE_NODE_BIN, AISLE_CLI_BIN, AISLE_FS_BIN (build/...), BENCH_DIR (/var/tmp),
#   RUNS (3), TARGETS (2), DUR (5 s per throughput run), THREADS (8), N_OBJ (1000),
#   OBJ_KB (100), N_OFF (500), N_IMG (1000), IMG_SIZE (512), BENCH_KEEP (0)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
CLI_BIN="${AISLE_CLI_BIN:-$REPO/build/cli/aisle}"
FS_BIN="${AISLE_FS_BIN:-$REPO/build/fs/aisle-fs}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
RUNS="${RUNS:-3}"
TARGETS="${TARGETS:-2}"
DUR="${DUR:-5}"
THREADS="${THREADS:-8}"
N_OBJ="${N_OBJ:-1000}"
OBJ_KB="${OBJ_KB:-100}"
N_OFF="${N_OFF:-500}"
N_IMG="${N_IMG:-1000}"
IMG_SIZE="${IMG_SIZE:-512}"
PY=/usr/bin/python3
HELPER="$HERE/bench_etl.py"
EX="$REPO/examples/imagefolder"
CMDLINE="RUNS=$RUNS TARGETS=$TARGETS DUR=$DUR THREADS=$THREADS N_OBJ=$N_OBJ OBJ_KB=$OBJ_KB N_OFF=$N_OFF N_IMG=$N_IMG IMG_SIZE=$IMG_SIZE bench/bench-etl.sh"

die() { echo "bench-etl: $*" >&2; exit 1; }
[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
[[ -x "$CLI_BIN" ]] || die "aisle CLI not found at $CLI_BIN (set AISLE_CLI_BIN)"
[[ -x "$FS_BIN" ]] || die "aisle-fs not found at $FS_BIN (set AISLE_FS_BIN)"
"$CLI_BIN" etl --help >/dev/null 2>&1 || die "$CLI_BIN has no 'etl' command"
[[ -e /dev/fuse ]] || die "/dev/fuse missing"
for tool in fusermount3 wrk curl; do command -v $tool >/dev/null || die "$tool missing"; done
$PY -c "import torchvision, PIL" 2>/dev/null || die "needs python3-torchvision and python3-pil"

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-etl.XXXXXX")"
export BENCH_WORK="$WORK"
MNT="$WORK/mnt"
NODE_PIDS=()
FS_PID=""
T_START=$(date +%s)

# shellcheck source=bench/bench-lib.sh
source "$HERE/bench-lib.sh"
ELAPSED_DIGITS=3
unmount() { unmount_fuse FS_PID; }
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done; }
cleanup() {
  local rc=$?
  unmount
  # The targets' ETL processes (Python runtimes, hpush programs) are their children: note
  # them first, stop the nodes (which should stop them), then make sure none is left.
  local kids=() p
  for p in "${NODE_PIDS[@]}"; do mapfile -t -O "${#kids[@]}" kids < <(descendants "$p"); done
  for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  local left=()
  for p in "${kids[@]}"; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
  if [[ ${#left[@]} -gt 0 ]]; then
    echo "bench-etl: ETL processes left after the targets stopped: ${left[*]}; killing them" >&2
    kill -KILL "${left[@]}" 2>/dev/null || true
  fi
  if ! is_mounted; then  # never rm -rf through a live mount
    if [[ "${BENCH_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_fs() {
  "$FS_BIN" "$EP" "$MNT" -f >>"$WORK/fs.log" 2>&1 &
  FS_PID=$!
  for _ in $(seq 200); do
    is_mounted && return 0
    kill -0 "$FS_PID" 2>/dev/null || die "aisle-fs exited: $(tail -5 "$WORK/fs.log")"
    sleep 0.05
  done
  die "mount not ready"
}
jget() { $PY -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
aisle() { AIS_ENDPOINT="$EP" "$CLI_BIN" "$@"; }

# ---------------------------------------------------------------------------------------------
echo "== cluster: 1 proxy + $TARGETS targets on 127.0.0.1, data in $WORK"
mkdir -p "$MNT"
"$NODE_BIN" --role proxy --host 127.0.0.1 --port 0 --data-dir "$WORK/p" --ready-file "$WORK/p.ready" \
  >"$WORK/p.log" 2>&1 &
NODE_PIDS+=($!)
for _ in $(seq 200); do [[ -s $WORK/p.ready ]] && break; sleep 0.05; done
[[ -s $WORK/p.ready ]] || die "proxy not ready: $(tail -5 "$WORK/p.log")"
EP=$(cat "$WORK/p.ready")
for i in $(seq "$TARGETS"); do
  "$NODE_BIN" --role target --host 127.0.0.1 --port 0 --mountpath "$WORK/t$i" --primary "$EP" \
    --ready-file "$WORK/t$i.ready" >"$WORK/t$i.log" 2>&1 &
  NODE_PIDS+=($!)
done
for i in $(seq "$TARGETS"); do
  for _ in $(seq 200); do [[ -s $WORK/t$i.ready ]] && break; sleep 0.05; done
  [[ -s $WORK/t$i.ready ]] || die "target $i not ready: $(tail -5 "$WORK/t$i.log")"
done
for _ in $(seq 100); do
  n=$(curl -sf "$EP/v1/daemon?what=smap" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["tmap"]))' || echo 0)
  [[ "$n" == "$TARGETS" ]] && break; sleep 0.1
done
[[ "$n" == "$TARGETS" ]] || die "only $n of $TARGETS targets joined"
export AIS_ENDPOINT="$EP"
echo "   $EP"

# ETL registration: on failure record the message (shown in the table) instead of dying.
declare -A ETL_ERR
XXH_NOTE=""
etl_init() {  # etl_init NAME CLI-ARGS...
  local name=$1; shift
  local out
  if out=$(aisle etl init "$@" 2>&1); then
    echo "   etl $name: $(tail -1 <<<"$out")"
  else
    ETL_ERR[$name]="init failed: $(tr '\n|' ' /' <<<"$out" | cut -c1-300)"
    echo "   etl $name: ${ETL_ERR[$name]}" >&2
  fi
}

cat >"$WORK/py_identity.py" <<'EOF'
def transform(data):
    return data
EOF
cat >"$WORK/hpush_identity.py" <<'EOF'
# An hpush:// program: an HTTP server on 127.0.0.1:$PORT; PUT /<bucket>/<object> with the
# object's bytes returns them unchanged; GET /health says ok.
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, *a):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(b"ok")

    def do_PUT(self):
        self.reply(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
EOF

echo "== registering transforms"
etl_init ident builtin ident identity
etl_init xxh builtin xxh xxhash
etl_init hpush-ident program hpush-ident --comm hpush:// -- "$PY" "$WORK/hpush_identity.py"
etl_init py-ident code py-ident "$WORK/py_identity.py"
etl_init resize builtin resize image-resize --args size=256,crop=224,format=jpeg,quality=90
etl_init pil-resize code pil-resize "$EX/pil_transform.py"
aisle etl ls || true

# ---------------------------------------------------------------------------------------------
echo "== 1-2. inline GETs: $N_OBJ x $OBJ_KB KiB objects, $THREADS clients, ${DUR} s per run"
$PY "$HELPER" populate "$EP" obj o/ "$N_OBJ" $((OBJ_KB * 1024))
[[ "$($PY "$HELPER" count "$EP" obj)" == "$N_OBJ" ]] || die "populate: wrong object count"
# Correctness first: every transform once, compared with the raw object.
curl -sfL -o "$WORK/raw.bin" "$EP/v1/objects/obj/o/00000" || die "plain GET failed"
for e in ident hpush-ident py-ident xxh; do
  [[ -n "${ETL_ERR[$e]:-}" ]] && continue
  code=$(curl -sL -o "$WORK/etl.bin" -w '%{http_code}' "$EP/v1/objects/obj/o/00000?etl_name=$e" || true)
  if [[ "$code" != 200 ]]; then
    ETL_ERR[$e]="GET ?etl_name=$e: HTTP $code: $(head -c 300 "$WORK/etl.bin" | tr '\n|' ' /')"
  elif [[ $e == xxh ]]; then
    want=$($PY -c "import sys; sys.path.insert(0, '$REPO/tests/integration'); import aisle_testlib as tl
print('%016x' % tl.xxh64(open('$WORK/raw.bin', 'rb').read(), 0))")
    got=$(head -c 100 "$WORK/etl.bin")
    echo "   xxh of o/00000: $got (xxh64 seed 0 computed here: $want)"
    XXH_NOTE="digest checked: equals xxh64 seed 0"
    [[ "$got" == "$want" ]] || XXH_NOTE="**digest differs: GET ?etl_name=xxh returned '$got', xxh64(object, seed 0) is $want**"
  elif ! cmp -s "$WORK/raw.bin" "$WORK/etl.bin"; then
    ETL_ERR[$e]="GET ?etl_name=$e returned $(stat -c %s "$WORK/etl.bin") bytes, not the object's $(stat -c %s "$WORK/raw.bin")"
  fi
  [[ -n "${ETL_ERR[$e]:-}" ]] && echo "   $e: ${ETL_ERR[$e]}" >&2
done

# Each transform run is paired with a plain-GET run right next to it (plain first on one
# run, second on the next; the transforms' order rotates): the ratio is the median of these
# paired ratios, so drift in the shared machine's load hits both sides of a pair alike.
CFGS=(ident xxh hpush-ident py-ident)
declare -A PY_RUNS WRK_RUNS PY_BASE WRK_BASE PY_RATIO WRK_RATIO LOAD_ERR
measure() {  # measure CFG -> sets PYV and WRKV (objects/s); errors go to LOAD_ERR[CFG]
  local cfg=$1 etl="" expect=$((OBJ_KB * 1024)) j
  [[ $cfg != plain ]] && etl=$cfg
  [[ $cfg == xxh ]] && expect=""
  j=$($PY "$HELPER" load "$EP" obj o/ "$N_OBJ" "$THREADS" "$DUR" "$etl" "$expect")
  if [[ "$(jget "$j" errors)" != 0 ]]; then
    LOAD_ERR[$cfg]="python client: $(jget "$j" errors) errors of $(($(jget "$j" gets) + $(jget "$j" errors))), first: $(jget "$j" first_error | tr '\n|' ' /' | cut -c1-300)"
  fi
  PYV=$(jget "$j" objs_per_s)
  j=$($PY "$HELPER" wrk "$EP" obj o/ "$N_OBJ" "$THREADS" "$DUR" "$etl")
  if [[ "$(jget "$j" errors)" != 0 ]]; then
    LOAD_ERR[$cfg]+=" wrk: $(jget "$j" first_error) of $(jget "$j" gets)"
  fi
  WRKV=$(jget "$j" objs_per_s)
}
echo "   warm-up: 2 s of each side"
for cfg in plain "${CFGS[@]}"; do
  [[ -n "${ETL_ERR[$cfg]:-}" ]] && continue
  SAVED_DUR=$DUR; DUR=2; measure "$cfg"; DUR=$SAVED_DUR
done
LOAD_ERR=()  # errors during the warm-up do not count; the measured runs report their own
div() { $PY -c "print('%.4f' % ($1 / $2) if $2 else 0)"; }
for r in $(seq "$RUNS"); do
  line="   run $r:"
  k=$(( (r - 1) % ${#CFGS[@]} ))
  i=0
  for cfg in "${CFGS[@]:k}" "${CFGS[@]:0:k}"; do
    [[ -n "${ETL_ERR[$cfg]:-}" ]] && continue
    if (( (r + i) % 2 )); then
      measure plain; bp=$PYV; bw=$WRKV; measure "$cfg"
    else
      measure "$cfg"; ep=$PYV; ew=$WRKV; measure plain; bp=$PYV; bw=$WRKV; PYV=$ep; WRKV=$ew
    fi
    i=$((i + 1))
    PY_RUNS[$cfg]+="$PYV "; WRK_RUNS[$cfg]+="$WRKV "; PY_BASE[$cfg]+="$bp "; WRK_BASE[$cfg]+="$bw "
    PY_RATIO[$cfg]+="$(div "$PYV" "$bp") "; WRK_RATIO[$cfg]+="$(div "$WRKV" "$bw") "
    line+=" $cfg $PYV/$WRKV (plain $bp/$bw);"
  done
  echo "$line  (objects/s, python/wrk)"
done

# ---------------------------------------------------------------------------------------------
echo "== data set: $N_IMG generated ${IMG_SIZE}x${IMG_SIZE} JPEGs"
$PY "$REPO/tools/gen-dataset.py" "$WORK/ds" --images "$N_IMG" --classes 10 --size "$IMG_SIZE"
aisle bucket create ais://imgs >/dev/null
aisle object put --recursive --workers 8 "$WORK/ds/images" ais://imgs/train/ | tail -1
mkdir -p "$WORK/off"
find "$WORK/ds/images" -name '*.jpg' | sort | head -n "$N_OFF" | xargs -I{} cp -l {} "$WORK/off/"
aisle bucket create ais://offsrc >/dev/null
aisle object put --recursive --workers 8 "$WORK/off" ais://offsrc/ | tail -1
[[ "$($PY "$HELPER" count "$EP" offsrc)" == "$N_OFF" ]] || die "offsrc: wrong object count"

# ---------------------------------------------------------------------------------------------
echo "== 3. offline transform of $N_OFF images vs client-side loops"
declare -A OFF_RUNS OFF_ERR
check_count() {  # check_count KEY BUCKET
  local n
  n=$($PY "$HELPER" count "$EP" "$2" 2>/dev/null || echo "?")
  [[ "$n" == "$N_OFF" ]] || OFF_ERR[$1]="destination has $n objects, not $N_OFF"
}
for r in $(seq "$RUNS"); do
  line="   run $r:"
  for e in pil-resize resize; do
    [[ -n "${ETL_ERR[$e]:-}" ]] && continue
    t0=$(now)
    if aisle etl transform "$e" ais://offsrc "ais://off-$e-$r" --wait >"$WORK/job.log" 2>&1; then
      t=$(elapsed "$t0" "$(now)"); OFF_RUNS[job-$e]+="$t "; line+=" job $e $t s;"
      check_count "job-$e" "off-$e-$r"
    else
      OFF_ERR[job-$e]="aisle etl transform failed: $(tail -3 "$WORK/job.log" | tr '\n|\r' '  /' | cut -c1-300)"
    fi
    aisle bucket rm -y "ais://off-$e-$r" >/dev/null 2>&1 || true
  done
  aisle bucket create "ais://loop-$r" >/dev/null
  mkdir -p "$WORK/loop"
  if out=$($PY "$HELPER" clientloop "$CLI_BIN" offsrc "" "loop-$r" "$EX/pil_transform.py" "$WORK/loop" 2>&1); then
    t=${out%% *}; OFF_RUNS[loop]+="$t "; line+=" per-object loop $t s;"
    check_count loop "loop-$r"
  else
    OFF_ERR[loop]="client loop failed: $(tail -3 <<<"$out" | tr '\n|' ' /' | cut -c1-300)"
  fi
  aisle bucket rm -y "ais://loop-$r" >/dev/null 2>&1 || true
  rm -rf "$WORK/bulk"
  aisle bucket create "ais://bulk-$r" >/dev/null
  t0=$(now)
  aisle object get --recursive --workers 8 ais://offsrc "$WORK/bulk" >/dev/null
  $PY "$HELPER" transform-dir "$EX/pil_transform.py" "$WORK/bulk" >/dev/null
  aisle object put --recursive --workers 8 "$WORK/bulk" "ais://bulk-$r/" >/dev/null
  t=$(elapsed "$t0" "$(now)"); OFF_RUNS[bulk]+="$t "; line+=" bulk $t s"
  check_count bulk "bulk-$r"
  aisle bucket rm -y "ais://bulk-$r" >/dev/null 2>&1 || true
  rm -rf "$WORK/bulk" "$WORK/loop"
  echo "$line"
done

# ---------------------------------------------------------------------------------------------
echo "== 4. ImageFolder: train.py, $N_IMG images, epoch 2 of 2"
IMG_ERR_C=""
if [[ -z "${ETL_ERR[resize]:-}" ]]; then
  t0=$(now)
  if aisle etl transform resize ais://imgs ais://imgs224 --wait >"$WORK/job.log" 2>&1; then
    echo "   offline image-resize job into ais://imgs224: $(elapsed "$t0" "$(now)") s"
  else
    IMG_ERR_C="offline job failed: $(tail -3 "$WORK/job.log" | tr '\n|\r' '  /' | cut -c1-300)"
  fi
else
  IMG_ERR_C="${ETL_ERR[resize]}"
fi
declare -A IMG_RUNS IMG_RUNS1 IMG_ERR IMG_MEAN
train() {  # train KEY ROOT [--client-resize]; uses a fresh mount unless ROOT is local
  local key=$1 root=$2; shift 2
  local out rc=0
  [[ $root == "$MNT"* ]] && mount_fs
  out=$($PY "$EX/train.py" "$root" --epochs 2 "$@" 2>&1) || rc=$?
  [[ $root == "$MNT"* ]] && unmount
  local e1 e2
  e1=$(grep '^epoch 1:' <<<"$out" || true); e2=$(grep '^epoch 2:' <<<"$out" || true)
  if [[ $rc != 0 || -z "$e2" ]]; then
    IMG_ERR[$key]="train.py failed (rc $rc): $(tail -3 <<<"$out" | tr '\n|' ' /' | cut -c1-400)"
    echo "   $key: ${IMG_ERR[$key]}" >&2
    return 0
  fi
  if ! grep -q "^epoch 2: $N_IMG images, 10 classes" <<<"$e2"; then
    IMG_ERR[$key]="wrong data set: $e2"
  fi
  IMG_RUNS[$key]+="$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$e2") "
  IMG_RUNS1[$key]+="$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$e1") "
  IMG_MEAN[$key]="$(sed -E 's/.*mean pixel ([0-9.]+).*/\1/' <<<"$e2")"
}
for r in $(seq "$RUNS"); do
  train b "$WORK/ds/images" --client-resize
  [[ -z "${ETL_ERR[resize]:-}" ]] && train a "$MNT/.etl/resize/imgs/train"
  [[ -z "$IMG_ERR_C" ]] && train c "$MNT/imgs224/train"
  [[ -z "${ETL_ERR[pil-resize]:-}" ]] && train d "$MNT/.etl/pil-resize/imgs/train"
  echo "   run $r (images/s, epoch 2): local+client resize $(awk '{print $NF}' <<<"${IMG_RUNS[b]:-}")," \
    "view resize $(awk '{print $NF}' <<<"${IMG_RUNS[a]:-}"), offline bucket $(awk '{print $NF}' <<<"${IMG_RUNS[c]:-}")," \
    "view pil-resize $(awk '{print $NF}' <<<"${IMG_RUNS[d]:-}")"
done

# ---------------------------------------------------------------------------------------------
# Stats and the table.
med() { [[ -z "${1// }" ]] && { echo ""; return; }; $PY "$HELPER" stats $1 | awk '{print $1}'; }
mmm() { [[ -z "${1// }" ]] && { echo "-"; return; }; $PY "$HELPER" stats $1 | awk '{printf "%s (%s-%s)", $1, $2, $3}'; }
ratio() { [[ -z "$1" || -z "$2" ]] && { echo "-"; return; }; $PY -c "print('%.2fx' % ($1 / $2))"; }
verdict() { [[ "$1" == - ]] && { echo "-"; return; }; $PY -c "print('meets' if ${1%x} $2 else 'MISSES')"; }
why() {  # the reason a row has no figure, if any
  local s="${ETL_ERR[$1]:-}${LOAD_ERR[$1]:-}"
  [[ -n "$s" ]] && echo " **${s}**"
  return 0
}
DATE=$(date -u +%Y-%m-%d)
OUT="$HERE/results/etl-$DATE.md"
mkdir -p "$HERE/results"
ELAPSED=$(( $(date +%s) - T_START ))
{
  echo "# ETL benchmarks, $DATE"
  echo
  echo "Command: \`$CMDLINE\` (loopback, 1 proxy + $TARGETS targets, $(nproc) cores shared by the nodes, their ETL processes and the clients; load average at end: $(cut -d' ' -f1-3 /proc/loadavg); $ELAPSED s)."
  echo "Median (min-max) of $RUNS runs."
  echo
  echo "## 1-2. Inline GET ?etl_name= vs plain GET, $N_OBJ x $OBJ_KB KiB objects, objects/s"
  echo
  echo "Clients: *python* = $THREADS threads, keep-alive http.client, through the proxy following its redirect (as SDK clients do); *wrk* = $THREADS connections straight to the owning targets (owner computed with HRW), ${DUR} s per run. Every transform run is paired with a plain-GET run right before or after it (alternating); ratio = median over the $RUNS pairs."
  echo
  echo "| transform | client | objects/s with ETL | plain GET objects/s (paired runs) | ratio (median of paired ratios) | target |"
  echo "|---|---|---|---|---|---|"
  for cfg in ident xxh hpush-ident py-ident; do
    case $cfg in
      ident) label="built-in identity"; tgt=">= 0.9x";;
      xxh) label="built-in xxhash (returns the digest; ${XXH_NOTE:-digest not checked})"; tgt="-";;
      hpush-ident) label="Python hpush:// program (http.server, identity)"; tgt="recorded";;
      py-ident) label="Python code runtime (identity transform())"; tgt="recorded";;
    esac
    for cl in python wrk; do
      if [[ $cl == python ]]; then runs="${PY_RUNS[$cfg]:-}"; bruns="${PY_BASE[$cfg]:-}"; rts="${PY_RATIO[$cfg]:-}"
      else runs="${WRK_RUNS[$cfg]:-}"; bruns="${WRK_BASE[$cfg]:-}"; rts="${WRK_RATIO[$cfg]:-}"; fi
      rt=$(med "$rts"); [[ -n "$rt" ]] && rt="${rt}x" || rt="-"
      v="$tgt"; [[ $tgt == ">= 0.9x" ]] && v=">= 0.9x: $(verdict "$rt" ">= 0.9")"
      echo "| $label | $cl | $(mmm "$runs")$(why $cfg) | $(mmm "$bruns") | $rt | $v |"
    done
  done
  echo
  echo "## 3. Offline transform of $N_OFF generated ${IMG_SIZE}x${IMG_SIZE} JPEGs (Resize(256)+CenterCrop(224), JPEG q90), wall seconds"
  echo
  echo "Client side: the same PIL \`transform()\` (examples/imagefolder/pil_transform.py) in one local Python process; *per-object loop* = for each object \`aisle object get\` -> transform -> \`aisle object put\` (bench_etl.py clientloop, sequential, as a user script would); *bulk* = \`aisle object get -r\` (8 workers), transform the directory, \`aisle object put -r\` (8 workers). Ratio = client seconds / job seconds (> 1: the job wins)."
  echo
  echo "| offline job | job s | vs per-object loop | ratio | vs bulk get/transform/put | ratio | target |"
  echo "|---|---|---|---|---|---|---|"
  LOOP=$(med "${OFF_RUNS[loop]:-}"); BULK=$(med "${OFF_RUNS[bulk]:-}")
  for e in pil-resize resize; do
    label="\`aisle etl transform $e ais://offsrc ais://dst --wait\` ($([[ $e == resize ]] && echo built-in image-resize || echo Python code, same PIL function))"
    runs="${OFF_RUNS[job-$e]:-}"
    err="${ETL_ERR[$e]:-}${OFF_ERR[job-$e]:-}"; [[ -n "$err" ]] && err=" **$err**"
    r1=$(ratio "$LOOP" "$(med "$runs")"); r2=$(ratio "$BULK" "$(med "$runs")")
    echo "| $label | $(mmm "$runs")$err | $(mmm "${OFF_RUNS[loop]:-}")${OFF_ERR[loop]:+ **${OFF_ERR[loop]}**} | $r1 | $(mmm "${OFF_RUNS[bulk]:-}")${OFF_ERR[bulk]:+ **${OFF_ERR[bulk]}**} | $r2 | job faster than the loop (> 1x): $(verdict "$r1" "> 1") |"
  done
  echo
  echo "## 4. ImageFolder + DataLoader (examples/imagefolder/train.py, num_workers=2, batch 32), $N_IMG generated ${IMG_SIZE}x${IMG_SIZE} JPEGs, images/s"
  echo
  echo "Epoch 2 of 2 (epoch 1 = warm-up; its figure in the last column); a fresh aisle-fs mount for each train.py run. Ratio = images/s / (b)."
  echo
  echo "| side | images/s, epoch 2 | ratio to (b) | target | epoch 1 images/s | mean pixel |"
  echo "|---|---|---|---|---|---|"
  B=$(med "${IMG_RUNS[b]:-}")
  for k in b a c d; do
    case $k in
      b) label="(b) local files, \`--client-resize\` (PIL Resize(256)+CenterCrop(224) in the workers)"; tgt="-"; err="";;
      a) label="(a) mount, \`.etl/resize\` view (built-in image-resize), no client resize"; tgt=">= 1.0x"; err="${ETL_ERR[resize]:-}";;
      c) label="(c) mount, bucket transformed offline by the image-resize job, no client resize"; tgt=">= 1.4x"; err="$IMG_ERR_C";;
      d) label="(d) mount, \`.etl/pil-resize\` view (Python PIL ETL), no client resize"; tgt="reference"; err="${ETL_ERR[pil-resize]:-}";;
    esac
    err+="${IMG_ERR[$k]:-}"; [[ -n "$err" ]] && err=" **$err**"
    rt=$(ratio "$(med "${IMG_RUNS[$k]:-}")" "$B"); [[ $k == b ]] && rt="1.00x"
    v="$tgt"
    [[ $tgt == ">="* ]] && v="$tgt: $(verdict "$rt" "${tgt%x}")"
    echo "| $label | $(mmm "${IMG_RUNS[$k]:-}")$err | $rt | $v | $(mmm "${IMG_RUNS1[$k]:-}") | ${IMG_MEAN[$k]:--} |"
  done
} >"$OUT"
echo
cat "$OUT"
echo
echo "wrote $OUT"
