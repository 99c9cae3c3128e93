#!/usr/bin/env bash
# Starts (up) or stops (down) the Fetcher, Applier and Saga services as separate background processes,
# built in Debug (UNPACKER_CONFIGURATION=Release, or UNPACKER_PUBLISH_DIR for published builds), with logs and PIDs
# under $UNPACKER_STATE_DIR.
# `up fetcher=2` starts two Fetchers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"

start() {
  local service="$1" count="$2" project
  project="$(tr '[:lower:]' '[:upper:]' <<<"${service:0:1}")${service:1}"
  local configuration="${UNPACKER_CONFIGURATION:-Debug}"
  local dll="$UNPACKER_REPO/src/$project/bin/$configuration/net10.0/Unpacker.$project.dll"
  # Published builds (the benchmarks publish ReadyToRun, as the Dockerfiles do) live in $UNPACKER_PUBLISH_DIR/<service>.
  [[ -z "${UNPACKER_PUBLISH_DIR:-}" ]] || dll="$UNPACKER_PUBLISH_DIR/$service/Unpacker.$project.dll"
  [[ -f "$dll" ]] || die "$dll is not built: run 'dotnet build Services.sln -c $configuration'"
  for ((i = 1; i <= count; i++)); do
    local name="$service-$i" pidfile="$pids/$service-$i.pid" logfile="$logs/$service-$i.log"
    if pid_alive "$pidfile"; then log "$name already running"; continue; fi
    UNPACKER_WORKER_ID="$service-$i@$(hostname)" setsid dotnet "$dll" >"$logfile" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    wait_until "$name" 60 grep -q 'started; health at' "$logfile"
  done
}

command="${1:-up}"; shift || true
specs=("$@"); ((${#specs[@]})) || specs=(fetcher applier saga)
case "$command" in
  up) for spec in "${specs[@]}"; do start "${spec%%=*}" "$( [[ $spec == *=* ]] && echo "${spec#*=}" || echo 1)"; done ;;
  down)
    for file in "$pids"/{fetcher,applier,saga}-*.pid; do
      [[ -f "$file" ]] || continue
      stop_pid "$(basename "$file" .pid)" "$file" TERM 30
    done ;;
  *) die "usage: $0 up|down [fetcher[=N]] [applier[=N]] [saga[=N]]" ;;
esac
