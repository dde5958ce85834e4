#!/usr/bin/env bash
# Cold small-file reads through aisle-fs with batch prefetch (GetBatch), 1 proxy + 3 targets
# on this host, side by side with local files (bench_fs_cold.py does the work):
#   (a) cold (drop_caches before each run, a fresh mount): `xargs -P4 cat` of N_SMALL x
#       SMALL_KB files through aisle-fs vs the same files in a local directory on the same disk
#       (also cold). Target >= 1.5x. Also with -o prefetch=off.
#   (b) the node's copy warm, a fresh mount vs the local copy warm. Target >= 0.5x.
#   (c) N_PICK random members of an N_MEMBERS x 1 KiB tar shard by name, one reader, a fresh
#       mount without ls (and a second pass on it), vs fuse-zip on a local stored-zip copy.
#       Target >= 0.5x.
#   (d) aisle-fs peak RSS over (a) and (b) vs the cache budget (PREFETCH_MEM).
# Median of RUNS. Needs root (drop_caches). Writes bench/results/fs-cold-<date>.md.
# Environment: AISLE_NODE_BIN, AISLE_FS_BIN, BENCH_DIR (/var/tmp), RUNS (3), N_SMALL (10000),
#   SMALL_KB (100), N_MEMBERS (100000), N_PICK (2000), PREFETCH_MEM (512M)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export AISLE_NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
export AISLE_FS_BIN="${AISLE_FS_BIN:-$REPO/build/fs/aisle-fs}"
[[ -x "$AISLE_NODE_BIN" && -x "$AISLE_FS_BIN" ]] || { echo "bench-fs-cold: build first" >&2; exit 1; }
[[ -w /proc/sys/vm/drop_caches ]] || { echo "bench-fs-cold: needs root (drop_caches)" >&2; exit 1; }
RESULT="$(/usr/bin/python3 "$HERE/bench_fs_cold.py" | tail -1)"
mkdir -p "$HERE/results"
OUT="$HERE/results/fs-cold-$(date -u +%Y-%m-%d).md"
/usr/bin/python3 - "$RESULT" "$OUT" <<'PY'
import json, os, statistics, sys
r = json.loads(sys.argv[1]); p = r["params"]; x = r["runs"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
m = lambda k: statistics.median(x[k]) if x.get(k) else float("nan")
runs = lambda k: " / ".join("%.2f" % v for v in x.get(k, []))
fz = r["have_fuse_zip"]
text = f"""# aisle-fs cold small-file reads (batch prefetch)

CPU: {cpu} ({os.cpu_count()} cores seen). 1 proxy + 3 targets on this host. {p['N']} files x
{p['SIZE'] // 1024} KiB, `xargs -P4 cat`; shard of {p['N_MEMBERS']} x 1 KiB, {p['N_PICK']} random members, one
reader. Prefetch budget {p['PREFETCH_MEM']}. Median of {p['RUNS']}.

| case | aisle-fs | aisle-fs prefetch=off | local | ratio (prefetch) | ratio (off) | target |
|---|---|---|---|---|---|---|
| (a) cold, s | {m('fs_cold'):.2f} ({runs('fs_cold')}) | {m('fs_cold_off'):.2f} | {m('local_cold'):.2f} | **{r['ratio_cold']:.2f}x** | {r['ratio_cold_off']:.2f}x | >= 1.5x |
| (b) node warm, fresh mount vs local warm, s | {m('fs_warm'):.2f} ({runs('fs_warm')}) | {m('fs_warm_off'):.2f} | {m('local_warm'):.2f} | **{r['ratio_warm']:.2f}x** | {r['ratio_warm_off']:.2f}x | >= 0.5x |
| (c) shard members by name, members/s | {m('shard_fs'):.0f} (2nd pass {m('shard_fs_2nd'):.0f}) | {m('shard_fs_off'):.0f} | fuse-zip {r['fuse_zip_ref']:.0f}{'' if fz else ' (reference)'} | **{r.get('ratio_shard', float('nan')):.2f}x** | {r.get('ratio_shard_off', float('nan')):.2f}x | >= 0.5x |
| (d) aisle-fs peak RSS | {r['rss_peak_mib']:.0f} MiB | | | | | <= budget + 64 MiB |
{"" if fz else chr(10) + "fuse-zip could not be used here (" + r.get("fuse_zip_error", "not installed") + "): (c) is against FUSE_ZIP_REF, the fuse-zip figure measured on this host before." + chr(10)}"""
open(sys.argv[2], "w").write(text)
print(text)
PY
