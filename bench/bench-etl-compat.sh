#!/usr/bin/env bash
# AIStore-SDK-shaped ETL benchmarks (bench/bench_etl_compat.py does the work) on 127.0.0.1:
#   1. inline GET ?etl_name= through an Etl.init_class ETL (cloudpickled ETLServer subclass)
#      vs the same function as init-code (hpush://): target >= 0.9x;
#   2. one offline etl-bck job with a 2-stage pipeline of built-ins (decompress, md5) vs the
#      same two built-ins as two offline jobs in sequence: target >= 1.5x;
#   3. one offline etl-bck job through 2 hpush programs shaped like AIStore's webservers, with
#      support_direct_put (Ais-Node-Url forwarding + direct put) vs without (each result
#      returned to the target, which calls the next stage and writes): no target, recorded.
# Medians of RUNS runs (paired, alternating order). Builds nothing; cleans up its cluster.
# Environment: AISLE_NODE_BIN (build/server/aisle-node), RUNS (5), TARGETS (2), DUR (4 s),
#   THREADS (8), N_OBJ (200), OBJ_KB (64), N_OFF (1000), OFF_KB (64), N_DP (500), DP_KB (256),
#   PARTS (inline,offline,directput)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export AISLE_NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
[[ -x "$AISLE_NODE_BIN" ]] || { echo "aisle-node not found at $AISLE_NODE_BIN" >&2; exit 1; }
/usr/bin/python3 -c "import cloudpickle, requests" || { echo "needs python3-cloudpickle, python3-requests" >&2; exit 1; }
J=$(/usr/bin/python3 "$HERE/bench_etl_compat.py")
/usr/bin/python3 - "$J" <<'PY'
import json, statistics, sys
j = json.loads(sys.argv[1])
def mm(v, f="%.0f"):
    return (f + " (" + f + "-" + f + ")") % (statistics.median(v), min(v), max(v))
print("CPU: %s, %d cores; load at end %s; median (min-max) of %d runs" % (j["cpu"], j["cores"], " ".join(j["load_avg"]), j["runs"]))
print("| benchmark | Aisle (AIStore form) | baseline | ratio (median of paired) | target |")
print("|---|---|---|---|---|")
if "inline" in j:
    i = j["inline"]
    print("| inline GET, init_class ETL vs init-code hpush, objects/s | %s | %s | %.2fx | >= 0.9x: %s |" % (
        mm(i["class_objs_per_s"]), mm(i["code_objs_per_s"]), i["ratio_median"], "meets" if i["ratio_median"] >= 0.9 else "MISSES"))
if "offline" in j:
    o = j["offline"]
    print("| offline, pipeline gunzip>>md5 in one job vs two jobs, s | %s | %s | %.2fx | >= 1.5x: %s |" % (
        mm(o["pipeline_s"], "%.2f"), mm(o["two_jobs_s"], "%.2f"), o["ratio_median"], "meets" if o["ratio_median"] >= 1.5 else "MISSES"))
if "directput" in j:
    d = j["directput"]
    print("| offline, 2 hpush programs: Ais-Node-Url + direct put vs results returned to the target, s | %s | %s | %.2fx | recorded |" % (
        mm(d["forwarded_s"], "%.2f"), mm(d["returned_s"], "%.2f"), d["ratio_median"]))
PY
