#!/usr/bin/env bash
# Starts (up) or stops (down) the Fetcher, Applier and Saga services as separate background processes,
# built in Debug (UNPACKER_CONFIGURATION=Release, or UNPACKER_PUBLISH_DIR for published builds), with logs and PIDs
# under $UNPACKER_STATE_DIR.
# `up fetcher=2` starts two Fetchers. `up applier@node-a applier@node-b` starts an Applier per node: each is its own
# node (UNPACKER_NODE) with its own storage root under $UNPACKER_STATE_DIR/nodes/<node>, sharing no snapshot with the
# others (a fleet on one machine). Without @, an Applier belongs to this host's node and uses UNPACKER_ROOT.
# `up` runs `unpacker db migrate` first (the services refuse a schema older than they need).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"

start() {
  local service="$1" count="$2" node="${3:-}" project
  project="$(tr '[:lower:]' '[:upper:]' <<<"${service:0:1}")${service:1}"
  local configuration="${UNPACKER_CONFIGURATION:-Debug}"
  local dll="$UNPACKER_REPO/src/$project/bin/$configuration/net10.0/Unpacker.$project.dll"
  # Published builds (the benchmarks publish ReadyToRun, as the Dockerfiles do) live in $UNPACKER_PUBLISH_DIR/<service>.
  [[ -z "${UNPACKER_PUBLISH_DIR:-}" ]] || dll="$UNPACKER_PUBLISH_DIR/$service/Unpacker.$project.dll"
  [[ -f "$dll" ]] || die "$dll is not built: run 'dotnet build Services.sln -c $configuration'"
  local environment=()
  if [[ -n "$node" ]]; then
    environment=(UNPACKER_NODE="$node" UNPACKER_ROOT="$state/nodes/$node")
    mkdir -p "$state/nodes/$node"
  fi
  for ((i = 1; i <= count; i++)); do
    local name="$service-$i${node:+@$node}" pidfile="$pids/$service${node:+@$node}-$i.pid" logfile="$logs/$service${node:+@$node}-$i.log"
    if pid_alive "$pidfile" Unpacker; then log "$name already running"; continue; fi
    env "${environment[@]}" UNPACKER_WORKER_ID="$service-$i${node:+-$node}@$(hostname)" setsid dotnet "$dll" >"$logfile" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    wait_until "$name" 60 grep -q 'started; health at' "$logfile"
  done
}

# The services only check the PostgreSQL schema; migrating it is a step of its own, as the compose `migrate` service is.
migrate() {
  local configuration="${UNPACKER_CONFIGURATION:-Debug}"
  local dll="$UNPACKER_REPO/src/Cli/bin/$configuration/net10.0/unpacker.dll"
  [[ -z "${UNPACKER_PUBLISH_DIR:-}" ]] || dll="$UNPACKER_PUBLISH_DIR/cli/unpacker.dll"
  [[ -f "$dll" ]] || die "$dll is not built: run 'dotnet build Services.sln -c $configuration'"
  local result
  result="$(dotnet "$dll" db migrate)" || die "unpacker db migrate failed"
  log "unpacker db migrate: ${result%%$'\n'*}"
}

command="${1:-up}"; shift || true
specs=("$@"); ((${#specs[@]})) || specs=(fetcher applier saga)
case "$command" in
  up)
    migrate
    for spec in "${specs[@]}"; do
      count=1; [[ $spec == *=* ]] && count="${spec#*=}"
      service="${spec%%=*}"; node=""
      [[ $service == *@* ]] && { node="${service#*@}"; service="${service%%@*}"; }
      start "$service" "$count" "$node"
    done ;;
  down)
    for file in "$pids"/{fetcher,applier,saga}{,@*}-*.pid; do
      [[ -f "$file" ]] || continue
      stop_pid "$(basename "$file" .pid)" "$file" Unpacker TERM 30
    done ;;
  *) die "usage: $0 up|down [fetcher[=N]] [applier[@node][=N]] [saga[=N]]" ;;
esac
