#!/usr/bin/env bash
# The main job, end to end on this machine: bring up PostgreSQL, RabbitMQ and the registry, build,
# start the Fetcher, Applier and Saga as separate processes, and prove the whole path with `unpacker ping`
# (published through RabbitMQ, consumed by every service, recorded in PostgreSQL, read back).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$UNPACKER_REPO"

"$UNPACKER_REPO/scripts/services.sh" up
log "building Services.sln"
dotnet build Services.sln -nologo -clp:ErrorsOnly
"$UNPACKER_REPO/scripts/workers.sh" up
trap '"$UNPACKER_REPO/scripts/workers.sh" down' EXIT

unpacker() { dotnet "$UNPACKER_REPO/src/Cli/bin/Debug/net10.0/unpacker.dll" "$@"; }
log "unpacker ping"
unpacker ping --timeout 60
