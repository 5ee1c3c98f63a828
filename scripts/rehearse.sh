#!/usr/bin/env bash
# The README's main command on a fresh machine: set up what the pipeline needs (Debian's Docker
# engine off the default bridge, the local registry, the bootstrapped base images, npm dependencies)
# and run the local rehearsal of the whole pipeline. Arguments go to the rehearsal (e.g. --break).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-engine.sh
bash scripts/bootstrap-images.sh
[ -d node_modules/wrangler ] || npm ci --no-audit --no-fund
exec npm run --silent rehearse -- "$@"
