# Shared by start-loa.sh and start-loa-dev.sh (sourced, not run): where tools live, their status, and
# the supervisor that keeps the deferred tool loader running.

say() { printf "[loa] %s %s\n" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*"; }

# Tools persist only on a mounted /data volume; otherwise use an ephemeral directory and say so.
resolve_tool_dir() {
  if [ -z "${LOA_TOOL_DIR:-}" ] || [ "$LOA_TOOL_DIR" = /data/tools ]; then
    if grep -qs ' /data ' /proc/self/mountinfo; then
      LOA_TOOL_DIR=/data/tools
    else
      LOA_TOOL_DIR=${TMPDIR:-/tmp}/loa-tools
      say "warning: /data is not a mounted volume; tools go to $LOA_TOOL_DIR and will not persist across restarts (mount a volume on /data)"
    fi
  fi
  mkdir -p "$LOA_TOOL_DIR/bin"
  export LOA_TOOL_DIR PATH="$LOA_TOOL_DIR/bin:$PATH"
}

# One line per tool: installed (its check passes) or pending. Never fails.
print_tool_status() {
  local manifest=$1
  if [ ! -r "$manifest" ]; then
    say "tool manifest $manifest not found: no deferred tools"
    return 0
  fi
  jq -r '.tools[] | [.name, .check] | @tsv' "$manifest" 2>/dev/null | while IFS=$'\t' read -r name check; do
    if (sh -c "$check") >/dev/null 2>&1; then say "tool $name: installed"; else say "tool $name: pending"; fi
  done || say "tool manifest $manifest is unreadable; the loader will report why"
}

# Runs the loader until it finishes; restarts it when it crashes or is killed. Exit 78 from the
# loader (an unusable manifest) is not retried.
supervise_loader() {
  local restarts=0 rc
  while true; do
    "$@" &
    local pid=$!
    say "tool loader running (pid $pid)"
    wait "$pid" && rc=0 || rc=$?
    if [ "$rc" = 0 ]; then
      say "tool loader finished"
      return 0
    fi
    if [ "$rc" = 78 ]; then
      say "tool loader stopped: the tool manifest is unusable (see above); not restarting"
      return 0
    fi
    restarts=$((restarts + 1))
    local delay=$((restarts < 5 ? restarts : 5))
    say "tool loader exited with $rc; restarting in ${delay}s (restart $restarts)"
    sleep "$delay"
  done
}

# Starts the supervisor in the background when deferred tools are on.
start_loader() {
  if [ "${LOA_DEFERRED_TOOLS:-true}" = false ]; then
    say "deferred tools off (LOA_DEFERRED_TOOLS=false)"
    return 0
  fi
  supervise_loader "$@" &
  loa_supervisor_pid=$!
  say "tool loader supervisor started (pid $loa_supervisor_pid)"
}
