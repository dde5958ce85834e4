#!/usr/bin/env bash
# Runs an Aisle cluster from the image of packaging/build-image.sh: one container per node
# (1 proxy + N targets), host networking, nodes on 127.0.0.1:PORT.. (docs/DEPLOY.md).
#   bash packaging/podman-cluster.sh up   [--image NAME:TAG] [--port P] [--targets N]
#                                         [--name PREFIX] [--volumes]
#   bash packaging/podman-cluster.sh down [--name PREFIX] [--targets N] [--volumes]
# --volumes keeps each node's /var/lib/aisle in a named volume PREFIX-NODE (down --volumes
# removes them); without it the data lives and dies with the containers.
# Environment: AISLE_PODMAN_RUNTIME (runc), AISLE_PODMAN_ULIMITS (nofile = the shell's hard
# limit, nproc 4096: explicit limits, which some hosts need to start a container at all).
set -euo pipefail
cmd=${1:-}; shift || true
IMAGE=aisle:0.1.0 PORT=8080 TARGETS=3 NAME=aisle VOLUMES=0
while (($#)); do
  case "$1" in
    --image) IMAGE=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --volumes) VOLUMES=1; shift ;;
    *) echo "podman-cluster: unknown argument $1" >&2; exit 2 ;;
  esac
done
RUNTIME=${AISLE_PODMAN_RUNTIME:-runc}
nofile=$(ulimit -Hn)
[[ "$nofile" == unlimited ]] && nofile=1048576
read -r -a ULIMITS <<<"${AISLE_PODMAN_ULIMITS:---ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096}"
nodes() { echo "$NAME-proxy"; for ((i = 1; i <= TARGETS; i++)); do echo "$NAME-target$i"; done; }

run_node() {  # NAME ARGS...: one detached node container
  local n=$1; shift
  local vol=()
  ((VOLUMES)) && vol=(--volume "$n:/var/lib/aisle")
  podman run -d --name "$n" --runtime "$RUNTIME" --network host "${ULIMITS[@]}" "${vol[@]}" \
    "$IMAGE" "$@" >/dev/null
}

case "$cmd" in
  up)
    primary="http://127.0.0.1:$PORT"
    run_node "$NAME-proxy" --role proxy --port "$PORT" --data-dir /var/lib/aisle/proxy
    for ((i = 1; i <= TARGETS; i++)); do
      run_node "$NAME-target$i" --role target --port $((PORT + i)) --primary "$primary" \
        --mountpath /var/lib/aisle/target$i
    done
    # Ready when the primary's cluster map lists every target.
    for ((t = 0; t < 300; t++)); do
      smap=$(curl -sf "$primary/v1/daemon?what=smap" || true)
      if (($(grep -o '"daemon_type":"target"' <<<"$smap" | wc -l) >= TARGETS)); then
        echo "podman-cluster: $primary (1 proxy, $TARGETS targets)"
        exit 0
      fi
      sleep 0.1
    done
    echo "podman-cluster: the cluster did not form in 30 s; logs: podman logs $NAME-proxy" >&2
    exit 1
    ;;
  down)
    for n in $(nodes); do podman rm -f -t 5 "$n" >/dev/null 2>&1 || true; done
    if ((VOLUMES)); then
      for n in $(nodes); do podman volume rm -f "$n" >/dev/null 2>&1 || true; done
    fi
    ;;
  *)
    echo "usage: $0 up|down [--image NAME:TAG] [--port P] [--targets N] [--name PREFIX] [--volumes]" >&2
    exit 2
    ;;
esac
