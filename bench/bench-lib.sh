# Helpers shared by the bench scripts (sourced, after PY and MNT are set): mounts, stopping
# processes, timing and medians.

# is_mounted [DIR]: DIR (default $MNT) is a mount point now.
is_mounted() { awk -v m="${1:-$MNT}" '$5 == m' /proc/self/mountinfo | grep -q .; }

# stop_pid PID [WAIT [GRACE]]: gives PID up to WAIT tenths of a second to end by itself, then
# sends TERM and waits up to GRACE tenths (default 2), then KILL; reaps it.
stop_pid() {
  local pid=$1 wait=${2:-0} grace=${3:-2}
  for _ in $(seq "$wait"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq "$grace"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# unmount_fuse PID_VAR [WAIT [GRACE]]: unmounts $MNT (lazily when busy), then stops the FUSE
# process whose pid is in the variable named PID_VAR (it should exit by itself) and clears it.
unmount_fuse() {
  local -n pid_ref=$1
  if is_mounted; then
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
  fi
  if [[ -n "$pid_ref" ]]; then
    stop_pid "$pid_ref" "${2:-50}" "${3:-2}"
    pid_ref=""
  fi
}

now() { date +%s.%N; }
# elapsed T0 T1: seconds between, with ELAPSED_DIGITS (4) decimals.
elapsed() { $PY -c "print('%.${ELAPSED_DIGITS:-4}f' % ($2 - $1))"; }
# stats X...: median, min, max.
stats() { $PY -c "import statistics,sys; x=[float(v) for v in sys.argv[1:]]; print('%.4f %.4f %.4f' % (statistics.median(x), min(x), max(x)))" "$@"; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- GET against nginx (bench-foundation, bench-tls); these use WORK, HELPER, NGINX_BIN, DUR,
# N_1M, N_10K, WRK_THREADS, WRK_CONNS, RESULTS and the script's die.

# write_nginx_conf PORT [CERT KEY]: $WORK/nginx.conf serving $WORK/www on 127.0.0.1:PORT
# (sendfile, keep-alive, no access log), over TLS 1.2/1.3 when CERT and KEY are given.
write_nginx_conf() {
  local port=$1 listen="listen 127.0.0.1:$1;"
  [[ $# -ge 3 ]] && listen="listen 127.0.0.1:$port ssl;
    ssl_certificate $2;
    ssl_certificate_key $3;
    ssl_protocols TLSv1.2 TLSv1.3;"
  mkdir -p "$WORK/nginx-tmp"
  cat >"$WORK/nginx.conf" <<NGINX
daemon off;
master_process on;
worker_processes auto;
user root;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  default_type application/octet-stream;
  client_body_temp_path $WORK/nginx-tmp/body;
  proxy_temp_path $WORK/nginx-tmp/proxy;
  fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
  scgi_temp_path $WORK/nginx-tmp/scgi;
  server {
    $listen
    root $WORK/www;
    location / { }
  }
}
NGINX
}

# start_nginx URL [CURL_OPTION...]: starts nginx on $WORK/nginx.conf (pid in NGINX_PID) and
# waits until it serves URL/b10k/obj-00000.
start_nginx() {
  local url=$1
  shift
  "$NGINX_BIN" -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" >"$WORK/nginx.out" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 100); do
    curl -sf "$@" -o /dev/null "$url/b10k/obj-00000" && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx.out" "$WORK/nginx-error.log" >&2; die "nginx exited"; }
    sleep 0.1
  done
  die "nginx not serving $url after 10 s"
}

# write_wrk_luas: $WORK/{aisle,nginx}-{b1m,b10k}.lua, wrk scripts cycling over the objects.
write_wrk_luas() {
  local kind b n
  for kind in aisle nginx; do
    for b in b1m b10k; do
      n="$N_1M"; [[ $b == b10k ]] && n="$N_10K"
      $PY "$HELPER" wrk-lua "$kind" "$b" "$n" "$WORK/$kind-$b.lua"
    done
  done
}

# wrk_run SIDE TEST LUA URL: one wrk run of DUR seconds; appends its numbers (with "test" and
# "side") as a JSON line to $RESULTS and prints them.
wrk_run() {
  local side=$1 test=$2 lua=$3 url=$4 out js
  out="$(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DUR}s" --timeout 10s -s "$lua" "$url" 2>&1)" ||
    die "wrk failed: $out"
  js="$(grep '^WRKJSON ' <<<"$out" | sed 's/^WRKJSON //')"
  [[ -n "$js" ]] || die "no WRKJSON in wrk output: $out"
  echo "{\"test\":\"$test\",\"side\":\"$side\",${js#\{}" >>"$RESULTS"
  $PY -c 'import json,sys; d=json.loads(sys.argv[1]); print("   %-11s %-7s %10.0f req/s %9.1f MB/s  p50 %6d us  p99 %7d us  errors %d" % (sys.argv[2], sys.argv[3], d["rps"], d["Bps"]/1e6, d["lat_p50_us"], d["lat_p99_us"], d["err_status"]+d["err_connect"]+d["err_read"]+d["err_write"]+d["err_timeout"]))' "$js" "$side" "$test"
}
