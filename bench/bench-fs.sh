#!/usr/bin/env bash
# FUSE client benchmarks (design.md §10), side by side in one run, on 127.0.0.1 only:
#   1. sequential read of a BIG_MB object: aisle-fs (dd bs=1M, a fresh mount per run, so no
#      page cache) vs curl GET of the same object to /dev/null; the node's disk cache is warm
#      for both. Target >= 0.8x. Four mounts: local reads (the default here, the node being on
#      this host: pread of the target's file) and over HTTP (-o local_reads=off, what a
#      client on another host gets), each by default and with `-o direct_io` (no page cache).
#   2. `ls -l` of an N_LS-object prefix: aisle-fs cold (fresh mount) and warm (within TTL) vs
#      `ls -l` of a local directory of N_LS empty files (warm). Target < 1 s.
#   3. N_SMALL x SMALL_KB files read by 4 reader threads: aisle-fs on a fresh mount (cold:
#      one local open per file, and over HTTP one GET per file) and again on that mount (warm:
#      kernel page cache kept, keep_cache) vs the same files on local disk (warm page cache).
#      Target >= 0.3x.
#   4. an unmodified torchvision ImageFolder + DataLoader loop (examples/imagefolder/train.py
#      --client-resize: PIL Resize(256)+CenterCrop(224)+ToTensor in 2 DataLoader workers,
#      batch 32, shuffle, 2 epochs) over N_IMG IMG_SIZE^2 JPEGs in 10 class folders
#      (tools/gen-dataset.py): the same files and the same transform through aisle-fs (bucket
#      prefix imgs/, a fresh mount per run) vs on local disk (warm page cache), the two sides
#      alternating which goes first. Images/s of epoch 2 (epoch 1 warms; its figure, the cold
#      mount's, in the last column). Target: mount >= 0.9x local. A run whose output is not
#      N_IMG images in 10 classes (or whose epoch-2 mean pixel and label sum differ from the
#      first counted run's, normally local disk's: same bytes, same transform) is reported in
#      the table, not counted.
#   5. aisle-fs peak RSS while streaming RSS_GB GiB through the mount over HTTP (local_reads=off:
#      the path that buffers): O_DIRECT passes over the BIG_MB object (bench_fs_helper.py
#      stream) until RSS_GB GiB were read, VmRSS sampled every 50 ms. Target < 256 MiB.
# Medians over RUNS runs. Kills and unmounts everything it started, also on failure/Ctrl-C.
# Prints a table and writes bench/results/fs-<date>.md. Builds nothing.
#
# Environment: AISLE_NODE_BIN (build/server/aisle-node), AISLE_FS_BIN (build/fs/aisle-fs),
#   BENCH_DIR (/var/tmp), RUNS (5), BIG_MB (1024), N_LS (100000), N_SMALL (10000), SMALL_KB (100),
#   N_IMG (2000), IMG_SIZE (512, pixels), RSS_GB (10, GiB; may be fractional), BENCH_KEEP (0)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
FS_BIN="${AISLE_FS_BIN:-$REPO/build/fs/aisle-fs}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
RUNS="${RUNS:-5}"
BIG_MB="${BIG_MB:-1024}"
N_LS="${N_LS:-100000}"
N_SMALL="${N_SMALL:-10000}"
SMALL_KB="${SMALL_KB:-100}"
N_IMG="${N_IMG:-2000}"
IMG_SIZE="${IMG_SIZE:-512}"
RSS_GB="${RSS_GB:-10}"
PY=/usr/bin/python3
HELPER="$HERE/bench_fs_helper.py"
TRAIN="$REPO/examples/imagefolder/train.py"
CMDLINE="RUNS=$RUNS BIG_MB=$BIG_MB N_LS=$N_LS N_SMALL=$N_SMALL SMALL_KB=$SMALL_KB N_IMG=$N_IMG IMG_SIZE=$IMG_SIZE RSS_GB=$RSS_GB bench/bench-fs.sh"

die() { echo "bench-fs: $*" >&2; exit 1; }
[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
[[ -x "$FS_BIN" ]] || die "aisle-fs not found at $FS_BIN (set AISLE_FS_BIN)"
[[ -e /dev/fuse ]] || die "/dev/fuse missing"
command -v fusermount3 >/dev/null || die "fusermount3 missing (apt-get install fuse3)"
command -v curl >/dev/null || die "curl missing"
$PY -c "import torch, torchvision, PIL" 2>/dev/null || die "needs python3-torch, python3-torchvision and python3-pil"
[[ "$N_IMG" =~ ^[1-9][0-9]*$ ]] || die "N_IMG must be a positive integer"
RSS_BYTES=$($PY -c "import sys; b = int(float(sys.argv[1]) * (1 << 30)); print(b if b > 0 else '')" "$RSS_GB" 2>/dev/null) ||
  true
[[ -n "$RSS_BYTES" ]] || die "RSS_GB must be a positive number of GiB"

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-fs.XXXXXX")"
MNT="$WORK/mnt"
NODE_PID=""
FS_PID=""

# shellcheck source=bench/bench-lib.sh
source "$HERE/bench-lib.sh"
unmount() { unmount_fuse FS_PID; }
cleanup() {
  local rc=$?
  unmount
  if [[ -n "$NODE_PID" ]] && kill -0 "$NODE_PID" 2>/dev/null; then stop_pid "$NODE_PID" 0 50; fi
  # Only after the unmount: never rm -rf through a live mount.
  if ! is_mounted; then
    if [[ "${BENCH_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_fs() {  # mount_fs [extra -o options]
  "$FS_BIN" "$URL" "$MNT" -f ${1:+-o "$1"} >>"$WORK/fs.log" 2>&1 &
  FS_PID=$!
  for _ in $(seq 200); do
    is_mounted && return 0
    kill -0 "$FS_PID" 2>/dev/null || die "aisle-fs exited: $(tail -5 "$WORK/fs.log")"
    sleep 0.05
  done
  die "mount not ready"
}

verdict() { $PY -c "print('meets' if $1 else 'MISSES')"; }

echo "== aisle-node ($NODE_BIN) and aisle-fs ($FS_BIN), data in $WORK"
mkdir -p "$WORK/mp0" "$MNT" "$WORK/local"
PORT="$(free_port)"
"$NODE_BIN" --role target --port "$PORT" --host 127.0.0.1 --mountpath "$WORK/mp0" \
  --ready-file "$WORK/ready" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 200); do [[ -s "$WORK/ready" ]] && break; sleep 0.05; done
[[ -s "$WORK/ready" ]] || die "node not ready: $(tail -5 "$WORK/node.log")"
URL="$(cat "$WORK/ready")"
BUCKET=fsbench

echo "== populating: ${BIG_MB} MiB object, $N_LS empty objects, $N_SMALL x ${SMALL_KB} KiB objects, $N_IMG JPEGs"
$PY -c "
import sys; sys.path.insert(0, '$HERE'); import bench_fs_helper as h; h.create_bucket('$URL', '$BUCKET')"
head -c $((BIG_MB << 20)) /dev/urandom >"$WORK/big.bin"
curl -sf -X PUT -T "$WORK/big.bin" "$URL/v1/objects/$BUCKET/big/big.bin" || die "PUT big"
rm -f "$WORK/big.bin"
t0=$(now)
$PY "$HELPER" populate "$URL" "$BUCKET" many "$N_LS" 0 "$WORK/local/many"
echo "   $N_LS objects in $(elapsed "$t0" "$(now)") s"
$PY "$HELPER" populate "$URL" "$BUCKET" small "$N_SMALL" $((SMALL_KB * 1024)) "$WORK/local/small"
# The ImageFolder tree: generated once, on local disk as is and in the bucket under imgs/.
IMG_CLASSES=$((N_IMG < 10 ? N_IMG : 10))
$PY "$REPO/tools/gen-dataset.py" "$WORK/ds" --images "$N_IMG" --classes 10 --size "$IMG_SIZE" | sed 's/^/   /'
n=$($PY "$HELPER" putdir "$URL" "$BUCKET" imgs "$WORK/ds/images")
[[ "$n" == "$N_IMG" ]] || die "put $n of $N_IMG images"
IMG_MB=$(du -sm "$WORK/ds/images" | cut -f1)
echo "   $N_IMG images ($IMG_MB MiB) in $BUCKET/imgs/"
# The set-up wrote ~1.3 GB in ~110k files: flush it, so no writeback runs while reads are timed.
t0=$(now); sync; echo "   sync after populating: $(elapsed "$t0" "$(now)") s"

# ---------------------------------------------------------------------------------------------
echo "== 1. sequential read of ${BIG_MB} MiB"
curl -sf -o /dev/null "$URL/v1/objects/$BUCKET/big/big.bin"  # warm the node's page cache
CURL_T=(); FS_T=(); FSD_T=(); FSN_T=(); FSND_T=()
seq_fs() {  # seq_fs ARRAY [-o options]: one dd through a fresh mount
  local -n arr=$1
  mount_fs "${2:-}"
  t0=$(now); dd if="$MNT/$BUCKET/big/big.bin" of=/dev/null bs=1M status=none; t1=$(now)
  arr+=("$(elapsed "$t0" "$t1")")
  unmount
}
for r in $(seq "$RUNS"); do
  t0=$(now); curl -sf -o /dev/null "$URL/v1/objects/$BUCKET/big/big.bin"; t1=$(now)
  CURL_T+=("$(elapsed "$t0" "$t1")")
  seq_fs FS_T
  seq_fs FSD_T direct_io
  seq_fs FSN_T local_reads=off
  seq_fs FSND_T local_reads=off,direct_io
  echo "   run $r: curl ${CURL_T[-1]} s; aisle-fs local reads ${FS_T[-1]} s, with -o direct_io ${FSD_T[-1]} s; over HTTP ${FSN_T[-1]} s, with -o direct_io ${FSND_T[-1]} s"
done
read -r CURL_MED CURL_MIN CURL_MAX < <(stats "${CURL_T[@]}")
read -r FS_MED FS_MIN FS_MAX < <(stats "${FS_T[@]}")
read -r FSD_MED FSD_MIN FSD_MAX < <(stats "${FSD_T[@]}")
read -r FSN_MED FSN_MIN FSN_MAX < <(stats "${FSN_T[@]}")
read -r FSND_MED FSND_MIN FSND_MAX < <(stats "${FSND_T[@]}")

# ---------------------------------------------------------------------------------------------
echo "== 2. ls -l of $N_LS entries"
ls -l "$WORK/local/many" >/dev/null  # warm the local dentries/inodes
LS_COLD=(); LS_WARM=(); LS_LOCAL=()
for r in $(seq "$RUNS"); do
  mount_fs
  ls "$MNT/$BUCKET" >/dev/null
  t0=$(now); n=$(ls -l "$MNT/$BUCKET/many" | wc -l); t1=$(now)
  [[ "$n" -ge "$N_LS" ]] || die "ls -l listed $n entries"
  LS_COLD+=("$(elapsed "$t0" "$t1")")
  t0=$(now); ls -l "$MNT/$BUCKET/many" >/dev/null; t1=$(now)
  LS_WARM+=("$(elapsed "$t0" "$t1")")
  unmount
  t0=$(now); ls -l "$WORK/local/many" >/dev/null; t1=$(now)
  LS_LOCAL+=("$(elapsed "$t0" "$t1")")
  echo "   run $r: aisle-fs cold ${LS_COLD[-1]} s, warm ${LS_WARM[-1]} s; local ext4 ${LS_LOCAL[-1]} s"
done
read -r LSC_MED LSC_MIN LSC_MAX < <(stats "${LS_COLD[@]}")
read -r LSW_MED LSW_MIN LSW_MAX < <(stats "${LS_WARM[@]}")
read -r LSL_MED LSL_MIN LSL_MAX < <(stats "${LS_LOCAL[@]}")

# ---------------------------------------------------------------------------------------------
echo "== 3. $N_SMALL x ${SMALL_KB} KiB files, 4 readers"
(cd "$WORK/local/small" && ls | sed "s|^|$WORK/local/small/|") >"$WORK/local.list"
(cd "$WORK/local/small" && ls | sed "s|^|$MNT/$BUCKET/small/|") >"$WORK/fs.list"
$PY "$HELPER" read "$WORK/local.list" 4 >/dev/null  # warm
SM_FS=(); SM_FS_WARM=(); SM_FSN=(); SM_LOCAL=()
small_fs() {  # small_fs ARRAY: one pass over the files through the mount
  local -n arr=$1
  read -r t bytes < <($PY "$HELPER" read "$WORK/fs.list" 4)
  [[ "$bytes" -eq $((N_SMALL * SMALL_KB * 1024)) ]] || die "aisle-fs read $bytes bytes"
  arr+=("$t")
}
for r in $(seq "$RUNS"); do
  mount_fs
  ls "$MNT/$BUCKET/small" >/dev/null  # one listing, as a training loop's dataset scan does
  small_fs SM_FS
  # Second pass on the same mount (within the TTLs): the kernel keeps the pages (keep_cache).
  small_fs SM_FS_WARM
  unmount
  mount_fs local_reads=off
  ls "$MNT/$BUCKET/small" >/dev/null
  small_fs SM_FSN
  unmount
  read -r t bytes < <($PY "$HELPER" read "$WORK/local.list" 4)
  SM_LOCAL+=("$t")
  echo "   run $r: aisle-fs cold ${SM_FS[-1]} s, warm ${SM_FS_WARM[-1]} s, cold over HTTP ${SM_FSN[-1]} s; local ${SM_LOCAL[-1]} s"
done
read -r SMF_MED SMF_MIN SMF_MAX < <(stats "${SM_FS[@]}")
read -r SMN_MED SMN_MIN SMN_MAX < <(stats "${SM_FSN[@]}")
read -r SML_MED SML_MIN SML_MAX < <(stats "${SM_LOCAL[@]}")
read -r SMW_MED SMW_MIN SMW_MAX < <(stats "${SM_FS_WARM[@]}")

# ---------------------------------------------------------------------------------------------
echo "== 4. ImageFolder + DataLoader: train.py --client-resize, $N_IMG images, epoch 2 of 2"
IMG_FS=(); IMG_FS1=(); IMG_LOCAL=(); IMG_LOCAL1=(); IMG_ERR=""; IMG_REF=""; IMG_REF_SIDE=""
train() {  # train fs|local ROOT: one train.py run (a fresh mount for fs); appends images/s
  local side=$1 root=$2 out rc=0 e1 e2 sig
  [[ $side == fs ]] && mount_fs
  out=$($PY "$TRAIN" "$root" --client-resize --epochs 2 --workers 2 --batch-size 32 2>&1) || rc=$?
  [[ $side == fs ]] && unmount
  e1=$(grep '^epoch 1:' <<<"$out" || true); e2=$(grep '^epoch 2:' <<<"$out" || true)
  if [[ $rc != 0 || -z "$e1" || -z "$e2" ]]; then
    IMG_ERR+="$side: train.py failed (rc $rc): $(tail -3 <<<"$out" | tr '\n|' ' /' | sed 's/ *$//' | cut -c1-300). "
    echo "   $side: train.py failed (rc $rc): $(tail -3 <<<"$out")" >&2
    return 0
  fi
  if ! grep -q "^dataset: $N_IMG images, $IMG_CLASSES classes" <<<"$out" ||
     ! grep -q "^epoch 1: $N_IMG images, $IMG_CLASSES classes" <<<"$e1" ||
     ! grep -q "^epoch 2: $N_IMG images, $IMG_CLASSES classes" <<<"$e2"; then
    IMG_ERR+="$side: wrong data set: $(grep -E '^(dataset|epoch 2):' <<<"$out" | tr '\n|' ' /' | sed 's/ *$//' | cut -c1-300). "
    echo "   $side: wrong data set: $out" >&2
    return 0
  fi
  # Same files, same transform: both sides must see the same pixels and labels.
  sig=$(sed -E 's/.*(mean pixel [0-9.]+, label sum [0-9]+).*/\1/' <<<"$e2")
  if [[ -z "$IMG_REF" ]]; then
    IMG_REF=$sig; IMG_REF_SIDE=$side
  elif [[ "$sig" != "$IMG_REF" ]]; then
    IMG_ERR+="$side: data differs: $sig, first counted run ($IMG_REF_SIDE): $IMG_REF. "
    echo "   $side: data differs: $sig, first counted run ($IMG_REF_SIDE): $IMG_REF" >&2
    return 0
  fi
  if [[ $side == fs ]]; then
    IMG_FS+=("$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$e2")")
    IMG_FS1+=("$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$e1")")
  else
    IMG_LOCAL+=("$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$e2")")
    IMG_LOCAL1+=("$(sed -E 's/.* ([0-9.]+) images\/s.*/\1/' <<<"$e1")")
  fi
}
for r in $(seq "$RUNS"); do
  nf=${#IMG_FS[@]}; nl=${#IMG_LOCAL[@]}
  if (( r % 2 )); then
    train local "$WORK/ds/images"; train fs "$MNT/$BUCKET/imgs"
  else
    train fs "$MNT/$BUCKET/imgs"; train local "$WORK/ds/images"
  fi
  f="failed"; l="failed"
  (( ${#IMG_FS[@]} > nf )) && f="${IMG_FS[-1]} (epoch 1 ${IMG_FS1[-1]})"
  (( ${#IMG_LOCAL[@]} > nl )) && l="${IMG_LOCAL[-1]} (epoch 1 ${IMG_LOCAL1[-1]})"
  echo "   run $r ($( (( r % 2 )) && echo "local first" || echo "mount first")): images/s, epoch 2: aisle-fs $f; local $l"
done
mmm() { [[ $# -eq 0 ]] && { echo "-"; return; }; stats "$@" | awk '{printf "%.1f (%.1f-%.1f)", $1, $2, $3}'; }
med1() { [[ $# -eq 0 ]] && { echo ""; return; }; stats "$@" | awk '{printf "%.1f", $1}'; }
IMGF_MED=$(med1 "${IMG_FS[@]}"); IMGL_MED=$(med1 "${IMG_LOCAL[@]}")
IMGF1_MED=$(med1 "${IMG_FS1[@]}"); IMGL1_MED=$(med1 "${IMG_LOCAL1[@]}")
RATIO_IMG="-"; V_IMG="MISSES (no complete run on both sides)"
if [[ -n "$IMGF_MED" && -n "$IMGL_MED" ]]; then
  RATIO_IMG=$($PY -c "print('%.2f' % ($IMGF_MED / $IMGL_MED))")
  V_IMG=$(verdict "$RATIO_IMG >= 0.9")
  RATIO_IMG+="x"
fi
RATIO_IMG1="-"
[[ -n "$IMGF1_MED" && -n "$IMGL1_MED" ]] && RATIO_IMG1="$($PY -c "print('%.2f' % ($IMGF1_MED / $IMGL1_MED))")x"
IMG_NOTE=""
if [[ -n "$IMG_ERR" ]]; then
  IMG_NOTE=" **${IMG_ERR% }** (aisle-fs ${#IMG_FS[@]}, local ${#IMG_LOCAL[@]} of $RUNS runs counted)"
  [[ $RATIO_IMG != - ]] && V_IMG+=" (failed runs left out, see the aisle-fs column)"
  echo "   ImageFolder errors: $IMG_ERR" >&2
fi

# ---------------------------------------------------------------------------------------------
echo "== 5. aisle-fs RSS while streaming $RSS_GB GiB"
# O_DIRECT reads bypass the page cache, so every pass streams through aisle-fs again.
mount_fs local_reads=off
rm -f "$WORK/rss.stop" "$WORK/rss.ready"
$PY "$HELPER" rss "$FS_PID" "$WORK/rss.stop" "$WORK/rss.ready" >"$WORK/rss.all" &
RSS_PID=$!
for _ in $(seq 200); do [[ -e "$WORK/rss.ready" ]] && break; sleep 0.05; done  # first sample taken
[[ -e "$WORK/rss.ready" ]] || die "RSS sampler did not start"
RSS_T=fail RSS_READ=0 RSS_PASSES=0 RSS_MODE=""
read -r RSS_T RSS_READ RSS_PASSES RSS_MODE < <($PY "$HELPER" stream "$MNT/$BUCKET/big/big.bin" "$RSS_BYTES" ||
  echo "fail") || true
touch "$WORK/rss.stop"; wait "$RSS_PID" || true
unmount
[[ "$RSS_T" != fail && -n "${RSS_MODE:-}" ]] || die "streaming through the mount failed"
[[ "$RSS_READ" -ge "$RSS_BYTES" ]] || die "streamed $RSS_READ of $RSS_BYTES bytes"
RSS_PEAK=$($PY -c "print(max(float(l) for l in open('$WORK/rss.all') if l.strip()))")
[[ "$RSS_PEAK" != 0.0 ]] || die "no RSS sample of aisle-fs"
RSS_GIB=$($PY -c "print('%.2f' % ($RSS_READ / 2**30))")
RSS_MBPS=$($PY -c "print('%.0f' % ($RSS_READ / 2**20 / $RSS_T))")
RSS_HOW="$RSS_PASSES passes over the ${BIG_MB} MiB object"
[[ $RSS_MODE == direct ]] && RSS_HOW+=", O_DIRECT" || RSS_HOW+=", **buffered (O_DIRECT refused)** + fadvise DONTNEED"
echo "   $RSS_GIB GiB in $RSS_T s ($RSS_MBPS MiB/s, $RSS_HOW): peak RSS $RSS_PEAK MiB"

# ---------------------------------------------------------------------------------------------
RATIO_SEQ=$($PY -c "print('%.2f' % ($CURL_MED / $FS_MED))")
RATIO_SEQD=$($PY -c "print('%.2f' % ($CURL_MED / $FSD_MED))")
RATIO_SEQN=$($PY -c "print('%.2f' % ($CURL_MED / $FSN_MED))")
RATIO_SEQND=$($PY -c "print('%.2f' % ($CURL_MED / $FSND_MED))")
MBPS_FSD=$($PY -c "print('%.0f' % ($BIG_MB / $FSD_MED))")
MBPS_FSN=$($PY -c "print('%.0f' % ($BIG_MB / $FSN_MED))")
MBPS_FSND=$($PY -c "print('%.0f' % ($BIG_MB / $FSND_MED))")
RATIO_SMALL=$($PY -c "print('%.2f' % ($SML_MED / $SMF_MED))")
RATIO_SMALLN=$($PY -c "print('%.2f' % ($SML_MED / $SMN_MED))")
RATIO_SMALL_WARM=$($PY -c "print('%.2f' % ($SML_MED / $SMW_MED))")
MBPS_FS=$($PY -c "print('%.0f' % ($BIG_MB / $FS_MED))")
MBPS_CURL=$($PY -c "print('%.0f' % ($BIG_MB / $CURL_MED))")
DATE=$(date -u +%Y-%m-%d)
OUT="$HERE/results/fs-$DATE.md"
mkdir -p "$HERE/results"
{
  echo "# aisle-fs benchmarks, $DATE"
  echo
  echo "Command: \`$CMDLINE\` (loopback, one aisle-node target, $(nproc) cores shared; load average at end: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo "Median (min-max) of $RUNS runs; every aisle-fs run on a fresh mount (no client or page cache)."
  echo
  echo "| benchmark | aisle-fs | side by side | ratio | target | epoch 1 (cold mount), images/s |"
  echo "|---|---|---|---|---|---|"
  echo "| sequential read ${BIG_MB} MiB (local reads: node on this host) | $FS_MED s ($FS_MIN-$FS_MAX), $MBPS_FS MiB/s | curl GET $CURL_MED s ($CURL_MIN-$CURL_MAX), $MBPS_CURL MiB/s | ${RATIO_SEQ}x | >= 0.8x: $(verdict "$RATIO_SEQ >= 0.8") | - |"
  echo "| sequential read ${BIG_MB} MiB (local reads), \`-o direct_io\` | $FSD_MED s ($FSD_MIN-$FSD_MAX), $MBPS_FSD MiB/s | curl GET $CURL_MED s | ${RATIO_SEQD}x | >= 0.8x: $(verdict "$RATIO_SEQD >= 0.8") | - |"
  echo "| sequential read ${BIG_MB} MiB over HTTP (\`-o local_reads=off\`) | $FSN_MED s ($FSN_MIN-$FSN_MAX), $MBPS_FSN MiB/s | curl GET $CURL_MED s | ${RATIO_SEQN}x | >= 0.8x: $(verdict "$RATIO_SEQN >= 0.8") | - |"
  echo "| sequential read ${BIG_MB} MiB over HTTP, \`-o direct_io\` | $FSND_MED s ($FSND_MIN-$FSND_MAX), $MBPS_FSND MiB/s | curl GET $CURL_MED s | ${RATIO_SEQND}x | >= 0.8x: $(verdict "$RATIO_SEQND >= 0.8") | - |"
  echo "| \`ls -l\` $N_LS objects, cold | $LSC_MED s ($LSC_MIN-$LSC_MAX) | local ext4 $LSL_MED s ($LSL_MIN-$LSL_MAX) | - | < 1 s: $(verdict "$LSC_MED < 1") | - |"
  echo "| \`ls -l\` $N_LS objects, warm (within TTL) | $LSW_MED s ($LSW_MIN-$LSW_MAX) | local ext4 $LSL_MED s | - | < 1 s: $(verdict "$LSW_MED < 1") | - |"
  echo "| $N_SMALL x ${SMALL_KB} KiB files, 4 readers, cold mount | $SMF_MED s ($SMF_MIN-$SMF_MAX) | local disk (warm) $SML_MED s ($SML_MIN-$SML_MAX) | ${RATIO_SMALL}x | >= 0.3x: $(verdict "$RATIO_SMALL >= 0.3") | - |"
  echo "| $N_SMALL x ${SMALL_KB} KiB files, 4 readers, cold mount over HTTP (\`-o local_reads=off\`) | $SMN_MED s ($SMN_MIN-$SMN_MAX) | local disk (warm) $SML_MED s | ${RATIO_SMALLN}x | >= 0.3x: $(verdict "$RATIO_SMALLN >= 0.3") | - |"
  echo "| $N_SMALL x ${SMALL_KB} KiB files, 4 readers, warm mount (2nd pass) | $SMW_MED s ($SMW_MIN-$SMW_MAX) | local disk (warm) $SML_MED s | ${RATIO_SMALL_WARM}x | >= 0.3x: $(verdict "$RATIO_SMALL_WARM >= 0.3") | - |"
  echo "| ImageFolder + DataLoader, $N_IMG ${IMG_SIZE}x${IMG_SIZE} JPEGs, $IMG_CLASSES classes (train.py --client-resize, 2 workers, batch 32), epoch 2 | $(mmm "${IMG_FS[@]}") images/s$IMG_NOTE | local disk $(mmm "${IMG_LOCAL[@]}") images/s | $RATIO_IMG | >= 0.9x: $V_IMG | aisle-fs $(mmm "${IMG_FS1[@]}"), local $(mmm "${IMG_LOCAL1[@]}"): $RATIO_IMG1 |"
  echo "| aisle-fs peak RSS streaming $RSS_GIB GiB over HTTP ($RSS_HOW; $RSS_MBPS MiB/s) | $RSS_PEAK MiB | - | - | < 256 MiB: $(verdict "$RSS_PEAK < 256") | - |"
} >"$OUT"
echo
cat "$OUT"
echo
echo "wrote $OUT"
