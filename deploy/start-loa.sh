#!/usr/bin/env bash
# Starts the LOA core: prints the tool status, starts the deferred tool loader (supervised, in the
# background) and then becomes the gateway (exec), so docker stop's SIGTERM reaches it directly.
# A missing tool never stops the core from starting.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=loa-common.sh
. "$here/loa-common.sh"

APP=${LOA_APP_DIR:-/app}
export LOA_TOOL_MANIFEST=${LOA_TOOL_MANIFEST:-$APP/dist/tool-loader/tools.json}

resolve_tool_dir
say "starting LOA core (version ${LOA_VERSION_ID:-${IMAGE_TAG:-local}}), tools in $LOA_TOOL_DIR"
print_tool_status "$LOA_TOOL_MANIFEST"
start_loader node "$APP/dist/tool-loader/cli.js"
say "starting gateway on :${PORT:-18789}"
exec node "$APP/dist/src/server.js"
