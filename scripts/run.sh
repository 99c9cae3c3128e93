#!/usr/bin/env bash
# The main job, end to end on this machine, offline:
#   1. bring up PostgreSQL, RabbitMQ and the OCI registry (installed with apt when missing);
#   2. build, and start the Fetcher, Applier and Saga as separate processes;
#   3. build a real three-layer sample image from this machine's files (whiteout, opaque dir, hardlink,
#      setuid file) and push it to the local registry;
#   4. unpack it through the system with `unpacker pull` (snapshotter: $SNAPSHOTTER, default native);
#   5. export the committed root filesystem to $UNPACKER_STATE_DIR/rootfs and print the unpack's history.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$UNPACKER_REPO"
snapshotter="${SNAPSHOTTER:-native}"

"$UNPACKER_REPO/scripts/services.sh" up
log "building Services.sln"
dotnet build Services.sln -nologo -clp:ErrorsOnly
"$UNPACKER_REPO/scripts/workers.sh" up
trap '"$UNPACKER_REPO/scripts/workers.sh" down' EXIT

unpacker() { dotnet "$UNPACKER_REPO/src/Cli/bin/Debug/net10.0/unpacker.dll" "$@"; }
unpacker ping --timeout 60 >/dev/null

reference="$("$UNPACKER_REPO/scripts/sample-image.sh")"
log "unpacker pull $reference --snapshotter $snapshotter"
output="$(unpacker pull "$reference" --snapshotter "$snapshotter" | tee /dev/stderr)"
unpack_id="$(sed -n 's/^unpack \([0-9a-f-]*\):.*/\1/p' <<<"$output" | head -1)"
top_chain="$(sed -n 's/^unpack .* completed in .*; top chain ID //p' <<<"$output")"

rootfs="$UNPACKER_STATE_DIR/rootfs"
rm -rf "$rootfs" && mkdir -p "$rootfs"
unpacker snapshots export "$snapshotter" "$top_chain" "$rootfs"
log "root filesystem of $reference exported to $rootfs:"
(cd "$rootfs" && ls -la . app etc usr/share/common-licenses usr/local/bin | sed 's/^/    /')
[[ ! -e "$rootfs/etc/motd" ]] || die "the whiteout of etc/motd was not applied"

log "unpacker history $unpack_id"
unpacker history "$unpack_id"
