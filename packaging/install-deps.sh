#!/usr/bin/env bash
# Installs every Debian package Aisle needs to build, test and (with --bench) benchmark.
# Idempotent and non-interactive; runs `apt-get update` once, only when something is missing.
# Usage: packaging/install-deps.sh [--bench]
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake pkg-config git ccache
  libboost-dev            # Asio + Beast (header-only, compiled once in aisle_asio_beast)
  libcurl4-openssl-dev    # common/net HTTP client
  libarchive-dev          # shards
  zlib1g-dev liblz4-dev libzstd-dev  # shard seek points (gzip checkpoints, lz4/zstd frames)
  nlohmann-json3-dev      # JSON + msgpack
  libxxhash-dev           # checksums, HRW
  libspdlog-dev libfmt-dev
  libcli11-dev
  libssl-dev
  libturbojpeg0-dev libpng-dev  # ETL built-in image-resize (JPEG DCT-scaled decode, PNG)
  libfuse3-dev fuse3      # aisle-fs
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev            # io_uring data path
  liblmdb-dev             # per-mountpath persistent metadata index
)
TEST_PKGS=(
  curl python3 python3-msgpack python3-requests python3-pil
  openssl                 # aisle up --tls and test_tls.py make certificates with the openssl command
  python3-torchvision     # examples/imagefolder and test_etl.py: unmodified ImageFolder over a mount
  lz4 zstd                # test_archive.py compresses tars with the CLIs
  awscli s3cmd python3-boto3 rclone s3fs   # S3 API clients (tests/integration/test_s3.py)
  prometheus              # promtool and a real Prometheus (tests/integration/test_metrics.py)
  python3-cloudpickle python3-websockets  # AIStore SDK ETL shapes: init_class payloads, ws:// webservers
  etcd-server etcd-client # etcd-backed control plane (HA tests)
  iproute2                # network namespaces, veth, tbf (multi-host tests)
  python3-yaml            # test_k8s_manifests.py parses deploy/k8s
  mmdebstrap podman runc uidmap  # clean Debian 12 roots for package install tests; offline-built image
)
BENCH_PKGS=(
  nginx-light wrk fio
  archivemount fuse-zip   # bench-shards.sh baselines
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# aisle-fs splices replies from a co-located target's files (local reads) through a pipe that
# must hold a whole 1 MiB reply and its header; the kernel's default pipe-max-size (1 MiB) is
# just short of that, and then aisle-fs copies instead. Raised for good via sysctl.d.
tune_pipe_max_size() {
  local want=4194304 cur
  cur=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 0)
  ((cur >= want)) && return 0
  if echo "fs.pipe-max-size = $want" | $SUDO tee /etc/sysctl.d/60-aisle.conf >/dev/null 2>&1 &&
    echo "$want" | $SUDO tee /proc/sys/fs/pipe-max-size >/dev/null 2>&1; then
    echo "install-deps: fs.pipe-max-size = $want (/etc/sysctl.d/60-aisle.conf)"
  else
    echo "install-deps: could not raise fs.pipe-max-size; aisle-fs will copy, not splice"
  fi
}
tune_pipe_max_size

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${BENCH_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
# policy-rc.d keeps package scripts from starting services (nginx) we start ourselves.
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
