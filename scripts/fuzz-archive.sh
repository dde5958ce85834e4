#!/usr/bin/env bash
# Builds the shard-reader libFuzzer targets with clang (ASan+UBSan) and runs each for a bounded
# time. Not part of CI. Seeds: small archives of every format made with python3 + lz4/zstd.
# Usage: scripts/fuzz-archive.sh [SECONDS_PER_TARGET=60]   (out dir: /var/tmp/aisle-fuzz)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${1:-60}"
OUT="${FUZZ_OUT:-/var/tmp/aisle-fuzz}"
mkdir -p "$OUT"
CXX="${CXX:-clang++}"
SRCS=("$REPO"/common/archive/*.cc "$REPO"/common/status.cc "$REPO"/common/checksum.cc)
LIBS=(-larchive -lz -llz4 -lzstd -lxxhash)
declare -A NAMES=([0]=index [1]=tar [2]=tgz [3]=zip [4]=tarlz4 [5]=tarzst)

# Seed corpora.
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
    os.makedirs(os.path.join(out, "corpus-" + k), exist_ok=True)
    open(os.path.join(out, "corpus-" + k, "seed"), "wb").write(v)
PY

for f in 0 1 2 3 4 5; do
  name="${NAMES[$f]}"
  bin="$OUT/fuzz-$name"
  echo "fuzz-archive: building $bin" >&2
  "$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DFUZZ_FORMAT=$f -I"$REPO" \
    "$REPO/tests/fuzz/archive_reader_fuzz.cc" "${SRCS[@]}" "${LIBS[@]}" -o "$bin"
  echo "fuzz-archive: running $name for ${SECS}s" >&2
  "$bin" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
    -artifact_prefix="$OUT/crash-$name-" "$OUT/corpus-$name" 2>&1 | tail -3
done
echo "fuzz-archive: done; crashes (if any) in $OUT/crash-*" >&2
