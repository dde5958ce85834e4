#!/usr/bin/env bash
# GetBatch benchmark: N (10000) objects of SIZE (100 KiB) on 1 proxy + 3 targets (loopback),
# fetched by CLIENTS (4) Python threads with keep-alive sessions, once as one GET per object
# and once as GetBatch requests of BATCH (256) entries (streamed TAR). Objects/s, median of RUNS
# (3); the ratio is GetBatch / per-object GET. Writes bench/results/getbatch-<date>.md.
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), N, SIZE, BATCH, CLIENTS, RUNS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export AISLE_NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
[[ -x "$AISLE_NODE_BIN" ]] || { echo "bench-getbatch: no aisle-node at $AISLE_NODE_BIN" >&2; exit 1; }
RESULT="$(/usr/bin/python3 "$HERE/bench_getbatch.py")"
mkdir -p "$HERE/results"
OUT="$HERE/results/getbatch-$(date -u +%Y-%m-%d).md"
/usr/bin/python3 - "$RESULT" "$OUT" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); p = r["params"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
fmt = lambda v: " / ".join("%.0f" % x for x in v)
text = f"""# GetBatch vs per-object GET

CPU: {cpu} ({__import__('os').cpu_count()} cores seen). {p['N']} objects x {p['SIZE']} B, 1 proxy + 3 targets,
{p['CLIENTS']} client threads (Python requests sessions), batches of {p['BATCH']}, {p['RUNS']} runs.

| method | objects/s (median) | runs |
|---|---|---|
| one GET per object (301 via proxy) | {r['get']['median']:.0f} | {fmt(r['get']['runs'])} |
| GetBatch, streamed TAR | {r['batch']['median']:.0f} | {fmt(r['batch']['runs'])} |

Ratio GetBatch / GET: **{r['ratio']:.1f}x**
"""
open(sys.argv[2], "w").write(text)
print(text)
PY
