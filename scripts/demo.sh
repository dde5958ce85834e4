#!/usr/bin/env bash
# The README's demo command: install dependencies, build the three programs it runs (aisle-node,
# aisle, aisle-fs; the test command builds the rest), start a local cluster (1 proxy + 3
# targets) on a default data directory, put sample objects and a shard, list and read them
# back, run a transform, and mount the cluster with aisle-fs: `ls` a bucket, `cd` into a shard
# and `cat` a member, read a file through /.etl/NAME/.
#   scripts/demo.sh          run the demo (the cluster and the mount stay afterwards)
#   scripts/demo.sh stop     unmount and stop the demo cluster
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${AISLE_DEMO_DIR:-$HOME/.local/share/aisle/cluster}
BIN=$ROOT/${AISLE_BUILD_DIR:-build}
AISLE="$BIN/cli/aisle"
MNT=${AISLE_DEMO_MNT:-$HOME/.local/share/aisle/mnt}

unmount() {  # aisle-fs ends by itself once unmounted
  if mountpoint -q "$MNT" 2>/dev/null; then
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
  fi
}
if [[ "${1:-}" == "stop" ]]; then
  unmount
  exec "$AISLE" down --dir "$DATA"
fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies (Debian packages)"
bash packaging/install-deps.sh
step "Building aisle-node, aisle and aisle-fs"
AISLE_TARGETS="aisle-node aisle aisle-fs" bash scripts/build.sh

step "aisle up: a local cluster of 1 proxy + 3 targets (data in $DATA)"
"$AISLE" up --dir "$DATA" --targets 3
export AIS_ENDPOINT=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['endpoint'])" "$DATA/cluster.json")
step "aisle cluster show"
"$AISLE" cluster show

step "Making sample files"
SAMPLES=$(mktemp -d)
trap 'rm -rf "$SAMPLES"' EXIT
mkdir -p "$SAMPLES/in/images/cat" "$SAMPLES/in/images/dog"
echo "hello from Aisle" >"$SAMPLES/in/hello.txt"
for i in $(seq -w 1 10); do
  head -c $((10000 + 1000 * 10#$i)) /dev/urandom >"$SAMPLES/in/images/cat/$i.jpg"
  head -c $((20000 + 1000 * 10#$i)) /dev/urandom >"$SAMPLES/in/images/dog/$i.jpg"
done
ls -R "$SAMPLES/in" | head -5; echo "... $(find "$SAMPLES/in" -type f | wc -l) files"
mkdir -p "$SAMPLES/shard"  # a WebDataset-style shard: samples 000000..000003, .txt + .cls each
pets=(cat dog)
for i in 0 1 2 3; do
  echo "sample $i: a ${pets[i % 2]}" >"$SAMPLES/shard/00000$i.txt"
  echo $((i % 2)) >"$SAMPLES/shard/00000$i.cls"
done
(cd "$SAMPLES/shard" && tar -cf ../shard-000.tar 0*)

step "aisle bucket create demo"
"$AISLE" bucket create demo 2>/dev/null || echo "(bucket demo already exists)"
step "aisle object put $SAMPLES/in ais://demo/samples/ --recursive"
"$AISLE" object put "$SAMPLES/in" ais://demo/samples/ --recursive
step "aisle object ls ais://demo/samples/images/cat/"
"$AISLE" object ls ais://demo/samples/images/cat/
step "aisle object cat ais://demo/samples/hello.txt"
"$AISLE" object cat ais://demo/samples/hello.txt
step "aisle object head ais://demo/samples/images/dog/01.jpg"
"$AISLE" object head ais://demo/samples/images/dog/01.jpg
step "aisle object get ais://demo/samples/ $SAMPLES/out --recursive  (and compare)"
"$AISLE" object get ais://demo/samples/ "$SAMPLES/out" --recursive
diff -r "$SAMPLES/in" "$SAMPLES/out" && echo "read back: all $(find "$SAMPLES/out" -type f | wc -l) files identical"
step "aisle object put $SAMPLES/shard-000.tar ais://demo/shards/shard-000.tar   (a shard)"
"$AISLE" object put "$SAMPLES/shard-000.tar" ais://demo/shards/shard-000.tar
"$AISLE" archive ls ais://demo/shards/shard-000.tar
step "The same through AIStore's REST API with curl"
echo "\$ curl -sL '$AIS_ENDPOINT/v1/objects/demo/samples/hello.txt'   # -L: the proxy redirects to the owning target"
curl -sL "$AIS_ENDPOINT/v1/objects/demo/samples/hello.txt"

step "ETL: a Python transform, registered once, running on every target"
cat >"$SAMPLES/upper.py" <<'EOPY'
def transform(data: bytes) -> bytes:
    return data.upper()
EOPY
cat "$SAMPLES/upper.py"
"$AISLE" etl init code upper "$SAMPLES/upper.py" 2>/dev/null || echo "(etl upper is already registered)"
"$AISLE" etl ls
step "aisle etl transform upper ais://demo/samples/hello.txt -   (inline: GET ?etl_name=upper)"
"$AISLE" etl transform upper ais://demo/samples/hello.txt -
step "aisle etl transform upper ais://demo/samples/ ais://demo-upper --wait   (offline job on every target)"
"$AISLE" etl transform upper ais://demo/samples/ ais://demo-upper --wait
"$AISLE" object cat ais://demo-upper/samples/hello.txt

step "aisle-fs $AIS_ENDPOINT $MNT   (the whole cluster as files)"
unmount
mkdir -p "$MNT"
"$BIN/fs/aisle-fs" "$AIS_ENDPOINT" "$MNT"
show() { printf '$ %s\n' "$*"; "$@"; }
step "ls a bucket"
show ls -l "$MNT/demo/samples/images/cat"
step "cd into a shard and cat a member"
(show cd "$MNT/demo/shards/shard-000.tar" && show ls -l && show cat 000001.txt 000001.cls)
step "read a file through a transform: /.etl/upper/BUCKET/OBJECT"
show cat "$MNT/.etl/upper/demo/samples/hello.txt"

cat <<EOT

The cluster keeps running (logs in $DATA/*.log), mounted at $MNT. Try:
  export AIS_ENDPOINT=$AIS_ENDPOINT
  $AISLE bucket ls
  $AISLE object ls ais://demo
  $AISLE object put ./some-file ais://demo/some-file
  curl -s -X GET "\$AIS_ENDPOINT/v1/buckets/demo" | python3 -m json.tool
  $AISLE cluster show
  $AISLE etl init builtin resize image-resize --args size=256,crop=224   # see docs/ETL.md
  ls $MNT/demo; cp some-file $MNT/demo/   # written back as an object on close
Stop it with: bash scripts/demo.sh stop   (unmounts, then: $AISLE down --dir $DATA)
EOT
