#!/usr/bin/env bash
# The real parts the remote-launch tests need, on this machine, started when missing:
#   - Docker Engine (Debian's docker.io), as `dockerd --iptables=false --bridge=none`
#   - a registry (Debian's docker-registry) on 127.0.0.1:5000, our own config
#   - a base image, localbase:bookworm, built with debootstrap + `docker import`, with the host's
#     CA certificates inside (pip in a build needs them)
# Usage: bash scripts/infra.sh up      start what is missing; prints `export ...` lines for what it
#                                      started (PIDs) and made (names under .infra/), for `down`
#        bash scripts/infra.sh down    stop what `up` started (PIDs in $SCAFFOLD_INFRA_PIDS), then
#                                      remove what it made ($SCAFFOLD_INFRA_MADE)
# Everything `up` writes is under .infra/ (git-ignored), nothing in the system temp dir: the
# registry's config, storage (150-400 MB after a test run) and log in .infra/registry/, dockerd's
# log, debootstrap's rootfs and log while the base image is built. `down` removes them; it keeps the
# base image and the engine's layer cache, which make the next `up` and the next builds fast. A
# session killed before `down` leaves .infra/registry/: the next `up` that starts a registry
# clears it first.
# Nothing here listens beyond 127.0.0.1; builds use host networking, task containers none.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.infra"
mkdir -p "$state"
BASE_IMAGE=${SCAFFOLD_BASE_IMAGE:-localbase:bookworm}
REGISTRY_ADDR=127.0.0.1:5000

log() { echo "infra: $*" >&2; }
made() { echo "export SCAFFOLD_INFRA_MADE=\"\${SCAFFOLD_INFRA_MADE:-} $1\""; }  # `down` removes $state/$1

need_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

start_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  if ! pgrep -x dockerd >/dev/null; then rm -f /var/run/docker.pid; fi  # stale after a killed session
  log "starting dockerd"
  nohup dockerd --iptables=false --bridge=none >"$state/dockerd.log" 2>&1 &
  echo "export SCAFFOLD_INFRA_PIDS=\"\${SCAFFOLD_INFRA_PIDS:-} $!\""
  made dockerd.log
  wait_for 60 docker info || { tail -20 "$state/dockerd.log" >&2; log "dockerd did not start"; exit 1; }
}

start_registry() {
  if curl -fsS --max-time 5 "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then return; fi
  local dir="$state/registry"
  if pgrep -f -- "docker-registry serve $dir/config.yml" >/dev/null; then
    log "a docker-registry serving $dir/config.yml runs but does not answer on $REGISTRY_ADDR: stop it (pgrep -af docker-registry)"
    exit 1
  fi
  rm -rf "$dir"  # left by a session killed before `down`
  mkdir -p "$dir/storage"
  made registry
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YAML
  log "starting docker-registry on $REGISTRY_ADDR (storage $dir/storage)"
  nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  echo "export SCAFFOLD_INFRA_PIDS=\"\${SCAFFOLD_INFRA_PIDS:-} $!\""
  wait_for 30 curl -fsS --max-time 5 "http://$REGISTRY_ADDR/v2/" || { tail -20 "$dir/registry.log" >&2; log "registry did not start"; exit 1; }
}

build_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  local mirror rootfs="$state/rootfs"
  mirror=$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  mirror=${mirror:-$(grep -hoE '^deb +[^ ]+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')}
  rm -rf --one-file-system "$rootfs"  # left by a killed build (--one-file-system: never into a mounted /proc)
  mkdir -p "$rootfs"
  made rootfs
  made debootstrap.log
  log "building $BASE_IMAGE with debootstrap from $mirror (about a minute)"
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$state/debootstrap.log" 2>&1 \
    || { tail -20 "$state/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  rm -f "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf --one-file-system "$rootfs" "$state/debootstrap.log"
}

case "${1:-}" in
  up)
    need_packages
    start_engine
    start_registry
    build_base_image
    ;;
  down)
    for pid in ${SCAFFOLD_INFRA_PIDS:-}; do
      kill "$pid" 2>/dev/null || true
    done
    for pid in ${SCAFFOLD_INFRA_PIDS:-}; do
      wait_for 20 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    done
    for name in ${SCAFFOLD_INFRA_MADE:-}; do
      case "$name" in */* | . | .. | "") continue ;; esac  # only names `up` gave, directly under .infra/
      rm -rf --one-file-system "${state:?}/$name"
    done
    ;;
  *)
    echo "usage: bash scripts/infra.sh up|down" >&2
    exit 2
    ;;
esac
