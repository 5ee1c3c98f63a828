#!/usr/bin/env bash
# The dev loop: the gateway runs from the mounted TypeScript sources with tsx and restarts when a
# .ts file changes (entr -r; a Node watcher, dev-watch.mjs, when entr is missing). New files are picked up.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=loa-common.sh
. "$here/loa-common.sh"

SRC=${LOA_SRC_DIR:-/app/loa-identity}
export LOA_TOOL_MANIFEST=${LOA_TOOL_MANIFEST:-$SRC/tool-loader/tools.json}

resolve_tool_dir
say "starting LOA dev loop (BEAUVOIR_DEV_MODE=${BEAUVOIR_DEV_MODE:-0}), watching $SRC for .ts changes"
print_tool_status "$LOA_TOOL_MANIFEST"
start_loader tsx "$SRC/tool-loader/cli.ts"

gateway=(tsx "$SRC/src/server.ts")
trap 'say "dev loop stopping"; kill $(jobs -p) 2>/dev/null; exit 0' TERM INT

# LOA_DEV_WATCHER: auto (entr when installed, else Node), entr, or node.
watcher=${LOA_DEV_WATCHER:-auto}
if [ "$watcher" = auto ]; then
  if command -v entr >/dev/null 2>&1; then watcher=entr; else
    watcher=node
    say "entr not found: watching with Node (fs.watch) instead"
  fi
fi
say "watcher: $watcher"

if [ "$watcher" = entr ]; then
  # entr -d exits when a file is added to a watched directory: loop to watch the new file list.
  while true; do
    find "$SRC" -name '*.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' |
      entr -rnd sh -c 'printf "[loa] %s gateway (re)started after a change\n" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"; exec "$@"' sh "${gateway[@]}" &
    wait $! || true
  done
else
  node "$here/dev-watch.mjs" "$SRC" "$SRC/src/server.ts" &
  wait $!
fi
