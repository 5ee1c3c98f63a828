#!/usr/bin/env bash
# Bootstraps the base images the tests build on, since no image can be pulled on these machines:
#   slipway/debian:bookworm  debootstrap --variant=minbase bookworm from apt's own Debian mirror
#   slipway/node:20          that, plus this machine's node and npm, laid out as the official
#                            node image has them (/usr/local/bin, /usr/local/lib/node_modules/npm)
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
revision() { $DOCKER image inspect --format '{{ index .Config.Labels "slipway.bootstrap" }}' "$1" 2>/dev/null || true; }
# Extra CAs this machine trusts (an egress proxy's, renewed per boot): the Node image trusts them too,
# so npm inside builds reaches the registry as the host does. Public images need none of this.
host_cas() { cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true; }
# Bump when what an image holds changes: an older image (or one made for other CAs) is rebuilt.
NODE_IMAGE_REV="5-$(host_cas | sha256sum | cut -c1-12)"

mirror() {
  # The first Debian mirror apt is configured with (deb822 or one-line sources).
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk '{print $2}' | grep -v security | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

DEBIAN_IMAGE_REV=2
if have "$DEBIAN_IMAGE" && [ "$(revision "$DEBIAN_IMAGE")" = "$DEBIAN_IMAGE_REV" ]; then
  log "reusing $DEBIAN_IMAGE"
else
  root=$(mktemp -d /tmp/slipway-rootfs.XXXXXX)
  trap '$SUDO rm -rf "$root"' EXIT
  m=$(mirror)
  log "debootstrap minbase bookworm from $m (about 30 s)"
  $SUDO debootstrap --variant=minbase bookworm "$root" "$m" >"$root.log" 2>&1 ||
    { tail -n 20 "$root.log" >&2; exit 1; }
  # apt inside the image uses the same mirror; drop caches to keep the base small, and clean them
  # after every apt run as the official Debian images do (their /etc/apt/apt.conf.d/docker-clean).
  $SUDO rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  $SUDO tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  $SUDO tar -C "$root" -c . | $DOCKER import \
    --change 'CMD ["/bin/bash"]' \
    --change "LABEL slipway.bootstrap=$DEBIAN_IMAGE_REV" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$DEBIAN_IMAGE" >/dev/null
  rm -f "$root.log"
  log "imported $DEBIAN_IMAGE"
fi

if have "$NODE_IMAGE" && [ "$(revision "$NODE_IMAGE")" = "$NODE_IMAGE_REV" ]; then
  log "reusing $NODE_IMAGE"
else
  ctx=$(mktemp -d /tmp/slipway-node.XXXXXX)
  # The official node images' user, as their Dockerfile makes it (docker-library/node: groupadd
  # --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node), so a
  # Dockerfile written for node:*-slim (USER node) runs on this stand-in too.
  # COPY keeps the mode: a RUN chmod would store the ~100 MB binary a second time in its own layer.
  install -m 0755 "$(readlink -f "$(command -v node)")" "$ctx/node"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  cp -a "$npm_dir" "$ctx/npm"
  host_cas >"$ctx/host-ca.crt"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_IMAGE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY host-ca.crt /usr/local/share/ca-certificates/slipway-host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/slipway-host-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
LABEL slipway.bootstrap=$NODE_IMAGE_REV
DOCKERFILE
  DOCKER_BUILDKIT=1 $DOCKER build --network host -q -t "$NODE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $NODE_IMAGE (node $($DOCKER run --rm --network host "$NODE_IMAGE" node --version), npm $($DOCKER run --rm --network host "$NODE_IMAGE" npm --version))"
fi
