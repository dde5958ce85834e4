#!/usr/bin/env bash
# The README's demo command: install dependencies, build, start a node on a default data
# directory and a free port, put sample objects, list and read them back.
#   scripts/demo.sh          run the demo (the node keeps running afterwards)
#   scripts/demo.sh stop     stop the demo node
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${AISLE_DEMO_DIR:-$HOME/.local/share/aisle/demo}
BIN=$ROOT/${AISLE_BUILD_DIR:-build}
PIDFILE=$DATA/node.pid

stop_node() {
  if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
    echo "demo node stopped"
  fi
  rm -f "$PIDFILE"
}
if [[ "${1:-}" == "stop" ]]; then stop_node; exit 0; fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing dependencies (Debian packages)"
bash packaging/install-deps.sh
step "Building"
bash scripts/build.sh

step "Starting aisle-node (data in $DATA)"
stop_node
mkdir -p "$DATA"
rm -f "$DATA/ready"
"$BIN/server/aisle-node" --role target --port 0 --mountpath "$DATA/mp1" \
  --ready-file "$DATA/ready" >"$DATA/node.log" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 100); do [[ -s $DATA/ready ]] && break; sleep 0.1; done
if [[ ! -s $DATA/ready ]]; then echo "node did not start; see $DATA/node.log"; cat "$DATA/node.log"; exit 1; fi
export AIS_ENDPOINT=$(cat "$DATA/ready")
echo "endpoint: $AIS_ENDPOINT"
AISLE="$BIN/cli/aisle"

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
echo "\$ curl -s '$AIS_ENDPOINT/v1/objects/demo/samples/hello.txt'"
curl -s "$AIS_ENDPOINT/v1/objects/demo/samples/hello.txt"

cat <<EOT

The node keeps running (pid $(cat "$PIDFILE"), log $DATA/node.log). Try:
  export AIS_ENDPOINT=$AIS_ENDPOINT
  $AISLE bucket ls
  $AISLE object ls ais://demo
  $AISLE object put ./some-file ais://demo/some-file
  curl -s -X GET "\$AIS_ENDPOINT/v1/buckets/demo" | python3 -m json.tool
Stop it with: bash scripts/demo.sh stop
EOT
