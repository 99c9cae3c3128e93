#!/usr/bin/env bash
# The fleet on one machine (issue #20's scale run): logical nodes, each an Applier process with its own node identity
# and storage root, behind 2 Fetchers and 2 Sagas, on the real PostgreSQL, RabbitMQ and registry. Runs the
# Reliability suite's FleetScaleTests at each size and prints every run's figures (throughput, p50/p99 latency, saga
# transactions per layer, PostgreSQL connections and CPU per service, the deepest queues), then how they grew.
#
#   bench/scale.sh                                  # 100 and 1,000 unpacks over 8 nodes, requests at 10/s
#   SCALE_SIZES="100 300" SCALE_NODES=4 SCALE_RATE=5 bench/scale.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
sizes=${SCALE_SIZES:-"100 1000"}
nodes=${SCALE_NODES:-8}
rate=${SCALE_RATE:-10}

"$repo/scripts/services.sh" up >&2
dotnet build "$repo/tests/Unpacker.ReliabilityTests" -v quiet -nologo >/dev/null
for size in $sizes; do
  echo "fleet run: $size unpacks over $nodes nodes at $rate/s..." >&2
  UNPACKER_SCALE_UNPACKS=$size UNPACKER_SCALE_NODES=$nodes UNPACKER_SCALE_RATE=$rate \
    dotnet test "$repo/tests/Unpacker.ReliabilityTests" --no-build -nologo \
      --filter "FullyQualifiedName~FleetScaleTests" --results-directory "$repo/TestResults" >&2
  cat "$repo/TestResults/fleet-scale-$size.md"
  echo
done
