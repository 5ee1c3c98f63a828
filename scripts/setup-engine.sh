#!/usr/bin/env bash
# Installs and starts what the end-to-end tests need on a Debian machine: Debian's Docker engine
# (daemon off the default bridge: only loopback may be a network target here), debootstrap for the
# base images, Debian's docker-registry on 127.0.0.1:5000, and docker-compose. Idempotent: reuses
# whatever already runs. Developers run it too.
set -euo pipefail

log() { printf '[setup-engine] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

need=()
[ -x /usr/bin/dockerd ] || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  $SUDO apt-get update -qq
  # Services cannot be started by the package scripts here (no init system); we start them below.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Debian's client drives the daemon's built-in BuildKit without buildx; a newer client earlier on
# PATH may refuse BuildKit. The tests use this one explicitly.
DOCKER=/usr/bin/docker
STATE_DIR=${SLIPWAY_STATE_DIR:-/var/lib/slipway}
$SUDO mkdir -p "$STATE_DIR"

if ! $DOCKER info >/dev/null 2>&1; then
  log "starting dockerd (bridge=none, iptables off)"
  $SUDO bash -c "nohup dockerd --bridge=none --iptables=false --ip-masq=false \
    >'$STATE_DIR/dockerd.log' 2>&1 &"
  for _ in $(seq 1 60); do
    $DOCKER info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! $DOCKER info >/dev/null 2>&1; then
    log "dockerd did not answer within 60 s; its log:"
    tail -n 30 "$STATE_DIR/dockerd.log" >&2 || true
    exit 1
  fi
fi
log "docker engine: $($DOCKER version --format '{{.Server.Version}}') ($($DOCKER info --format '{{.Driver}}') storage)"

if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  log "starting docker-registry on 127.0.0.1:5000"
  $SUDO mkdir -p "$STATE_DIR/registry"
  cat >"$STATE_DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  $SUDO bash -c "nohup /usr/bin/docker-registry serve '$STATE_DIR/registry.yml' \
    >'$STATE_DIR/registry.log' 2>&1 &"
  for _ in $(seq 1 30); do
    curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fsS http://127.0.0.1:5000/v2/ >/dev/null || { log "registry did not answer"; tail -n 20 "$STATE_DIR/registry.log" >&2; exit 1; }
fi
log "registry: http://127.0.0.1:5000"
