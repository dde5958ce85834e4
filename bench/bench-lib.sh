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
