#!/usr/bin/env bash
# The README's demo command: install dependencies, build, start a local cluster (1 proxy +
# 3 targets) on a default data directory, put sample objects, list and read them back.
#   scripts/demo.sh          run the demo (the cluster keeps running afterwards)
#   scripts/demo.sh stop     stop the demo cluster
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${AISLE_DEMO_DIR:-$HOME/.local/share/aisle/cluster}
BIN=$ROOT/${AISLE_BUILD_DIR:-build}
AISLE="$BIN/cli/aisle"

if [[ "${1:-}" == "stop" ]]; then exec "$AISLE" down --dir "$DATA"; fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies (Debian packages)"
bash packaging/install-deps.sh
step "Building"
bash scripts/build.sh

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

cat <<EOT

The cluster keeps running (logs in $DATA/*.log). Try:
  export AIS_ENDPOINT=$AIS_ENDPOINT
  $AISLE bucket ls
  $AISLE object ls ais://demo
  $AISLE object put ./some-file ais://demo/some-file
  curl -s -X GET "\$AIS_ENDPOINT/v1/buckets/demo" | python3 -m json.tool
  $AISLE cluster show
  $AISLE etl init builtin resize image-resize --args size=256,crop=224   # see docs/ETL.md
  build/fs/aisle-fs \$AIS_ENDPOINT /mnt/aisle   # then: cat /mnt/aisle/.etl/upper/demo/samples/hello.txt
Stop it with: bash scripts/demo.sh stop   (or: $AISLE down --dir $DATA)
EOT
