#!/usr/bin/env bash
# Builds the Debian packages aisle-node, aisle and aisle-fs (docs/DEPLOY.md "Packages"):
# a build without tests into build-pkg/, then CPack. The .debs land in build-pkg/packages/.
#   bash packaging/build-debs.sh      # AISLE_PKG_BUILD_DIR, AISLE_BUILD_TYPE, AISLE_JOBS override
# The build type is the dev build's (RelWithDebInfo: -O2, as Debian builds), so ccache serves
# what scripts/build.sh compiled; CPack strips the debug info from the packaged binaries.
# An existing build tree can be packaged as is: cd build && cpack -G DEB (what the tests do).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${AISLE_PKG_BUILD_DIR:-build-pkg}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${AISLE_BUILD_TYPE:-RelWithDebInfo}" -DAISLE_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"${AISLE_JOBS:-2}"
rm -f "$BUILD_DIR"/packages/*.deb
(cd "$BUILD_DIR" && cpack -G DEB >/dev/null)
ls -1 "$BUILD_DIR"/packages/*.deb
