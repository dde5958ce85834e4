#!/usr/bin/env bash
# Shard benchmark (design.md §10), side by side in one run, on 127.0.0.1 only:
#   random member reads over HTTP from aisle-node (keep-alive, READERS=4 concurrent readers)
#   from a 100k-member tar (1 KiB members) and from a ~1 GB tgz, against archivemount and
#   fuse-zip mounting a local copy (mount time included; fuse-zip gets a stored zip of the same
#   members: it reads only zip) and against Python's tarfile; the tar also through an aisle-fs
#   mount of the node (mount + first member timed, then random members by path). Median (min/max) of RUNS runs,
#   each measurement capped at CAP_S seconds. Prints ratios; writes
#   bench/results/shards-<date>.md. Builds nothing; stops the node and unmounts on exit.
#
# Environment: AISLE_NODE_BIN (default build/server/aisle-node), AISLE_FS_BIN (build/fs/aisle-fs),
#   BENCH_DIR (/var/tmp),
#   RUNS (3), READERS (4), N_TAR (100000), TGZ_MB (1024), CAP_S (8), READS (2000), KEEP_DATA (0)
# The aisle side is measured twice: with wrk (C, keep-alive, READERS connections, random
# archpath per request) and with Python requests sessions in READERS threads, as the FUSE
# baselines are read by Python threads.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
FS_BIN="${AISLE_FS_BIN:-$REPO/build/fs/aisle-fs}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
export RUNS="${RUNS:-3}" READERS="${READERS:-4}" N_TAR="${N_TAR:-100000}" TGZ_MB="${TGZ_MB:-1024}"
export CAP_S="${CAP_S:-8}" READS="${READS:-2000}"
CMDLINE="RUNS=$RUNS N_TAR=$N_TAR TGZ_MB=$TGZ_MB CAP_S=$CAP_S bench/bench-shards.sh"

die() { echo "bench-shards: $*" >&2; exit 1; }
[[ -x "$NODE_BIN" ]] || die "aisle-node not found at $NODE_BIN (set AISLE_NODE_BIN)"
[[ -x "$FS_BIN" ]] || die "aisle-fs not found at $FS_BIN (set AISLE_FS_BIN)"
for tool in archivemount fuse-zip fusermount wrk; do
  command -v "$tool" >/dev/null || die "$tool missing: run $REPO/packaging/install-deps.sh --bench"
done
[[ -e /dev/fuse ]] || die "/dev/fuse missing: the FUSE baselines need it"

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-shards.XXXXXX")"
HELPER_PID=""
cleanup() {
  if [[ -n "$HELPER_PID" ]] && kill -0 "$HELPER_PID" 2>/dev/null; then
    kill "$HELPER_PID" 2>/dev/null || true  # the helper stops its node and unmounts on SIGTERM
    wait "$HELPER_PID" 2>/dev/null || true
  fi
  for m in "$WORK"/mnt-*; do [[ -d "$m" ]] && fusermount -u -z "$m" 2>/dev/null || true; done
  [[ "${KEEP_DATA:-0}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "bench-shards: work dir $WORK" >&2
/usr/bin/python3 "$HERE/bench_shards.py" "$WORK" "$NODE_BIN" "$FS_BIN" > "$WORK/result.json" &
HELPER_PID=$!
wait "$HELPER_PID"
HELPER_PID=""

mkdir -p "$HERE/results"
OUT="$HERE/results/shards-$(date -u +%Y-%m-%d).md"
/usr/bin/python3 - "$WORK/result.json" "$OUT" "$CMDLINE" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1])); out = sys.argv[2]; cmd = sys.argv[3]
s = r["results"]
def m(k, f): v = s[k].get(f); return v["median"] if v else float("nan")
def mm(k, f):
    v = s[k].get(f)
    if not v: return "failed: " + s[k]["error"] if "error" in s[k] else "n/a"
    return "%.1f (%.1f–%.1f)" % (v["median"], v["min"], v["max"])
aisle_tar = m("aisle_tar_wrk", "reads_per_s")
aisle_tar_py = m("aisle_tar", "reads_per_s")
lines = [
  "# Shard benchmark — %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
  "", "Command: `%s` (loopback, %d concurrent readers, median of %d runs (min–max))." % (cmd, r["readers"], r["runs"]), "",
  "## %d-member tar, 1 KiB members" % r["n_tar"], "",
  "| side | reads/s | median ms/read | mount s |", "|---|---|---|---|",
  "| aisle HTTP archpath (tar), wrk client | %s | %s | – |" % (mm("aisle_tar_wrk", "reads_per_s"), mm("aisle_tar_wrk", "median_ms")),
  "| aisle HTTP archpath (tar), Python requests client | %s | %s | – |" % (mm("aisle_tar", "reads_per_s"), mm("aisle_tar", "median_ms")),
  "| aisle HTTP archpath (stored zip) | %s | %s | – |" % (mm("aisle_zip", "reads_per_s"), mm("aisle_zip", "median_ms")),
  "| aisle-fs mount of the node (tar shard as a directory), incl. mount + first member | %s | %s | %s |" % (mm("aislefs_tar", "reads_per_s_incl_mount"), mm("aislefs_tar", "median_ms"), mm("aislefs_tar", "mount_s")),
  "| fuse-zip (stored zip), incl. mount | %s | %s | %s |" % (mm("fusezip_zip", "reads_per_s_incl_mount"), mm("fusezip_zip", "median_ms"), mm("fusezip_zip", "mount_s")),
  "| archivemount (tar), incl. mount | %s | %s | %s |" % (mm("archivemount_tar", "reads_per_s_incl_mount"), mm("archivemount_tar", "median_ms"), mm("archivemount_tar", "mount_s")),
  "| Python tarfile, incl. open | %s | %s | – |" % (mm("tarfile_tar", "reads_per_s_incl_open"), mm("tarfile_tar", "median_ms")),
  "",
  "Ratios (target ≥ 100× archivemount, ≥ 0.5× fuse-zip), aisle with wrk: aisle/archivemount = **%.0f×**, aisle/fuse-zip = **%.2f×**, aisle/tarfile = %.0f×. With the Python client on both sides (the FUSE sides are read by Python threads): aisle/archivemount = %.0f×, aisle/fuse-zip = %.2f×." % (
    aisle_tar / m("archivemount_tar", "reads_per_s_incl_mount"), aisle_tar / m("fusezip_zip", "reads_per_s_incl_mount"),
    aisle_tar / m("tarfile_tar", "reads_per_s_incl_open"),
    aisle_tar_py / m("archivemount_tar", "reads_per_s_incl_mount"), aisle_tar_py / m("fusezip_zip", "reads_per_s_incl_mount")),
  "",
  "Through the mount (all three are FUSE, read by the same Python threads): aisle-fs/archivemount = **%.0f×**, aisle-fs/fuse-zip = **%.2f×** (targets ≥ 100×, ≥ 0.5×); aisle-fs mount + first member **%.3f s** (target ≤ 0.1 s; archivemount's mount + first listing %.2f s)." % (
    m("aislefs_tar", "reads_per_s_incl_mount") / m("archivemount_tar", "reads_per_s_incl_mount"),
    m("aislefs_tar", "reads_per_s_incl_mount") / m("fusezip_zip", "reads_per_s_incl_mount"),
    m("aislefs_tar", "mount_s"), m("archivemount_tar", "mount_s")),
  "", "## %.0f MB tgz" % (r["tgz_bytes"] / 1e6), "",
  "| side | reads/s | median ms/member | mount s |", "|---|---|---|---|",
  "| aisle HTTP archpath, wrk client | %s | %s | – |" % (mm("aisle_tgz_wrk", "reads_per_s"), mm("aisle_tgz_wrk", "median_ms")),
  "| aisle HTTP archpath, Python client | %s | %s (p90 %s) | – |" % (mm("aisle_tgz", "reads_per_s"), mm("aisle_tgz", "median_ms"), mm("aisle_tgz", "p90_ms")),
  "| archivemount, incl. mount | %s | %s | %s |" % (mm("archivemount_tgz", "reads_per_s_incl_mount"), mm("archivemount_tgz", "median_ms"), mm("archivemount_tgz", "mount_s")),
  "| Python tarfile r:gz, incl. open | %s | %s | – |" % (mm("tarfile_tgz", "reads_per_s_incl_open"), mm("tarfile_tgz", "median_ms")),
  "",
  "Target ≤ 20 ms per random member: median **%.1f ms** (Python client, 4 concurrent). aisle/archivemount = %.0f×, aisle/tarfile = %.0f×." % (
    m("aisle_tgz", "median_ms"), m("aisle_tgz", "reads_per_s") / m("archivemount_tgz", "reads_per_s_incl_mount"),
    m("aisle_tgz", "reads_per_s") / m("tarfile_tgz", "reads_per_s_incl_open")),
  "", "## Index build (first member access)", "",
  "tar: %.2f s, zip: %.2f s, tgz: %.2f s = **%.1f s per GB** of tgz." % (
    r["index_build_s_small.tar"], r["index_build_s_small.zip"], r["index_build_s_big.tgz"], r["index_build_s_per_gb_tgz"]),
  "", "Measurements capped at CAP_S seconds each: slow sides report the reads done within the cap.", ""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY
echo "bench-shards: wrote $OUT" >&2
