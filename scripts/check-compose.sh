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

# The optional observability profile: valid with the profile on, its mounted configs exist and parse, and
# Prometheus scrapes each service at the port the services listen on. (python3-yaml comes with Debian's
# docker-compose, which is written in Python.)
docker-compose -f docker-compose.yml --profile observability config -q
log "docker-compose.yml is valid with --profile observability"
for config in $(docker-compose -f docker-compose.yml --profile observability config | sed -n 's#^ *- *\(\./deploy/[^:]*\|/[^:]*/deploy/[^:]*\):.*#\1#p' | sort -u); do
  [[ -f "$config" ]] || die "docker-compose.yml mounts $config, which does not exist"
  python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$config" || die "$config is not valid YAML"
  log "$config exists and parses"
done
python3 - <<'PY' || die "deploy/observability/prometheus.yml does not scrape every service at the port in docker-compose.yml"
import re, yaml
compose = yaml.safe_load(open("docker-compose.yml"))
port = int(re.search(r":(\d+)$", compose["x-unpacker-environment"]["ASPNETCORE_URLS"]).group(1))
prometheus = yaml.safe_load(open("deploy/observability/prometheus.yml"))
scraped = {(name, sd["port"]) for job in prometheus["scrape_configs"] for sd in job.get("dns_sd_configs", []) for name in sd["names"]}
services = [s for s in compose["services"] if s.startswith(("fetcher", "applier", "saga"))]
missing = [s for s in services if (s, port) not in scraped]
assert not missing, f"not scraped at port {port}: {missing}"
collector = yaml.safe_load(open("deploy/observability/otel-collector.yaml"))
for name, pipeline in collector["service"]["pipelines"].items():
    for part in ("receivers", "processors", "exporters"):
        for component in pipeline.get(part, []):
            assert component in collector[part], f"pipeline {name} uses {part[:-1]} {component}, which is not configured"
PY
log "prometheus.yml scrapes every Fetcher, Applier and the Saga at their port; the collector's pipelines use configured components"

# Schema migrations are a step: every service waits for the `migrate` one-shot (`unpacker db migrate`) to succeed.
python3 - <<'PY' || die "docker-compose.yml starts a service before the schema migration has completed"
import yaml
compose = yaml.safe_load(open("docker-compose.yml"))
assert compose["services"]["migrate"]["command"] == ["db", "migrate"], "the migrate service does not run 'db migrate'"
for name, service in compose["services"].items():
    if name.startswith(("fetcher", "applier", "saga")):
        condition = service.get("depends_on", {}).get("migrate", {}).get("condition")
        assert condition == "service_completed_successfully", f"{name} does not wait for migrate"
PY
log "every service starts after the migrate one-shot completed"

# No shared disk: every volume a Fetcher or an Applier mounts is mounted by that service alone (a node's snapshots
# need a local filesystem, and blobs reach the nodes over HTTP).
python3 - <<'PY' || die "docker-compose.yml shares a volume between Fetchers and Appliers"
import yaml
compose = yaml.safe_load(open("docker-compose.yml"))
owners = {}
for name, service in compose["services"].items():
    if not name.startswith(("fetcher", "applier")):
        continue
    for volume in service.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
        owners.setdefault(source, []).append(name)
shared = {v: s for v, s in owners.items() if len(s) > 1}
assert not shared, f"shared volumes: {shared}"
nodes = [s.get("environment", {}).get("UNPACKER_NODE") for n, s in compose["services"].items() if n.startswith("applier")]
assert len(nodes) >= 2 and None not in nodes and len(set(nodes)) == len(nodes), f"each Applier service names a node of its own: {nodes}"
PY
log "no volume is shared between the Fetchers and the nodes; each Applier service is a node of its own"
if command -v promtool >/dev/null; then
  promtool check config deploy/observability/prometheus.yml
fi
