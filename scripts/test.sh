#!/usr/bin/env bash
# The README's test command: install dependencies, build, run every test (unit, integration
# with real nodes on loopback, CLI, crash) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
bash scripts/build.sh
cd "${AISLE_BUILD_DIR:-build}"
ctest --output-on-failure -j2 --timeout 600
