#!/usr/bin/env bash
# Builds the Aisle container image offline (docs/DEPLOY.md "Container image"): a clean Debian 12
# root filesystem from the Debian archive (mmdebstrap), the .debs installed in it with
# `apt-get install ./aisle-*.deb` (chroot), imported into podman. No registry is contacted.
#   bash packaging/build-image.sh [--debs DIR] [--tag NAME:TAG] [--root DIR]
#     --debs  the aisle-*.deb files (default build-pkg/packages, from packaging/build-debs.sh)
#     --tag   image name (default aisle:0.1.0)
#     --root  also keep the root filesystem in DIR (a directory; tests inspect it)
# Needs root (mmdebstrap's root mode: real chroot, /proc and /dev mounted by it) and network
# access to the Debian archive (the host's apt sources).
set -euo pipefail
cd "$(dirname "$0")/.."
DEBS=build-pkg/packages
TAG=aisle:0.1.0
ROOT=""
while (($#)); do
  case "$1" in
    --debs) DEBS=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --root) ROOT=$2; shift 2 ;;
    *) echo "usage: $0 [--debs DIR] [--tag NAME:TAG] [--root DIR]" >&2; exit 2 ;;
  esac
done
shopt -s nullglob
debs=("$DEBS"/aisle*.deb)
((${#debs[@]})) || { echo "build-image: no aisle*.deb in $DEBS (run packaging/build-debs.sh)" >&2; exit 1; }
work=$(mktemp -d /tmp/aisle-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "${debs[@]}" "$work/"
[[ -n "$ROOT" ]] || ROOT="$work/root"
[[ ! -e "$ROOT" ]] || { echo "build-image: $ROOT exists" >&2; exit 1; }
# The mirror is the host's Debian archive (deb.debian.org, as in /etc/apt/sources.list.d).
# apt variant: Essential + apt; everything else comes from the packages' Depends.
copy_in="copy-in"
for d in "${debs[@]}"; do copy_in+=" $work/$(basename "$d")"; done
# The hooks' "$1" (the root) is expanded by mmdebstrap, not here.
# shellcheck disable=SC2016
if ! mmdebstrap --mode=root --variant=apt --format=directory \
  --customize-hook='mkdir -p "$1/tmp/debs"' \
  --customize-hook="$copy_in /tmp/debs" \
  --customize-hook='chroot "$1" sh -c "cd /tmp/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./aisle*.deb"' \
  --customize-hook='rm -rf "$1/tmp/debs"' \
  bookworm "$ROOT" >"$work/mmdebstrap.log" 2>&1; then
  tail -n 30 "$work/mmdebstrap.log" >&2
  echo "build-image: mmdebstrap failed (is the Debian archive reachable? see above)" >&2
  exit 1
fi
# One image for every role: the entrypoint is aisle-node (--role/--config as arguments); the
# CLI and aisle-fs are in it too (podman run --entrypoint aisle ...).
tar -C "$ROOT" -c . | podman import --quiet \
  --change 'ENTRYPOINT ["/usr/bin/aisle-node"]' \
  --change 'CMD ["--help"]' \
  --change 'USER aisle' \
  --change 'WORKDIR /var/lib/aisle' \
  --message "Aisle $(basename "${debs[0]}") on Debian 12 (mmdebstrap)" \
  - "$TAG" >/dev/null
echo "build-image: $TAG"
