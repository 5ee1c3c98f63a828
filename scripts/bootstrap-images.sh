#!/usr/bin/env bash
# Bootstraps the base images the tests build on, since no image can be pulled on these machines:
#   slipway/debian:bookworm  debootstrap --variant=minbase bookworm from apt's own Debian mirror
#   slipway/node:20          that, plus this machine's node binary
# Idempotent: an image that already exists is reused. Production Dockerfiles keep public images as
# ARG defaults; tests pass these.
set -euo pipefail

log() { printf '[bootstrap-images] %s\n' "$*"; }
DOCKER=${DOCKER:-/usr/bin/docker}
DEBIAN_IMAGE=${SLIPWAY_DEBIAN_IMAGE:-slipway/debian:bookworm}
NODE_IMAGE=${SLIPWAY_NODE_IMAGE:-slipway/node:20}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

have() { $DOCKER image inspect "$1" >/dev/null 2>&1; }

mirror() {
  # The first Debian mirror apt is configured with (deb822 or one-line sources).
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk '{print $2}' | grep -v security | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

if have "$DEBIAN_IMAGE"; then
  log "reusing $DEBIAN_IMAGE"
else
  root=$(mktemp -d /tmp/slipway-rootfs.XXXXXX)
  trap '$SUDO rm -rf "$root"' EXIT
  m=$(mirror)
  log "debootstrap minbase bookworm from $m (about 30 s)"
  $SUDO debootstrap --variant=minbase bookworm "$root" "$m" >"$root.log" 2>&1 ||
    { tail -n 20 "$root.log" >&2; exit 1; }
  # apt inside the image uses the same mirror; drop caches to keep the base small.
  $SUDO rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  $SUDO tar -C "$root" -c . | $DOCKER import \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$DEBIAN_IMAGE" >/dev/null
  rm -f "$root.log"
  log "imported $DEBIAN_IMAGE"
fi

if have "$NODE_IMAGE"; then
  log "reusing $NODE_IMAGE"
else
  ctx=$(mktemp -d /tmp/slipway-node.XXXXXX)
  cp "$(readlink -f "$(command -v node)")" "$ctx/node"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_IMAGE
COPY node /usr/local/bin/node
RUN chmod 0755 /usr/local/bin/node && node --version
DOCKERFILE
  DOCKER_BUILDKIT=1 $DOCKER build --network host -q -t "$NODE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $NODE_IMAGE ($($DOCKER run --rm --network host "$NODE_IMAGE" node --version))"
fi
