#!/usr/bin/env bash
# copy-listrange benchmark: N (2000) objects of SIZE (4 KiB) on 1 proxy + 3 targets (loopback)
# copied by one template job vs CLIENTS (8) client threads doing GET+PUT per object vs a
# prefix copy-bck job. Objects/s, median of RUNS (5). Writes bench/results/listrange-<date>.md.
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), N, SIZE, CLIENTS, RUNS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export AISLE_NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
[[ -x "$AISLE_NODE_BIN" ]] || { echo "bench-listrange: no aisle-node at $AISLE_NODE_BIN" >&2; exit 1; }
RESULT="$(/usr/bin/python3 "$HERE/bench_listrange.py")"
mkdir -p "$HERE/results"
OUT="$HERE/results/listrange-$(date -u +%Y-%m-%d).md"
/usr/bin/python3 - "$RESULT" "$OUT" <<'PY'
import json, os, sys
r = json.loads(sys.argv[1]); p = r["params"]; m = r["median"]; runs = r["runs"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
fmt = lambda v: " / ".join("%.0f" % x for x in v)
text = f"""# copy-listrange vs per-object copies from a client

CPU: {cpu} ({os.cpu_count()} cores seen). {p['N']} objects x {p['SIZE']} B, 1 proxy + 3 targets,
{p['RUNS']} runs; the client copy uses {p['CLIENTS']} threads (Python requests sessions, GET+PUT).

| method | objects/s (median) | runs |
|---|---|---|
| copy-listrange, template | {m['listrange']:.0f} | {fmt(runs['listrange'])} |
| client GET+PUT per object | {m['client']:.0f} | {fmt(runs['client'])} |
| copy-bck, prefix | {m['copy_bck']:.0f} | {fmt(runs['copy_bck'])} |

Ratio copy-listrange / client copy: **{r['ratio_client']:.1f}x**; copy-listrange / copy-bck: {r['ratio_copy_bck']:.2f}x
"""
open(sys.argv[2], "w").write(text)
print(text)
PY
