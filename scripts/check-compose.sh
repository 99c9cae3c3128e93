#!/usr/bin/env bash
# No Docker daemon runs here, so the compose stack is checked statically: the file validates with
# docker-compose, and every Dockerfile it builds publishes a project that Services.sln (and so the tests) builds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$UNPACKER_REPO"

docker-compose -f docker-compose.yml config -q
log "docker-compose.yml is valid"

for dockerfile in $(docker-compose -f docker-compose.yml config | sed -n 's/^ *dockerfile: *//p' | sort -u); do
  [[ -f "$dockerfile" ]] || die "docker-compose.yml builds $dockerfile, which does not exist"
  project="$(sed -n 's#.*dotnet publish \([^ ]*\.csproj\).*#\1#p' "$dockerfile")"
  [[ -n "$project" ]] || die "$dockerfile publishes no project"
  grep -qF "$(basename "$project")" Services.sln || die "$dockerfile publishes $project, which Services.sln does not build"
  log "$dockerfile publishes $project (in Services.sln)"
done
