#!/usr/bin/env bash
# GetBatch benchmark: N (10000) objects of SIZE (100 KiB) on 1 proxy + 3 targets (loopback),
# fetched by CLIENTS (4) Python threads with keep-alive sessions, once as one GET per object
# and once as GetBatch requests of BATCH (256) entries (streamed TAR). Objects/s, median of RUNS
# (3); the ratio is GetBatch / per-object GET. Writes bench/results/getbatch-<date>.md.
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), N, SIZE, BATCH, CLIENTS, RUNS;
# ETL=1: both sides through a Python upper-case ETL (GET ?etl_name= vs GetBatch "etl_name"),
# written to bench/results/getbatch-etl-<date>.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export AISLE_NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
[[ -x "$AISLE_NODE_BIN" ]] || { echo "bench-getbatch: no aisle-node at $AISLE_NODE_BIN" >&2; exit 1; }
RESULT="$(/usr/bin/python3 "$HERE/bench_getbatch.py")"
mkdir -p "$HERE/results"
OUT="$HERE/results/getbatch$([[ "${ETL:-0}" == 1 ]] && echo -etl)-$(date -u +%Y-%m-%d).md"
/usr/bin/python3 - "$RESULT" "$OUT" "$(uptime)" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); p = r["params"]
etl = " through a Python ETL (upper-case)" if p.get("ETL") else ""
q = " ?etl_name=" if p.get("ETL") else ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
fmt = lambda v: " / ".join("%.0f" % x for x in v)
text = f"""# GetBatch vs per-object GET{etl}

CPU: {cpu} ({__import__('os').cpu_count()} cores seen). {p['N']} objects x {p['SIZE']} B, 1 proxy + 3 targets,
{p['CLIENTS']} client threads (Python requests sessions), batches of {p['BATCH']}, {p['RUNS']} runs.
Load: {sys.argv[3].strip()}

| method | objects/s (median) | runs |
|---|---|---|
| one GET{q} per object (301 via proxy) | {r['get']['median']:.0f} | {fmt(r['get']['runs'])} |
| GetBatch{' + etl_name' if p.get('ETL') else ''}, streamed TAR | {r['batch']['median']:.0f} | {fmt(r['batch']['runs'])} |

Ratio GetBatch / GET: **{r['ratio']:.1f}x**
"""
open(sys.argv[2], "w").write(text)
print(text)
PY
