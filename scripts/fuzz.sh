#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan, every library they link
# instrumented) into build-fuzz/ and runs each for a given time, one after another. Not part
# of CI (docs/TESTING.md records the hours run and what they found).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET ...]
#   TARGET: http_head json_msg range sigv4 archive_{index,tar,tgz,zip,tarlz4,tarzst}
#   Work dir (growing corpora, crash artifacts): $FUZZ_OUT, default /var/tmp/aisle-fuzz.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-60}"
shift || true
OUT="${FUZZ_OUT:-/var/tmp/aisle-fuzz}"
BUILD="${AISLE_FUZZ_BUILD:-$REPO/build-fuzz}"
ALL=(http_head json_msg range sigv4 archive_index archive_tar archive_tgz archive_zip
     archive_tarlz4 archive_tarzst)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
mkdir -p "$OUT"

CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAISLE_FUZZ=ON -DAISLE_BUILD_TESTS=OFF -DAISLE_BUILD_FS=OFF >/dev/null
build_targets=()
for t in "${TARGETS[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$BUILD" -j"${AISLE_JOBS:-2}" "${build_targets[@]}"

# Corpora: the seeds kept in the repo, plus small archives of every format made here.
for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/corpus-$t"
  [ -d "$REPO/tests/fuzz/corpus/$t" ] && cp -n "$REPO/tests/fuzz/corpus/$t"/* "$OUT/corpus-$t/"
done
/usr/bin/python3 - "$OUT" <<'PY'
import io, os, sys, tarfile, zipfile, subprocess
out = sys.argv[1]
def tar(mode="w"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for i, d in enumerate([b"hello", b"x" * 3000, b""]):
            ti = tarfile.TarInfo("d/%d.txt" % i); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
    return b.getvalue()
z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("a.txt", b"a" * 1000); zf.writestr(zipfile.ZipInfo("s.bin"), b"stored")
seeds = {"tar": tar(), "tgz": tar("w:gz"), "zip": z.getvalue(),
         "tarlz4": subprocess.run(["lz4", "-q", "-c"], input=tar(), stdout=subprocess.PIPE).stdout,
         "tarzst": subprocess.run(["zstd", "-q", "-c"], input=tar(), stdout=subprocess.PIPE).stdout,
         "index": b"AISLSIDX"}
for k, v in seeds.items():
    d = os.path.join(out, "corpus-archive_" + k)
    if os.path.isdir(d):
        open(os.path.join(d, "seed"), "wb").write(v)
PY

status=0
for t in "${TARGETS[@]}"; do
  bin="$BUILD/tests/fuzz/fuzz_$t"
  echo "fuzz: $t for ${SECS}s" >&2
  log="$OUT/$t.log"
  rc=0
  TIMEFORMAT="%U %S"  # the CPU seconds the run used (the machine may be shared)
  { time "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
      -artifact_prefix="$OUT/crash-$t-" "$OUT/corpus-$t" >"$log" 2>&1 || rc=$?; } 2>"$OUT/$t.cpu"
  cpu=$(awk '{printf "%.0f", $1 + $2}' "$OUT/$t.cpu")
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "fuzz: $t FAILED (see $log and $OUT/crash-$t-*)" >&2
  fi
  # The last status line: runs, coverage, corpus size; and the CPU seconds used.
  last=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true)
  echo "fuzz: $t: ${cpu} CPU s: $last" >&2
done
echo "fuzz: done; work dir $OUT" >&2
exit $status
