#!/usr/bin/env bash
# Cluster benchmark: is the proxy off the data path, and what does a redirect cost?
#  1. Aggregate GET throughput of OBJ_KB-KiB objects through the proxy with 1, 2 and 4 targets,
#     each target capped at RATE bytes/s (aisle-node --rate-limit, a per-node token bucket that
#     stands in for a per-node network link). If data flowed through the proxy, more targets
#     would not help; target: 4 targets >= 3.6x one target.
#  2. 10 KiB GETs through the proxy (client follows the 301) vs straight to the owner (client
#     computes HRW itself), same client, same cluster.
# Median of RUNS runs; writes bench/results/cluster-<date>.md. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=${AISLE_NODE_BIN:-build/server/aisle-node}
RATE=${RATE:-52428800}        # 50 MiB/s per target
RUNS=${RUNS:-3}
DUR=${DUR:-6}
THREADS=${THREADS:-16}
NOBJ=${NOBJ:-1024}           # objects per configuration
OBJ_KB=${OBJ_KB:-256}        # object size
PY=/usr/bin/python3
WORK=$(mktemp -d /var/tmp/aisle-bench-cluster.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start_cluster() {  # $1 = targets, $2 = rate
  local n=$1 rate=$2 d="$WORK/c$1-$RANDOM"
  mkdir -p "$d"
  "$NODE" --role proxy --port 0 --data-dir "$d/p" --ready-file "$d/p.ready" >"$d/p.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s $d/p.ready ]] && break; sleep 0.05; done
  EP=$(cat "$d/p.ready")
  for i in $(seq "$n"); do
    "$NODE" --role target --port 0 --mountpath "$d/t$i" --primary "$EP" --rate-limit "$rate" \
      --ready-file "$d/t$i.ready" >"$d/t$i.log" 2>&1 &
    PIDS+=($!)
  done
  for i in $(seq "$n"); do for _ in $(seq 200); do [[ -s $d/t$i.ready ]] && break; sleep 0.05; done; done
  sleep 1
  curl -sf -X POST "$EP/v1/buckets/bench" -d '{"action":"create-bck"}' >/dev/null
}
stop_cluster() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }

put_objects() {  # $1 prefix, $2 count, $3 file
  for i in $(seq 0 $(($2 - 1))); do printf -v n '%s%05d' "$1" "$i"; echo "$n"; done |
    xargs -P 8 -I{} curl -sf -L -T "$3" "$EP/v1/objects/bench/{}" -o /dev/null
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

head -c $((OBJ_KB * 1024)) /dev/urandom >"$WORK/1m"
head -c 10240 /dev/urandom >"$WORK/10k"
declare -A TP RUNSV IDEAL
for n in 1 2 4; do
  start_cluster "$n" "$RATE"
  put_objects big/ "$NOBJ" "$WORK/1m"
  vals=()
  for r in $(seq "$RUNS"); do
    vals+=("$($PY bench/cluster_load.py "$EP" bench big/ "$NOBJ" "$DUR" "$THREADS" proxy | $PY -c 'import json,sys; print(round(json.load(sys.stdin)["mbps"],1))')")
  done
  TP[$n]=$(printf '%s\n' "${vals[@]}" | median)
  RUNSV[$n]="${vals[*]}"
  # With every client cycling over all objects, the busiest target (most objects) caps the
  # aggregate at RATE * NOBJ / max_count: the ideal for this HRW split.
  IDEAL[$n]=$(curl -s "$EP/v1/daemon?what=smap" | $PY -c '
import json, sys, urllib.request
sm = json.load(sys.stdin)
counts = [json.load(urllib.request.urlopen(t["public_net"]["direct_url"] + "/v1/daemon?what=stats"))["objects"]
          for t in sm["tmap"].values()]
print(round(int(sys.argv[1]) / max(counts), 2))' "$NOBJ")
  echo "targets=$n: ${vals[*]} MB/s (median ${TP[$n]}, ideal ${IDEAL[$n]}x)"
  stop_cluster
done

start_cluster 3 0
put_objects small/ 200 "$WORK/10k"
pv=(); dv=()
for r in $(seq "$RUNS"); do
  pv+=("$($PY bench/cluster_load.py "$EP" bench small/ 200 "$DUR" 8 proxy | $PY -c 'import json,sys; print(round(json.load(sys.stdin)["gets_per_s"]))')")
  dv+=("$($PY bench/cluster_load.py "$EP" bench small/ 200 "$DUR" 8 direct | $PY -c 'import json,sys; print(round(json.load(sys.stdin)["gets_per_s"]))')")
done
stop_cluster
PM=$(printf '%s\n' "${pv[@]}" | median); DM=$(printf '%s\n' "${dv[@]}" | median)
R2=$($PY -c "print(round(${TP[2]}/${TP[1]},2))"); R4=$($PY -c "print(round(${TP[4]}/${TP[1]},2))")
RR=$($PY -c "print(round($PM/$DM,2))")
echo "scaling: 2 targets ${R2}x, 4 targets ${R4}x one target (target >= 3.6x at 4)"
echo "10 KiB GETs via proxy ${PM}/s vs direct ${DM}/s: ${RR}x"

mkdir -p bench/results
OUT=bench/results/cluster-$(date -u +%F).md
cat >"$OUT" <<EOT
### Cluster: proxy off the data path, redirect cost ($(date -u +%F))

Command: \`bash bench/bench-cluster.sh\` (RUNS=$RUNS, DUR=${DUR}s, $THREADS client threads; each
target capped at $((RATE / 1048576)) MiB/s with \`--rate-limit\`; $NOBJ x $OBJ_KB KiB objects; client
follows the proxy's 301 to the owner over keep-alive connections).

| targets | aggregate GET MB/s, median | runs | vs 1 target | ideal for this HRW split |
|---|---|---|---|---|
| 1 | ${TP[1]} | ${RUNSV[1]} | 1.00x | ${IDEAL[1]}x |
| 2 | ${TP[2]} | ${RUNSV[2]} | ${R2}x | ${IDEAL[2]}x |
| 4 | ${TP[4]} | ${RUNSV[4]} | ${R4}x (target >= 3.6x) | ${IDEAL[4]}x |

"Ideal" = objects / objects on the busiest target: with every client cycling over all objects,
the busiest target saturates first, so this is the most any placement-respecting cluster could
reach for these object names.

10 KiB GETs, 3 targets, 8 client threads: via proxy (redirect + GET) ${PM}/s (runs: ${pv[*]}),
direct to the HRW owner ${DM}/s (runs: ${dv[*]}): **${RR}x** (the price of the redirect hop).
EOT
echo "wrote $OUT"
