#!/usr/bin/env bash
# End to end: unmodified torchvision ImageFolder training code reading images that the
# cluster resizes next to the data (see README.md). Needs a running cluster:
#   aisle up                        # or any cluster; AIS_ENDPOINT (default http://localhost:8080)
#   examples/imagefolder/run.sh
# Generates ~500 images, uploads them to ais://imagenet-mini/train/, registers two transforms
# (the built-in image-resize as `resize`, the Python/PIL pil_transform.py as `pil-resize`),
# mounts aisle-fs and runs train.py over MOUNT/.etl/<transform>/imagenet-mini/train, then,
# for comparison, over the local files with --client-resize.
# Removes what it created (mount, temp dir, the two transforms, the bucket if it made it) on
# exit, also on failure; KEEP=1 keeps the bucket and the transforms.
#
# Environment: AIS_ENDPOINT, AISLE_CLI (aisle on PATH, else build/cli/aisle),
#   AISLE_FS_BIN (aisle-fs on PATH, else build/fs/aisle-fs), IMAGES (500), SIZE (384)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export AIS_ENDPOINT="${AIS_ENDPOINT:-http://localhost:8080}"
pick() { if [[ -n "$1" ]]; then echo "$1"; elif command -v "$2" >/dev/null; then command -v "$2"; else echo "$3"; fi; }
AISLE="$(pick "${AISLE_CLI:-}" aisle "$REPO/build/cli/aisle")"
AISLE_FS="$(pick "${AISLE_FS_BIN:-}" aisle-fs "$REPO/build/fs/aisle-fs")"
PY=/usr/bin/python3
IMAGES="${IMAGES:-500}"
SIZE="${SIZE:-384}"
BUCKET=imagenet-mini

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x "$AISLE" ]] || die "aisle CLI not found (set AISLE_CLI)"
[[ -x "$AISLE_FS" ]] || die "aisle-fs not found (set AISLE_FS_BIN)"
command -v fusermount3 >/dev/null || die "fusermount3 missing (apt-get install fuse3)"
$PY -c "import torchvision, PIL" 2>/dev/null || die "needs python3-torchvision and python3-pil"
"$AISLE" cluster show >/dev/null 2>&1 || "$AISLE" bucket ls >/dev/null 2>&1 ||
  die "no cluster at $AIS_ENDPOINT (start one with: aisle up)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/aisle-imagefolder.XXXXXX")"
MNT="$WORK/mnt"
FS_PID=""
MADE_BUCKET=0
ETLS=()

is_mounted() { awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | grep -q .; }
cleanup() {
  local rc=$?
  if is_mounted; then fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true; fi
  if [[ -n "$FS_PID" ]]; then
    for _ in $(seq 50); do kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$FS_PID" 2>/dev/null || true
    wait "$FS_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" != 1 ]]; then
    for e in "${ETLS[@]}"; do "$AISLE" etl rm "$e" >/dev/null 2>&1 || true; done
    [[ $MADE_BUCKET == 1 ]] && { "$AISLE" bucket rm -y "ais://$BUCKET" >/dev/null 2>&1 || true; }
  fi
  is_mounted || rm -rf "$WORK"  # never rm -rf through a live mount
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== 1. $IMAGES generated ${SIZE}x${SIZE} JPEGs (an ImageFolder tree, 10 classes)"
$PY "$REPO/tools/gen-dataset.py" "$WORK/ds" --images "$IMAGES" --classes 10 --size "$SIZE"

echo "== 2. upload to ais://$BUCKET/train/"
if "$AISLE" bucket create "ais://$BUCKET" >/dev/null 2>&1; then MADE_BUCKET=1; fi
"$AISLE" object put --recursive --workers 8 "$WORK/ds/images" "ais://$BUCKET/train/"

echo "== 3. register the transforms"
for e in resize pil-resize; do "$AISLE" etl rm "$e" >/dev/null 2>&1 || true; done
ETLS=(resize pil-resize)
"$AISLE" etl init builtin resize image-resize --args size=256,crop=224,format=jpeg,quality=90
"$AISLE" etl init code pil-resize "$HERE/pil_transform.py"
"$AISLE" etl ls

echo "== 4. mount aisle-fs on $MNT"
mkdir -p "$MNT"
"$AISLE_FS" "$AIS_ENDPOINT" "$MNT" -f >"$WORK/aisle-fs.log" 2>&1 &
FS_PID=$!
for _ in $(seq 100); do is_mounted && break; kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.1; done
is_mounted || die "aisle-fs did not mount: $(tail -5 "$WORK/aisle-fs.log")"
ls "$MNT/.etl/resize/$BUCKET/train" | head -3

declare -A RESULT
for e in resize pil-resize; do
  echo "== 5. train.py $MNT/.etl/$e/$BUCKET/train  (unmodified: no client-side resize)"
  out="$($PY "$HERE/train.py" "$MNT/.etl/$e/$BUCKET/train" | tee /dev/stderr)"
  RESULT[$e]="$(tail -1 <<<"$out")"
done

echo "== 6. for comparison, without the cluster: the local files with --client-resize"
out="$($PY "$HERE/train.py" "$WORK/ds/images" --client-resize | tee /dev/stderr)"
RESULT[local]="$(tail -1 <<<"$out")"

echo
echo "Results (one epoch each, the same training code; mean pixel should agree):"
echo "  .etl/resize      (built-in image-resize):  ${RESULT[resize]}"
echo "  .etl/pil-resize  (Python PIL ETL):         ${RESULT[pil-resize]}"
echo "  local files + client-side Resize/Crop:     ${RESULT[local]}"
