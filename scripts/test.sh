#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test (unit, integration
# with real nodes on loopback, CLI, crash) through CTest.
#
#   scripts/test.sh                       the default build (./build); what CI runs
#   scripts/test.sh --sanitize=address    ASan + UBSan build in ./build-asan, whole suite
#   scripts/test.sh --sanitize=thread     TSan build in ./build-tsan, whole suite
# Extra arguments go to ctest (e.g. -L unit, -R Store). A sanitizer run writes every report of
# every process (nodes, aisle-fs, test binaries) to build-*/sanitizer-logs/ and fails when any
# report was written, even if the test that caused it passed.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
ctest_args=()
for a in "$@"; do
  case "$a" in
    --sanitize=address | --sanitize=thread) sanitize="${a#--sanitize=}" ;;
    --sanitize=*)
      echo "test.sh: --sanitize takes address or thread" >&2
      exit 2
      ;;
    *) ctest_args+=("$a") ;;
  esac
done

bash packaging/install-deps.sh
if [[ -z "$sanitize" ]]; then
  # A plain build (even where a sanitizer was set before), warnings as errors as CI wants.
  bash scripts/build.sh -DAISLE_SANITIZE= -DAISLE_WERROR=ON
  cd "${AISLE_BUILD_DIR:-build}"
  exec ctest --output-on-failure -j2 --timeout 600 "${ctest_args[@]}"
fi

# Its own directory (never AISLE_BUILD_DIR): the sanitizer setting stays in a build's cache.
build_dir="build-asan"
[[ "$sanitize" == thread ]] && build_dir="build-tsan"
AISLE_BUILD_DIR="$build_dir" bash scripts/build.sh -DAISLE_SANITIZE="$sanitize"
logs="$PWD/$build_dir/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
# log_path: one file per process that reported; exitcode keeps a reporting process failing.
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1"
export TSAN_OPTIONS="log_path=$logs/tsan:second_deadlock_stack=1"
export AISLE_SANITIZER="$sanitize"  # tests skip bounds a sanitizer distorts (RSS)
cd "$build_dir"
status=0
ctest --output-on-failure -j2 --timeout 900 "${ctest_args[@]}" || status=$?
reports=$(find "$logs" -type f | wc -l)
if ((reports > 0)); then
  echo "test.sh: $reports sanitizer report file(s) in $logs:" >&2
  for f in "$logs"/*; do
    echo "== $f" >&2
    head -40 "$f" >&2
  done
  exit 1
fi
echo "test.sh: no sanitizer reports ($sanitize)"
exit "$status"
