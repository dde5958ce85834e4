#!/usr/bin/env bash
# S3 API benchmarks on 127.0.0.1 only, one aisle-node (anonymous S3):
#   write: `aws s3 cp` of a WRITE_MB file (multipart, awscli defaults) vs native
#          `curl -T` PUT of the same file to /v1/objects — ratio of the medians;
#   read:  sequential read (dd bs=1M) of a READ_MB object through an s3fs mount and an
#          `rclone mount` (each remounted per run, no caches) vs `curl` GET to /dev/null.
# Median of RUNS runs. Every process and mount it starts is stopped/unmounted on exit.
# Prints a table and writes bench/results/s3-<date>.md.
#
# Environment: AISLE_NODE_BIN (default build-s3/server/aisle-node, then build/...),
#   BENCH_DIR (/var/tmp), RUNS (3), WRITE_MB (2048), READ_MB (1024)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_BIN="${AISLE_NODE_BIN:-$REPO/build-s3/server/aisle-node}"
[[ -x "$NODE_BIN" ]] || NODE_BIN="$REPO/build/server/aisle-node"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
RUNS="${RUNS:-3}"
WRITE_MB="${WRITE_MB:-2048}"
READ_MB="${READ_MB:-1024}"
AWS=/usr/bin/aws
CMDLINE="RUNS=$RUNS WRITE_MB=$WRITE_MB READ_MB=$READ_MB bench/bench-s3.sh"

die() { echo "bench-s3: $*" >&2; exit 1; }
[[ -x "$NODE_BIN" ]] || die "aisle-node not found (set AISLE_NODE_BIN)"
for tool in "$AWS" curl s3fs rclone fusermount3; do
  command -v "$tool" >/dev/null || die "$tool missing: run packaging/install-deps.sh --bench"
done

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-s3.XXXXXX")"
NODE_PID=""
RCLONE_PID=""
MOUNTS=("$WORK/s3fs-mnt" "$WORK/rclone-mnt")
cleanup() {
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" || true; }
  done
  [[ -n "$RCLONE_PID" ]] && kill "$RCLONE_PID" 2>/dev/null || true
  [[ -n "$NODE_PID" ]] && { kill "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# A clean client environment: temp HOME, no proxies or CA overrides, loopback only.
export HOME="$WORK/home" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
  AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$WORK/home/aws-config" AWS_PAGER="" \
  AWS_SHARED_CREDENTIALS_FILE="$WORK/home/aws-credentials" AWS_EC2_METADATA_DISABLED=true
unset AWS_CA_BUNDLE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY || true
mkdir -p "$HOME" "${MOUNTS[@]}" "$WORK/mp"

"$NODE_BIN" --port 0 --mountpath "$WORK/mp" --ready-file "$WORK/ready" --log-level warn \
  >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do [[ -s "$WORK/ready" ]] && break; sleep 0.1; done
URL="$(cat "$WORK/ready")" || die "node did not start"
EP="$URL/s3"
B=bench
curl -fsS -X PUT "$EP/$B" >/dev/null

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mbps() { awk -v mb="$1" -v s="$2" 'BEGIN {printf "%.0f", mb / s}'; }

echo "bench-s3: generating ${WRITE_MB} MiB and ${READ_MB} MiB files in $WORK"
head -c $((WRITE_MB << 20)) /dev/urandom >"$WORK/wfile"
head -c $((READ_MB << 20)) /dev/urandom >"$WORK/rfile"

aws_w=(); native_w=()
for r in $(seq "$RUNS"); do
  t0=$(now); "$AWS" --endpoint-url "$EP" s3 cp --only-show-errors "$WORK/wfile" "s3://$B/w-aws"; t1=$(now)
  aws_w+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); curl -fsS -T "$WORK/wfile" "$URL/v1/objects/$B/w-native" -o /dev/null; t1=$(now)
  native_w+=("$(echo "$t1 - $t0" | bc -l)")
  curl -fsS -X DELETE "$URL/v1/objects/$B/w-aws" >/dev/null
  curl -fsS -X DELETE "$URL/v1/objects/$B/w-native" >/dev/null
  echo "  write run $r: aws s3 cp ${aws_w[-1]}s, curl -T ${native_w[-1]}s"
done

curl -fsS -T "$WORK/rfile" "$URL/v1/objects/$B/r" -o /dev/null
curl_r=(); s3fs_r=(); rclone_r=()
cat >"$WORK/rclone.conf" <<EOF
[ais]
type = s3
provider = Other
access_key_id = bench
secret_access_key = bench
endpoint = $EP
force_path_style = true
region = us-east-1
EOF
for r in $(seq "$RUNS"); do
  t0=$(now); curl -fsS "$URL/v1/objects/$B/r" -o /dev/null; t1=$(now)
  curl_r+=("$(echo "$t1 - $t0" | bc -l)")

  m="$WORK/s3fs-mnt"
  printf 'bench:bench\n' >"$WORK/s3fs-pw"; chmod 600 "$WORK/s3fs-pw"
  s3fs "$B" "$m" -o url="$EP" -o use_path_request_style -o passwd_file="$WORK/s3fs-pw" \
    -o dbglevel=warn -o logfile="$WORK/s3fs.log"
  for _ in $(seq 100); do mountpoint -q "$m" && break; sleep 0.1; done
  t0=$(now); dd if="$m/r" of=/dev/null bs=1M status=none; t1=$(now)
  s3fs_r+=("$(echo "$t1 - $t0" | bc -l)")
  fusermount3 -u "$m"

  m="$WORK/rclone-mnt"
  rclone --config "$WORK/rclone.conf" mount "ais:$B" "$m" --vfs-cache-mode off --read-only \
    --log-file "$WORK/rclone.log" &
  RCLONE_PID=$!
  for _ in $(seq 100); do mountpoint -q "$m" && break; sleep 0.1; done
  t0=$(now); dd if="$m/r" of=/dev/null bs=1M status=none; t1=$(now)
  rclone_r+=("$(echo "$t1 - $t0" | bc -l)")
  fusermount3 -u "$m"; wait "$RCLONE_PID" 2>/dev/null || true; RCLONE_PID=""
  echo "  read run $r: curl ${curl_r[-1]}s, s3fs ${s3fs_r[-1]}s, rclone mount ${rclone_r[-1]}s"
done

aw=$(median "${aws_w[@]}"); nw=$(median "${native_w[@]}")
cr=$(median "${curl_r[@]}"); sr=$(median "${s3fs_r[@]}"); rr=$(median "${rclone_r[@]}")
DATE=$(date -u +%Y-%m-%d)
OUT="$REPO/bench/results/s3-$DATE.md"
{
  echo "# S3 API benchmark, $DATE"
  echo
  echo "\`$CMDLINE\` on $(nproc) cores (shared), loopback, one aisle-node ($(basename "$NODE_BIN")),"
  echo "data on $(df -h "$WORK" | awk 'NR==2 {print $1}'); clients: $("$AWS" --version | cut -d' ' -f1),"
  echo "s3fs $(s3fs --version | head -1 | sed 's/.*V\([0-9.]*\).*/\1/'), $(rclone version | head -1). Median of $RUNS runs."
  echo
  echo "| test | median s | MiB/s | ratio |"
  echo "|---|---|---|---|"
  echo "| write ${WRITE_MB} MiB: native PUT (curl -T /v1/objects) | $nw | $(mbps "$WRITE_MB" "$nw") | 1.00 |"
  echo "| write ${WRITE_MB} MiB: aws s3 cp (multipart) | $aw | $(mbps "$WRITE_MB" "$aw") | $(awk -v a="$nw" -v b="$aw" 'BEGIN {printf "%.2f", a / b}') |"
  echo "| read ${READ_MB} MiB: curl GET (native) | $cr | $(mbps "$READ_MB" "$cr") | 1.00 |"
  echo "| read ${READ_MB} MiB: s3fs mount, dd bs=1M | $sr | $(mbps "$READ_MB" "$sr") | $(awk -v a="$cr" -v b="$sr" 'BEGIN {printf "%.2f", a / b}') |"
  echo "| read ${READ_MB} MiB: rclone mount (--vfs-cache-mode off), dd bs=1M | $rr | $(mbps "$READ_MB" "$rr") | $(awk -v a="$cr" -v b="$rr" 'BEGIN {printf "%.2f", a / b}') |"
  echo
  echo "ratio = throughput relative to the native baseline of the same section (1.00 = as fast)."
  echo "Raw seconds: aws ${aws_w[*]}; native ${native_w[*]}; curl ${curl_r[*]}; s3fs ${s3fs_r[*]}; rclone ${rclone_r[*]}."
} >"$OUT"
cat "$OUT"
echo "bench-s3: wrote $OUT"
