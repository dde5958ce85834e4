#!/usr/bin/env bash
# S3 API and FUSE-client comparison on 127.0.0.1 only, one aisle-node (anonymous S3), ONE run:
#   1. sequential read (dd bs=1M) of a READ_MB object: curl GET to /dev/null (baseline), aisle-fs,
#      s3fs and `rclone mount` (--vfs-cache-mode off); every FUSE client on a fresh mount per run
#      (no client or kernel page cache); the node's page cache is warm for all.
#   2. N_SMALL x SMALL_KB objects, each read fully once by 4 reader threads (bench_fs_helper.py
#      read) through aisle-fs, s3fs and rclone mount, each on a fresh mount per run (cold: no
#      listing before, every file looked up and fetched once); references: native GET of the
#      same objects over 4 keep-alive connections, and the same files on local disk (warm).
#   3. write: `aws s3 cp` of a WRITE_MB file (multipart, awscli defaults) vs native
#      `curl -T` PUT of the same file to /v1/objects.
# Ratios aisle-fs / s3fs and aisle-fs / rclone (throughput) for 1 and 2 (target >= 2x).
# aisle-fs reads over HTTP here (-o local_reads=off), as s3fs and rclone do: the node being on
# this host it would otherwise read the target's files (bench-fs.sh measures that).
# Median (min-max) of RUNS runs. Every process and mount it starts is unmounted/killed by PID
# on exit, also on failure or Ctrl-C. Builds nothing. Writes bench/results/s3-<date>.md.
#
# Environment: AISLE_NODE_BIN (build/server/aisle-node), AISLE_FS_BIN (build/fs/aisle-fs),
#   BENCH_DIR (/var/tmp), RUNS (3), WRITE_MB (2048), READ_MB (1024), N_SMALL (10000),
#   SMALL_KB (100), READERS (4), BENCH_KEEP (0: 1 keeps the work dir)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NODE_SRC="${AISLE_NODE_BIN:-$REPO/build/server/aisle-node}"
FS_SRC="${AISLE_FS_BIN:-$REPO/build/fs/aisle-fs}"
BENCH_DIR="${BENCH_DIR:-/var/tmp}"
RUNS="${RUNS:-3}"
WRITE_MB="${WRITE_MB:-2048}"
READ_MB="${READ_MB:-1024}"
N_SMALL="${N_SMALL:-10000}"
SMALL_KB="${SMALL_KB:-100}"
READERS="${READERS:-4}"
AWS=/usr/bin/aws
PY=/usr/bin/python3
HELPER="$HERE/bench_fs_helper.py"
CMDLINE="RUNS=$RUNS WRITE_MB=$WRITE_MB READ_MB=$READ_MB N_SMALL=$N_SMALL SMALL_KB=$SMALL_KB READERS=$READERS bench/bench-s3.sh"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
T_START=$(date +%s)

die() { echo "bench-s3: $*" >&2; exit 1; }
[[ -x "$NODE_SRC" ]] || die "aisle-node not found at $NODE_SRC (set AISLE_NODE_BIN)"
[[ -x "$FS_SRC" ]] || die "aisle-fs not found at $FS_SRC (set AISLE_FS_BIN)"
[[ -e /dev/fuse ]] || die "/dev/fuse missing"
for tool in "$AWS" "$PY" curl s3fs rclone fusermount3 timeout; do
  command -v "$tool" >/dev/null || die "$tool missing: run packaging/install-deps.sh --bench"
done

WORK="$(mktemp -d "$BENCH_DIR/aisle-bench-s3.XXXXXX")"
NODE_PID=""
MNT="$WORK/mnt"     # one mount point, used by one FUSE client at a time
MNT_PID=""          # the foreground FUSE process (aisle-fs -f, s3fs -f, rclone mount)
MNT_LOG=""

# shellcheck source=bench/bench-lib.sh
source "$HERE/bench-lib.sh"
unmount() { unmount_fuse MNT_PID 100 20; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  unmount
  if [[ -n "$NODE_PID" ]] && kill -0 "$NODE_PID" 2>/dev/null; then stop_pid "$NODE_PID" 0 50; fi
  # Only after the unmount: never rm -rf through a live mount.
  if ! is_mounted; then
    if [[ "${BENCH_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
  else
    echo "bench-s3: $MNT still mounted, kept $WORK" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A clean client environment: temp HOME, no proxies or CA overrides, loopback only.
export HOME="$WORK/home" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench \
  AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE="$WORK/home/aws-config" AWS_PAGER="" \
  AWS_SHARED_CREDENTIALS_FILE="$WORK/home/aws-credentials" AWS_EC2_METADATA_DISABLED=true
unset AWS_CA_BUNDLE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY || true
mkdir -p "$HOME" "$MNT" "$WORK/mp" "$WORK/bin" "$WORK/local"

# Private copies: a concurrent rebuild of build/ must not swap binaries under a running bench.
cp "$NODE_SRC" "$WORK/bin/aisle-node"; cp "$FS_SRC" "$WORK/bin/aisle-fs"
NODE_MTIME="$(date -u -r "$NODE_SRC" +%FT%TZ)"; FS_MTIME="$(date -u -r "$FS_SRC" +%FT%TZ)"
NODE_BIN="$WORK/bin/aisle-node"; FS_BIN="$WORK/bin/aisle-fs"

"$NODE_BIN" --port 0 --host 127.0.0.1 --mountpath "$WORK/mp" --ready-file "$WORK/ready" \
  --log-level warn >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 200); do [[ -s "$WORK/ready" ]] && break; sleep 0.05; done
[[ -s "$WORK/ready" ]] || die "node not ready: $(tail -5 "$WORK/node.log")"
URL="$(cat "$WORK/ready")"
EP="$URL/s3"
B=bench
curl -fsS -X PUT "$EP/$B" >/dev/null

calc() { $PY -c "print($1)"; }

printf 'bench:bench\n' >"$WORK/s3fs-pw"; chmod 600 "$WORK/s3fs-pw"
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

# mount_client aisle-fs|s3fs|rclone: a fresh foreground mount of the whole cluster (aisle-fs)
# or of bucket $B (s3fs, rclone) on $MNT; sets ROOT to the directory that holds the objects.
mount_client() {
  MNT_LOG="$WORK/$1.log"
  case "$1" in
    aisle-fs)
      "$FS_BIN" "$URL" "$MNT" -f -o local_reads=off >>"$MNT_LOG" 2>&1 &
      ROOT="$MNT/$B" ;;
    s3fs)  # awscli-like dummy keys: the node runs anonymous S3 and ignores the signature
      s3fs "$B" "$MNT" -f -o url="$EP" -o use_path_request_style -o passwd_file="$WORK/s3fs-pw" \
        -o dbglevel=warn -o logfile="$MNT_LOG" >>"$MNT_LOG" 2>&1 &
      ROOT="$MNT" ;;
    rclone)
      rclone --config "$WORK/rclone.conf" mount "ais:$B" "$MNT" --vfs-cache-mode off --read-only \
        --log-file "$MNT_LOG" >>"$MNT_LOG" 2>&1 &
      ROOT="$MNT" ;;
  esac
  MNT_PID=$!
  for _ in $(seq 300); do
    is_mounted && return 0
    kill -0 "$MNT_PID" 2>/dev/null || die "$1 exited: $(tail -5 "$MNT_LOG")"
    sleep 0.05
  done
  die "$1 mount not ready: $(tail -5 "$MNT_LOG")"
}

ERRORS=()
echo "bench-s3: node $URL, data in $WORK (load average $LOAD_START)"

# ---------------------------------------------------------------------------------------------
echo "== populating: ${READ_MB} MiB object, $N_SMALL x ${SMALL_KB} KiB objects (+ local copies)"
head -c $((READ_MB << 20)) /dev/urandom >"$WORK/rfile"
curl -fsS -T "$WORK/rfile" "$URL/v1/objects/$B/r" -o /dev/null
rm -f "$WORK/rfile"
t0=$(now)
$PY "$HELPER" populate "$URL" "$B" small "$N_SMALL" $((SMALL_KB * 1024)) "$WORK/local/small"
echo "   $N_SMALL objects in $(elapsed "$t0" "$(now)") s"
SMALL_BYTES=$((N_SMALL * SMALL_KB * 1024))
SMALL_MB=$(calc "$SMALL_BYTES / 1048576")
(cd "$WORK/local/small" && ls) >"$WORK/names"
sed "s|^|$WORK/local/small/|" "$WORK/names" >"$WORK/local.list"
sed "s|^|$B/small/|" "$WORK/names" >"$WORK/get.list"
sed "s|^|$MNT/$B/small/|" "$WORK/names" >"$WORK/aisle-fs.list"
sed "s|^|$MNT/small/|" "$WORK/names" >"$WORK/s3fs.list"
cp "$WORK/s3fs.list" "$WORK/rclone.list"

# ---------------------------------------------------------------------------------------------
echo "== 1. sequential read of ${READ_MB} MiB (fresh mount per client and run)"
curl -fsS "$URL/v1/objects/$B/r" -o /dev/null  # warm the node's page cache
declare -A SEQ=([curl]="" [aisle-fs]="" [s3fs]="" [rclone]="")
for r in $(seq "$RUNS"); do
  t0=$(now); curl -fsS "$URL/v1/objects/$B/r" -o /dev/null; t1=$(now)
  t="$(elapsed "$t0" "$t1")"; SEQ[curl]+="$t "
  line="   run $r: curl $t"
  for c in aisle-fs s3fs rclone; do
    mount_client "$c"
    t0=$(now)
    if ! timeout 600 dd if="$ROOT/r" of=/dev/null bs=1M status=none 2>"$WORK/dd.err"; then
      ERRORS+=("run $r, $c sequential read: $(head -3 "$WORK/dd.err" | tr '\n' ' ')")
    fi
    t1=$(now)
    unmount
    t="$(elapsed "$t0" "$t1")"; SEQ[$c]+="$t "
    line+=", $c $t"
  done
  echo "$line s"
done

# ---------------------------------------------------------------------------------------------
echo "== 2. $N_SMALL x ${SMALL_KB} KiB objects, $READERS readers (fresh mount per client and run)"
$PY "$HELPER" read "$WORK/local.list" "$READERS" >/dev/null   # warm the local page cache
$PY "$HELPER" get "$URL" "$WORK/get.list" "$READERS" >/dev/null  # warm the node's page cache
declare -A SM=([get]="" [local]="" [aisle-fs]="" [s3fs]="" [rclone]="")
for r in $(seq "$RUNS"); do
  read -r t bytes < <($PY "$HELPER" get "$URL" "$WORK/get.list" "$READERS")
  SM[get]+="$t "
  line="   run $r: native GET $t"
  for c in aisle-fs s3fs rclone; do
    mount_client "$c"
    read -r t bytes < <(timeout 1800 $PY "$HELPER" read "$WORK/$c.list" "$READERS" 2>"$WORK/read.err" ||
                        echo "0 0")
    unmount
    if [[ "$bytes" -ne "$SMALL_BYTES" ]]; then
      ERRORS+=("run $r, $c small files: read $bytes of $SMALL_BYTES bytes; $(grep -m2 -E 'Error|error' "$WORK/read.err" | tr '\n' ' ')")
    fi
    SM[$c]+="$t "
    line+=", $c $t"
  done
  read -r t bytes < <($PY "$HELPER" read "$WORK/local.list" "$READERS")
  SM[local]+="$t "
  echo "$line, local $t s"
done

# ---------------------------------------------------------------------------------------------
echo "== 3. write ${WRITE_MB} MiB: aws s3 cp vs native PUT"
head -c $((WRITE_MB << 20)) /dev/urandom >"$WORK/wfile"
AWS_W=""; NATIVE_W=""
for r in $(seq "$RUNS"); do
  t0=$(now); "$AWS" --endpoint-url "$EP" s3 cp --only-show-errors "$WORK/wfile" "s3://$B/w-aws"; t1=$(now)
  ta="$(elapsed "$t0" "$t1")"; AWS_W+="$ta "
  t0=$(now); curl -fsS -T "$WORK/wfile" "$URL/v1/objects/$B/w-native" -o /dev/null; t1=$(now)
  tn="$(elapsed "$t0" "$t1")"; NATIVE_W+="$tn "
  curl -fsS -X DELETE "$URL/v1/objects/$B/w-aws" >/dev/null
  curl -fsS -X DELETE "$URL/v1/objects/$B/w-native" >/dev/null
  echo "   run $r: aws s3 cp $ta, curl -T $tn s"
done
rm -f "$WORK/wfile"

# ---------------------------------------------------------------------------------------------
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
DUR=$(( $(date +%s) - T_START ))
med() { stats $1 | cut -d' ' -f1; }
cell() { read -r m lo hi < <(stats $1); echo "$m ($lo-$hi)"; }
mbps() { calc "'%.0f' % ($1 / $(med "$2"))"; }
fps() { calc "'%.0f' % ($N_SMALL / $(med "$1"))"; }
ratio() { calc "'%.2f' % ($(med "$2") / $(med "$1"))"; }  # throughput of $1 relative to $2
verdict() { $PY -c "print('meets' if $1 >= 2 else 'MISSES')"; }
R_SEQ_S3FS=$(ratio "${SEQ[aisle-fs]}" "${SEQ[s3fs]}"); R_SEQ_RCL=$(ratio "${SEQ[aisle-fs]}" "${SEQ[rclone]}")
R_SM_S3FS=$(ratio "${SM[aisle-fs]}" "${SM[s3fs]}"); R_SM_RCL=$(ratio "${SM[aisle-fs]}" "${SM[rclone]}")

# Error/warning lines of the clients' logs: aisle-fs "W [" / "E [", s3fs [WAN]/[ERR],
# rclone ERROR/NOTICE.
LOGPAT=' [WE] \[|Z \[(WAN|ERR)\] |ERROR|NOTICE'
DATE=$(date -u +%Y-%m-%d)
OUT="$REPO/bench/results/s3-$DATE.md"
{
  echo "# S3 API and FUSE client benchmark, $DATE"
  echo
  echo "\`$CMDLINE\` on $(nproc) cores (shared), loopback, one aisle-node"
  echo "(copy of $(realpath --relative-to="$REPO" "$NODE_SRC") built $NODE_MTIME, aisle-fs copy of $(realpath --relative-to="$REPO" "$FS_SRC") built $FS_MTIME,"
  echo "at commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')),"
  echo "data on $(df -h "$WORK" | awk 'NR==2 {print $1}'); clients: $("$AWS" --version | cut -d' ' -f1),"
  echo "s3fs $(s3fs --version | head -1 | sed 's/.*V\([0-9.]*\).*/\1/') (defaults, dummy keys: the node runs anonymous S3), $(rclone version | head -1)"
  echo "(mount --vfs-cache-mode off --read-only), aisle-fs default options over HTTP (-o local_reads=off)."
  echo "Median (min-max) of $RUNS runs, seconds. Load average (1/5/15 min) at start $LOAD_START, at end $LOAD_END;"
  echo "whole script ${DUR} s."
  echo
  echo "## Reads through FUSE clients (every client on a fresh mount per run)"
  echo
  echo "| test | median s (min-max) | MiB/s | files/s | vs baseline |"
  echo "|---|---|---|---|---|"
  echo "| seq read ${READ_MB} MiB: curl GET (native, baseline) | $(cell "${SEQ[curl]}") | $(mbps "$READ_MB" "${SEQ[curl]}") | - | 1.00 |"
  for c in aisle-fs s3fs rclone; do
    echo "| seq read ${READ_MB} MiB: $c, dd bs=1M | $(cell "${SEQ[$c]}") | $(mbps "$READ_MB" "${SEQ[$c]}") | - | $(ratio "${SEQ[$c]}" "${SEQ[curl]}") |"
  done
  echo "| $N_SMALL x ${SMALL_KB} KiB: native GET, $READERS keep-alive connections (baseline) | $(cell "${SM[get]}") | $(mbps "$SMALL_MB" "${SM[get]}") | $(fps "${SM[get]}") | 1.00 |"
  for c in aisle-fs s3fs rclone; do
    echo "| $N_SMALL x ${SMALL_KB} KiB: $c, $READERS readers, cold mount | $(cell "${SM[$c]}") | $(mbps "$SMALL_MB" "${SM[$c]}") | $(fps "${SM[$c]}") | $(ratio "${SM[$c]}" "${SM[get]}") |"
  done
  echo "| $N_SMALL x ${SMALL_KB} KiB: local disk, $READERS readers (warm page cache, reference) | $(cell "${SM[local]}") | $(mbps "$SMALL_MB" "${SM[local]}") | $(fps "${SM[local]}") | $(ratio "${SM[local]}" "${SM[get]}") |"
  echo
  echo "| aisle-fs throughput ratio (target >= 2x) | vs s3fs | vs rclone mount |"
  echo "|---|---|---|"
  echo "| sequential read ${READ_MB} MiB | ${R_SEQ_S3FS}x: $(verdict "$R_SEQ_S3FS") | ${R_SEQ_RCL}x: $(verdict "$R_SEQ_RCL") |"
  echo "| $N_SMALL x ${SMALL_KB} KiB, $READERS readers, cold | ${R_SM_S3FS}x: $(verdict "$R_SM_S3FS") | ${R_SM_RCL}x: $(verdict "$R_SM_RCL") |"
  echo
  echo "## Write ${WRITE_MB} MiB"
  echo
  echo "| test | median s (min-max) | MiB/s | vs baseline |"
  echo "|---|---|---|---|"
  echo "| native PUT (curl -T /v1/objects) | $(cell "$NATIVE_W") | $(mbps "$WRITE_MB" "$NATIVE_W") | 1.00 |"
  echo "| aws s3 cp (multipart) | $(cell "$AWS_W") | $(mbps "$WRITE_MB" "$AWS_W") | $(ratio "$AWS_W" "$NATIVE_W") |"
  echo
  echo "vs baseline / ratio = throughput relative to the native row of the same section (1.00 = as fast)."
  echo "Small files: each file opened by path and read fully once (no directory listing first);"
  echo "s3fs and rclone mount the bucket, aisle-fs the cluster (path BUCKET/small/f-NNNNNN)."
  echo
  echo "Raw seconds: seq read: curl ${SEQ[curl]% }; aisle-fs ${SEQ[aisle-fs]% }; s3fs ${SEQ[s3fs]% }; rclone ${SEQ[rclone]% }."
  echo "Small files: native GET ${SM[get]% }; aisle-fs ${SM[aisle-fs]% }; s3fs ${SM[s3fs]% }; rclone ${SM[rclone]% }; local ${SM[local]% }."
  echo "Write: aws ${AWS_W% }; native ${NATIVE_W% }."
  if [[ ${#ERRORS[@]} -gt 0 ]]; then
    echo
    echo "Errors during the run:"
    for e in "${ERRORS[@]}"; do echo "- $e"; done
  fi
  for c in aisle-fs s3fs rclone; do
    if [[ -s "$WORK/$c.log" ]] && grep -qE "$LOGPAT" "$WORK/$c.log"; then
      echo
      echo "$c log ($(grep -cE "$LOGPAT" "$WORK/$c.log") error/warning lines), first 5:"
      echo '```'
      grep -E "$LOGPAT" "$WORK/$c.log" | head -5 | cut -c1-300
      echo '```'
    fi
  done
} >"$OUT"
echo
cat "$OUT"
echo "bench-s3: wrote $OUT"
