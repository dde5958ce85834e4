#!/usr/bin/env bash
# Configures and builds Aisle into ./build (or $AISLE_BUILD_DIR) with 2 jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${AISLE_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${AISLE_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"${AISLE_JOBS:-2}"
