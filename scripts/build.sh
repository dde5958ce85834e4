#!/usr/bin/env bash
# Configures and builds Aisle into ./build (or $AISLE_BUILD_DIR) with 2 jobs. Arguments go to
# the configure step; AISLE_TARGETS="aisle-node aisle" builds only those targets (the demo).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${AISLE_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${AISLE_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
targets=()
for t in ${AISLE_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"${AISLE_JOBS:-2}" "${targets[@]}"
