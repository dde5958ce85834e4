#!/usr/bin/env bash
# Static analysis (issue #23): runs clang-tidy with the repository's .clang-tidy over every C++
# source of the build (or the files given), using the build's compile_commands.json.
# Exit status: 0 when clean, 1 with findings (each printed as file:line: error: ... [check]).
# Usage: scripts/clang-tidy.sh [FILE.cc ...]   (AISLE_BUILD_DIR=build, AISLE_JOBS=2)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${AISLE_BUILD_DIR:-$REPO/build}"
JOBS="${AISLE_JOBS:-2}"
command -v run-clang-tidy >/dev/null || { echo "clang-tidy.sh: install clang-tidy" >&2; exit 2; }
if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "clang-tidy.sh: no $BUILD_DIR/compile_commands.json; run scripts/build.sh first" >&2
  exit 2
fi
# Our headers only; system and third-party headers are not ours to fix.
FILTER="^$REPO/(common|server|etl|fs|cli|bench)/"
if [ $# -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("$(realpath "$f")"); done
else
  # Every first-party translation unit (tests are covered by their own compile warnings).
  files=("^$REPO/(common|server|etl|fs|cli|bench)/.*\\.cc$")
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
run-clang-tidy -quiet -p "$BUILD_DIR" -j "$JOBS" -header-filter="$FILTER" "${files[@]}" \
  >"$log" 2>&1 || true
# One line per finding, each reported once (a header's finding repeats per includer).
sed -i 's/\x1b\[[0-9;]*m//g' "$log"  # run-clang-tidy colours its output
grep -E '^/.*: (warning|error): ' "$log" | sed 's/,-warnings-as-errors\]/]/' | sort -u >"$log.f" || true
n=$(wc -l <"$log.f")
cat "$log.f"
rm -f "$log.f"
# A file clang-tidy could not analyse at all ("Error while processing" alone is also printed
# for a file with findings, since they are errors here).
if grep -q "LLVM ERROR\|error: no input files\|Compile command not found" "$log"; then
  grep "LLVM ERROR\|error: no input files\|Compile command not found" "$log" | sort -u >&2
  echo "clang-tidy.sh: some files could not be analysed" >&2
  exit 1
fi
echo "clang-tidy.sh: $n finding(s)" >&2
[ "$n" -eq 0 ]
