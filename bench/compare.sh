#!/usr/bin/env bash
# Unpacker side by side with containerd 1.6 and GNU tar, in one run on this machine, written to docs/benchmarks.md.
#
# Builds images offline from this machine's own files (bench/lib/images.py): a three-layer image of real trees
# (/usr/lib, /usr/share, /usr/include…; symlinks and hardlinks included) as gzip and as zstd, a 30-small-layer
# image, and a batch of images sharing a base; pushes them to the local registry. Then, with a warm-up round and
# BENCH_REPS interleaved repetitions, times:
#   - Unpacker end to end (`unpacker pull`: registry → Fetcher → Applier → commit, through RabbitMQ and PostgreSQL)
#     with the native and the overlayfs snapshotter (Release, published ReadyToRun, services started by scripts/workers.sh);
#   - containerd `ctr images pull` with the same snapshotters (scripts/containerd.sh);
#   - `pigz -dc | tar -x` per layer (the practical limit), and `unpacker layer apply` per layer against `tar -xzf`;
#   - the orchestration overhead per layer (the 30-layer image minus a 1-layer image minus the layers' own apply
#     time as the Appliers report it), ten concurrent unpacks sharing a base against one, and each service's peak RSS;
#   - the fleet case (issue 18): the large image onto 1, 2 and 4 nodes at once, an Applier per node (`applier@fleet-N`,
#     each with a root of its own, none the Fetcher's, so every layer streams from the Fetcher over HTTP into the
#     apply): the wall time of `unpacker pull --node …` and the registry bytes fetched (the unpacks' recorded
#     BlobFetchFinished.BytesTransferred, and the registry's own access log) against the image's compressed size;
#     and the layer apply streamed from the Fetcher against the same apply from the local content store;
#   - the pre-warm case (issue 19): the large image unpacked by Unpacker onto node `prewarm`, whose Applier serves
#     containerd's snapshots API, then pulled by a containerd whose proxy_plugins point at it, the way the kubelet
#     pulls (CRI, bench/lib/cri_pull.py): against `ctr content fetch` of the same image (what the pull must still do),
#     and containerd's own `ctr images pull` onto its own snapshotter (what the pre-warm saves).
# Everything runs isolated: its own state dir, storage roots, PostgreSQL schema, RabbitMQ vhost and containerd.
#
#   bench/compare.sh                                  # defaults: ~300 MB image, 3 repetitions, about 15 minutes
#   BENCH_SIZE_MB=2000 BENCH_REPS=5 bench/compare.sh  # bigger; BENCH_SMALL_LAYERS, BENCH_BATCH, BENCH_WORK, BENCH_OUT
#   BENCH_CASES=fleet bench/compare.sh                # one case alone: compare (the side by side), fleet
#                                                     # (BENCH_FLEET_NODES="1 2 4", BENCH_FLEET_SNAPSHOTTER=overlayfs)
#                                                     # or prewarm (BENCH_PREWARM_SNAPSHOTTER=overlayfs)
# The side by side writes $BENCH_OUT whole; the fleet and pre-warm cases write their sections of it (between the
# <name>:begin and <name>:end markers, replaced in place or appended), so a run of one case keeps the others' figures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
size_mb=${BENCH_SIZE_MB:-300}
reps=${BENCH_REPS:-3}
cases=${BENCH_CASES:-compare shapes fleet prewarm}
small_layers=${BENCH_SMALL_LAYERS:-30}
batch=${BENCH_BATCH:-10}
work=${BENCH_WORK:-/var/tmp/unpacker-bench-$(date +%Y%m%d%H%M%S)}
out=${BENCH_OUT:-$repo/docs/benchmarks.md}
run_id=$(date +%Y%m%d%H%M%S)$$

# Nothing is deleted until the run is over. On ext4 without a journal (this machine's work dir), a new inode is
# never one deleted in the last minutes: after a large delete every file creation scans past the freed inodes,
# and creating files became 4-8× slower in the kernel for minutes (seen with perf: ext4's recently_deleted), for
# tar and containerd as much as for us. So every repetition unpacks images of its own (each layer carries a
# marker file, so every digest and chain ID is new) into fresh directories, and the clean-up waits for the end.
# The registry is the services' (scripts/services.sh), in their state dir: this run's images are removed from it at the end.
services_state="${UNPACKER_STATE_DIR:-$(sed -n 's/^UNPACKER_STATE_DIR=//p' "$repo/.env")}"
registry_config="$services_state/registry/config.yml"
# Its access log (combined format, the bytes of each response): what the registry itself sent for an image's blobs.
registry_log="$services_state/logs/registry.log"
for c in $cases; do [[ $c == compare || $c == shapes || $c == fleet || $c == prewarm ]] || { echo "BENCH_CASES: unknown case '$c' (compare, shapes, fleet, prewarm)" >&2; exit 2; }; done
[[ ! -e "$work" ]] || { echo "$work exists; point BENCH_WORK at a new directory" >&2; exit 2; }
mkdir -p "$work"/{images,results,dest}
# This host's node is named (the Appliers started without @node and the CLI agree on it): the fleet case names it.
export UNPACKER_STATE_DIR="$work/state" UNPACKER_ROOT="$work/root" UNPACKER_CONTAINERD_DIR="$work/containerd" UNPACKER_NODE=bench-local
export UNPACKER_POSTGRES_SCHEMA="bench_$run_id" UNPACKER_RABBITMQ_VHOST="bench-$run_id" UNPACKER_CONFIGURATION=Release
source "$repo/scripts/lib/env.sh"
has_case() { [[ " $cases " == *" $1 "* ]]; }
registry="$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT"
management="http://$UNPACKER_RABBITMQ_HOST:$UNPACKER_RABBITMQ_MANAGEMENT_PORT/api"
rabbit_auth="$UNPACKER_RABBITMQ_USER:$UNPACKER_RABBITMQ_PASSWORD"
# Published ReadyToRun, as the Dockerfiles publish them: without it every CLI command spends about half a second
# compiling Marten's, Npgsql's and MassTransit's code before it does anything. The CLI is self-contained and composite
# (the framework compiled with it): a framework-dependent build still compiles some 5,000 methods at start (generic code
# of the framework over the CLI's types), about 0.2 s of a short `unpacker pull`.
export UNPACKER_PUBLISH_DIR="$work/bin"
cli="$UNPACKER_PUBLISH_DIR/cli/unpacker"
unpacker() { "$cli" "$@"; }

cleanup() {
  set +e
  "$repo/scripts/workers.sh" down >/dev/null 2>&1
  "$repo/scripts/containerd.sh" down >/dev/null 2>&1
  UNPACKER_CONTAINERD_DIR="$work/containerd-prewarm" "$repo/scripts/containerd.sh" down >/dev/null 2>&1
  curl -fsS -u "$rabbit_auth" -X DELETE "$management/vhosts/$UNPACKER_RABBITMQ_VHOST" >/dev/null 2>&1
  PGPASSWORD="$UNPACKER_POSTGRES_PASSWORD" psql -q -h "$UNPACKER_POSTGRES_HOST" -p "$UNPACKER_POSTGRES_PORT" -U "$UNPACKER_POSTGRES_USER" \
    -d "$UNPACKER_POSTGRES_DB" -c "drop schema if exists $UNPACKER_POSTGRES_SCHEMA cascade" >/dev/null 2>&1
  [[ -n "${BENCH_KEEP:-}" ]] || { rm -rf "$work"; remove_pushed_images; }
}

# Every run pushes images of its own (a few GB with BENCH_SIZE_MB=300) under bench/<run id>/: their repositories go,
# then the registry's garbage collection deletes the blobs no other manifest references. Run no push against the
# registry meanwhile (the collection cannot see an upload in progress).
remove_pushed_images() {
  local data
  data=$(awk '/rootdirectory:/ {print $2}' "$registry_config" 2>/dev/null)
  [[ -n "$data" && -d "$data/docker/registry/v2/repositories/bench/$run_id" ]] || return 0
  rm -rf "$data/docker/registry/v2/repositories/bench/$run_id"
  docker-registry garbage-collect "$registry_config" >"$work.registry-gc.log" 2>&1 \
    && rm -f "$work.registry-gc.log" \
    || log "the registry's garbage collection failed (see $work.registry-gc.log); its blobs stay until the next one"
}
trap cleanup EXIT
trap 'log "bench/compare.sh failed at line $LINENO: $BASH_COMMAND"' ERR

for tool in pigz zstd psql ctr; do command -v "$tool" >/dev/null || die "$tool is missing: run scripts/services.sh up"; done
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- build and start ------------------------------------------------------------------------------
log "publishing Release, ReadyToRun (CLI and the three services)"
dotnet publish -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true \
  "$repo/src/Cli/Unpacker.Cli.csproj" -o "$UNPACKER_PUBLISH_DIR/cli" -v quiet -nologo >/dev/null
for project in Fetcher Applier Saga; do
  dotnet publish -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true "$repo/src/$project/Unpacker.$project.csproj" \
    -o "$UNPACKER_PUBLISH_DIR/${project,,}" -v quiet -nologo >/dev/null
done
curl -fsS -u "$rabbit_auth" -X PUT "$management/vhosts/$UNPACKER_RABBITMQ_VHOST" >/dev/null
curl -fsS -u "$rabbit_auth" -X PUT -H 'content-type: application/json' -d '{"configure":".*","write":".*","read":".*"}' \
  "$management/permissions/$UNPACKER_RABBITMQ_VHOST/$UNPACKER_RABBITMQ_USER" >/dev/null
"$repo/scripts/workers.sh" up fetcher applier saga
if has_case compare || has_case shapes; then
  socket=$("$repo/scripts/containerd.sh" up)
fi

# --- images ---------------------------------------------------------------------------------------
images="$work/images"
third=$((size_mb / 3))
log "building a ${size_mb} MB three-layer image from this machine's files"
python3 "$here/lib/images.py" tar "$images/l1.tar" "$third" usr/lib/x86_64-linux-gnu/dri usr/lib/x86_64-linux-gnu
python3 "$here/lib/images.py" tar "$images/l2.tar" "$third" usr/share
python3 "$here/lib/images.py" tar "$images/l3.tar" "$third" usr/include usr/lib/python3.11 usr/lib/gcc usr/lib/dotnet
large_layers=(l1 l2 l3)
gz=application/vnd.oci.image.layer.v1.tar+gzip
zst=application/vnd.oci.image.layer.v1.tar+zstd
push() { local name=$1; shift; python3 "$here/lib/images.py" push "$registry" "bench/$run_id/$name:latest" "$images/$name.json" "$@"; }

small=()
if has_case compare || has_case shapes; then
  log "building a ${small_layers}-layer image of small trees"
  for doc in $(ls /usr/share/doc | head -"$small_layers"); do
    python3 "$here/lib/images.py" tar "$images/s${#small[@]}.tar" 1 "usr/share/doc/$doc"
    small+=("s${#small[@]}")
  done
fi
if has_case compare; then
  log "building the base of ${batch} images"
  python3 "$here/lib/images.py" tar "$images/base.tar" $((third < 60 ? third : 60)) usr/lib/python3.11 usr/include
fi

# variant V LAYER...: copies of the layers with a marker file naming V appended, compressed with pigz (and zstd
# for the large ones); every digest and chain ID differs from every other variant's.
variant() {
  local v=$1; shift
  mkdir -p "$images/mark-$v/etc"
  echo "$run_id $v" >"$images/mark-$v/etc/bench-variant"
  for l; do
    cp "$images/$l.tar" "$images/$l-$v.tar"
    tar -rf "$images/$l-$v.tar" -C "$images/mark-$v" etc/bench-variant
    pigz -6 -c "$images/$l-$v.tar" >"$images/$l-$v.tar.gz"
  done
}
args_of() { local v=$1 ext=$2 type=$3; shift 3; for l; do echo "$images/$l-$v.tar $images/$l-$v.$ext $type"; done; }

# images V: every image one repetition (or the warm-up) unpacks, as variant V, pushed to the registry.
images_for() {
  local v=$1 b
  variant "$v" "${large_layers[@]}" "${small[@]}" base
  # The zstd image has layers of its own too: with the gzip image's diffIDs its chain IDs would be committed already.
  variant "$v-zstd" "${large_layers[@]}"
  for l in "${large_layers[@]}"; do zstd -q -3 -T0 -c "$images/$l-$v-zstd.tar" >"$images/$l-$v-zstd.tar.zst"; done
  push "large-gzip-$v" $(args_of "$v" tar.gz "$gz" "${large_layers[@]}")
  push "large-zstd-$v" $(args_of "$v-zstd" tar.zst "$zst" "${large_layers[@]}")
  push "many-small-$v" $(args_of "$v" tar.gz "$gz" "${small[@]}")
  # one-small's layer is a variant of its own: with many-small's first layer it would be committed already, and the
  # formula would subtract an unpack that fetched and applied nothing.
  variant "$v-one" "${small[0]}"
  push "one-small-$v" $(args_of "$v-one" tar.gz "$gz" "${small[0]}")
  variant "$v-alone" base
  python3 "$here/lib/images.py" tag "$images/top-alone-$v.tar" "alone-$v"; pigz -6 -c "$images/top-alone-$v.tar" >"$images/top-alone-$v.tar.gz"
  push "batch-alone-$v" $(args_of "$v-alone" tar.gz "$gz" base) "$images/top-alone-$v.tar" "$images/top-alone-$v.tar.gz" "$gz"
  for ((b = 0; b < batch; b++)); do
    python3 "$here/lib/images.py" tag "$images/top$b-$v.tar" "$b-$v"; pigz -6 -c "$images/top$b-$v.tar" >"$images/top$b-$v.tar.gz"
    push "batch$b-$v" $(args_of "$v" tar.gz "$gz" base) "$images/top$b-$v.tar" "$images/top$b-$v.tar.gz" "$gz"
  done
}

field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(' '.join(v) if isinstance(v, list) else v)" "$images/$1.json" "$2"; }
bytes_of() { field "$1" uncompressed; }

# --- runners --------------------------------------------------------------------------------------
# timed LABEL COMMAND...: appends "seconds peak_rss_kb" to results/LABEL; the command's stdout goes to $work/out.
timed() {
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" "$work/out" >&2; die "$label failed"; }
  cat "$work/time" >>"$work/results/$label"
}

unpacker_pull() { # LABEL SNAPSHOTTER IMAGE
  timed "$1" "$cli" pull "$(field "$3" reference)" --snapshotter "$2" --timeout 1800
  head -1 "$work/out" | awk '{print $2}' | tr -d ':' >"$work/last-unpack"
}

containerd_peak=0
ctr_pull() { # LABEL SNAPSHOTTER IMAGE
  timed "$1" ctr --address "$socket" --namespace bench images pull --plain-http --snapshotter "$2" "$(field "$3" reference)"
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$UNPACKER_CONTAINERD_DIR/containerd.pid")/status")
  ((hwm > containerd_peak)) && containerd_peak=$hwm || true
}

# extract LABEL COMMAND LAYER...: runs "COMMAND BLOB DIR" for each layer in order, into a directory of its own.
extract() {
  local label=$1 command=$2; shift 2
  local dest="$work/dest/$label-$r"
  mkdir -p "$dest"
  timed "$label" sh -c 'c=$1 d=$2; shift 2; for b; do eval "$c"; done' sh "$command" "$dest" "$@"
}
layers_of() { local v=$1 ext=$2; shift 2; for l; do printf '%s ' "$images/$l-$v.$ext"; done; }

# From the last unpack's history: the Appliers' own time (Stat, Prepare, apply, Commit as each LayerCommitted
# reports it) for every layer but the first, in seconds; the time on the critical path between two layers
# that was not an Applier's (the commit of layer k recorded, minus the commit of layer k-1, minus layer k's own
# time), averaged over those layers, in milliseconds; and the unpack's own duration (UnpackStarted to
# UnpackSucceeded in its stream, without the CLI process around it), in seconds.
apply_seconds() {
  unpacker history "$(cat "$work/last-unpack")" --json | python3 -c '
import json, sys
from datetime import datetime
def seconds(span):
    h, m, s = span.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
commits = {}
marks = {}
for line in sys.stdin:
    if line.startswith("{"):
        e = json.loads(line)
        if e.get("event") == "LayerCommitted":
            commits[e["layerIndex"]] = (datetime.fromisoformat(e["timestamp"]), seconds(e["duration"]))
        if e.get("event") in ("UnpackStarted", "UnpackSucceeded"):
            marks[e["event"]] = datetime.fromisoformat(e["timestamp"])
work = sum(d for i, (_, d) in commits.items() if i > 0)
gaps = [((commits[i][0] - commits[i - 1][0]).total_seconds() - commits[i][1]) for i in sorted(commits) if i > 0 and i - 1 in commits]
unpack = (marks["UnpackSucceeded"] - marks["UnpackStarted"]).total_seconds()
print(f"{work:.3f} {1000 * sum(gaps) / max(len(gaps), 1):.1f} {unpack:.3f}")'
}

hwm() { local f="$UNPACKER_STATE_DIR/pids/$1-1.pid"; awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$(cat "$f")/status"; }

# --- warm-up --------------------------------------------------------------------------------------
# The side by side (BENCH_CASES=compare).
if has_case compare; then
  log "building and pushing the warm-up's images"
  images_for w
  log "warm-up (not recorded)"
  unpacker_pull warmup native one-small-w
  unpacker_pull warmup overlayfs large-gzip-w
  ctr_pull warmup native one-small-w

  # --- repetitions ----------------------------------------------------------------------------------
  for ((r = 1; r <= reps; r++)); do
    log "building and pushing repetition $r's images"
    images_for "$r"
    sync; sleep 5
    log "repetition $r/$reps"
    unpacker_pull unpacker-native native "large-gzip-$r"
    ctr_pull containerd-native native "large-gzip-$r"
    unpacker_pull unpacker-overlayfs overlayfs "large-gzip-$r"
    ctr_pull containerd-overlayfs overlayfs "large-gzip-$r"
    unpacker_pull unpacker-zstd native "large-zstd-$r"
    ctr_pull containerd-zstd native "large-zstd-$r"
    ((r > 1)) || applier_large_mb=$(hwm applier)

    extract pigz-tar 'pigz -dc "$b" | tar -x -C "$d"' $(layers_of "$r" tar.gz "${large_layers[@]}")
    extract tar-xzf 'tar -xzf "$b" -C "$d"' $(layers_of "$r" tar.gz "${large_layers[@]}")
    extract layer-apply "$cli layer apply \"\$b\" \"\$d\" >/dev/null" $(layers_of "$r" tar.gz "${large_layers[@]}")
    extract tar-zstd 'tar --zstd -xf "$b" -C "$d"' $(layers_of "$r-zstd" tar.zst "${large_layers[@]}")
    extract layer-apply-zstd "$cli layer apply \"\$b\" \"\$d\" >/dev/null" $(layers_of "$r-zstd" tar.zst "${large_layers[@]}")

    unpacker_pull unpacker-many-small native "many-small-$r"
    apply_seconds >>"$work/results/many-small-apply"
    unpacker_pull unpacker-one-small native "one-small-$r"
    apply_seconds >>"$work/results/one-small-apply"
    ctr_pull containerd-many-small native "many-small-$r"

    unpacker_pull unpacker-batch-one native "batch-alone-$r"
    timed unpacker-batch-concurrent sh -c 'for ref; do "$0" pull "$ref" --snapshotter native --timeout 1800 & done; wait' "$cli" \
      $(for ((b = 0; b < batch; b++)); do field "batch$b-$r" reference; done)
  done
fi

# --- shapes ---------------------------------------------------------------------------------------
# The image shapes users pull (BENCH_CASES=shapes, issue 21): a tiny two-layer image (bench/lib/images.py tiny: files,
# a symlink, a hard link, a device node, a whiteout; a few KB) pulled BENCH_TINY_PULLS times per snapshotter, a fresh
# variant each time, for its latency; and the deep chain (the $small_layers-small-layer image) BENCH_REPS times per
# snapshotter. Both with one Fetcher and one Applier, then again with two of each; containerd's pulls of the same
# shapes beside the first. The latency is read twice: `unpacker pull` as a whole process (its .NET start included),
# and the unpack's own, from the request's time (stamped as the CLI publishes it) to the outcome in its stream.
tiny_pulls=${BENCH_TINY_PULLS:-20}

# Services freshly started run their hot paths in ReadyToRun code until the runtime has recompiled them (tiered
# compilation): on this machine the first deep chains after a start took 3-8 s, against 1.4-2 s a few unpacks later,
# and a fleet's services, like containerd, are long running. So whenever service processes start (the 1+1 rows, the
# 2+2 rows, the parallel-extraction Saga's row) BENCH_DEEP_WARMUPS deep chains per snapshotter are pulled, not recorded.
deep_warmups=${BENCH_DEEP_WARMUPS:-3}
warm_deep() { # PHASE SNAPSHOTTER...
  local phase=$1 s i; shift
  for s; do for ((i = 1; i <= deep_warmups; i++)); do unpacker_pull warmup "$s" "deep-dw$phase-$s-$i"; done; done
}

# stream_seconds: the last unpack's "request_to_outcome started_to_outcome", in seconds, from its stream.
stream_seconds() {
  unpacker history "$(cat "$work/last-unpack")" --json | python3 -c '
import json, sys
from datetime import datetime
marks = {}
for line in sys.stdin:
    if line.startswith("{"):
        e = json.loads(line)
        if e["event"] == "UnpackStarted":
            marks["requested"] = datetime.fromisoformat(e["data"]["requestedAt"])
            marks["started"] = datetime.fromisoformat(e["timestamp"])
        if e["event"] == "UnpackSucceeded":
            marks["ended"] = datetime.fromisoformat(e["timestamp"])
requested = (marks["ended"] - marks["requested"]).total_seconds()
started = (marks["ended"] - marks["started"]).total_seconds()
print(f"{requested:.3f} {started:.3f}")'
}

if has_case shapes; then
  python3 "$here/lib/images.py" tiny "$images/tiny-base.tar" base
  python3 "$here/lib/images.py" tiny "$images/tiny-top.tar" top
  log "shapes: building and pushing $((4 * tiny_pulls + 1)) tiny images and $((5 * reps + 5 * deep_warmups)) deep chains"
  for v in w $(for w in 1 2; do for s in native overlayfs; do for ((i = 1; i <= tiny_pulls; i++)); do echo "t$w-$s-$i"; done; done; done); do
    variant "$v" tiny-base tiny-top
    push "tiny-$v" $(args_of "$v" tar.gz "$gz" tiny-base tiny-top)
  done
  for w in 1 2; do for s in native overlayfs; do for ((r = 1; r <= reps; r++)); do
    variant "d$w-$s-$r" "${small[@]}"
    push "deep-d$w-$s-$r" $(args_of "d$w-$s-$r" tar.gz "$gz" "${small[@]}")
  done; done; done
  for ((r = 1; r <= reps; r++)); do
    variant "dparallel-$r" "${small[@]}"
    push "deep-dparallel-$r" $(args_of "dparallel-$r" tar.gz "$gz" "${small[@]}")
  done
  for v in $(for p in 1-native 1-overlayfs 2-native 2-overlayfs parallel-overlayfs; do for ((i = 1; i <= deep_warmups; i++)); do echo "dw$p-$i"; done; done); do
    variant "$v" "${small[@]}"
    push "deep-$v" $(args_of "$v" tar.gz "$gz" "${small[@]}")
  done
  sync; sleep 5
  log "shapes: warm-up (not recorded)"
  unpacker_pull warmup native tiny-w
  unpacker_pull warmup overlayfs tiny-w
  ctr_pull warmup native tiny-w
  for w in 1 2; do
    if ((w == 2)); then
      log "shapes: a second Fetcher and a second Applier"
      "$repo/scripts/workers.sh" up fetcher=2 applier=2
    fi
    warm_deep "$w" native overlayfs
    for s in native overlayfs; do
      log "shapes: $w+$w workers, $s: $tiny_pulls tiny pulls, $reps deep chains"
      for ((i = 1; i <= tiny_pulls; i++)); do
        unpacker_pull "tiny-$w-$s" "$s" "tiny-t$w-$s-$i"
        stream_seconds >>"$work/results/tiny-$w-$s-stream"
        ((w > 1)) || ctr_pull "ctr-tiny-$s" "$s" "tiny-t$w-$s-$i"
      done
      for ((r = 1; r <= reps; r++)); do
        unpacker_pull "deep-$w-$s" "$s" "deep-d$w-$s-$r"
        ((w > 1)) || ctr_pull "ctr-deep-$s" "$s" "deep-d$w-$s-$r"
      done
    done
  done
  # The other cases run with one of each, as before.
  for f in "$UNPACKER_STATE_DIR"/pids/{fetcher,applier}-2.pid; do [[ ! -f "$f" ]] || stop_pid "$(basename "$f" .pid)" "$f" Unpacker TERM 30; done

  # The deep chain on overlayfs once more, 1+1, with a Saga that extracts every image's layers in parallel
  # (Saga:ParallelExtractionMinLayerSize 0; by default an image of layers under 4 MiB goes in apply runs, as in the
  # rows above); then the Saga as it was.
  log "shapes: 1+1 workers, overlayfs, parallel extraction of small layers: $reps deep chains"
  stop_pid saga-1 "$UNPACKER_STATE_DIR/pids/saga-1.pid" Unpacker TERM 30
  Saga__ParallelExtractionMinLayerSize=0 "$repo/scripts/workers.sh" up saga
  warm_deep parallel overlayfs
  for ((r = 1; r <= reps; r++)); do unpacker_pull deep-parallel-overlayfs overlayfs "deep-dparallel-$r"; done
  stop_pid saga-1 "$UNPACKER_STATE_DIR/pids/saga-1.pid" Unpacker TERM 30
  "$repo/scripts/workers.sh" up saga
fi

# --- fleet ----------------------------------------------------------------------------------------
# The fleet case (BENCH_CASES=fleet, issue 18). Appliers started as nodes fleet-1…fleet-N by scripts/workers.sh,
# each with its own root under the state dir; the Fetcher's root ($UNPACKER_ROOT) is none of theirs, so every layer
# is streamed from the Fetcher (GET /content/blobs/sha256/<hex>) into the apply. The Applier started without @node,
# node bench-local, shares the Fetcher's root: it reads a layer from the local content store, as a one-host setup does.
fleet_counts=(${BENCH_FLEET_NODES:-1 2 4})
fleet_snapshotter=${BENCH_FLEET_SNAPSHOTTER:-overlayfs}
local_node=$UNPACKER_NODE
fleet_max=2 # the streaming ratio uses fleet-1 and fleet-2
for n in "${fleet_counts[@]}"; do ((n > fleet_max)) && fleet_max=$n; done
fleet_nodes() { local n; for ((n = 1; n <= $1; n++)); do printf 'fleet-%s ' "$n"; done; }

# fleet_image NAME: the large image as a variant of its own (new digests and chain IDs), pushed as NAME.
fleet_image() {
  variant "$1" "${large_layers[@]}"
  push "$1" $(args_of "$1" tar.gz "$gz" "${large_layers[@]}")
}

# fleet_pull LABEL IMAGE NODE...: one `unpacker pull` onto the nodes (one unpack each), timed; a one-node pull's
# unpack id goes to $work/last-unpack.
fleet_pull() {
  local label=$1 image=$2; shift 2
  timed "$label" "$cli" pull "$(field "$image" reference)" --snapshotter "$fleet_snapshotter" --timeout 1800 $(printf -- '--node %s ' "$@")
  head -1 "$work/out" | awk '{print $2}' | tr -d ':' >"$work/last-unpack"
}

# fleet_fetched IMAGE: what the registry sent for the image over all its unpacks, as
#   "recorded_bytes downloads unpacks slowest_unpack_s log_layer_bytes log_all_bytes compressed_bytes":
# BlobFetchFinished.BytesTransferred summed over every unpack of the image (PostgreSQL, via `unpacker history`),
# the fetches that downloaded (not AlreadyPresent), the unpacks, the slowest unpack's recorded duration; then the
# registry's access log: bytes of the GETs of the image's layer blobs, and of everything of its repository
# (manifests and config included; n/a without the log); and the layer blobs' total size as pushed.
fleet_fetched() {
  local image=$1 reference
  reference=$(field "$image" reference)
  unpacker history "$reference" --json | python3 -c '
import json, sys
from datetime import datetime
total = downloads = 0
unpacks, marks = set(), {}
for line in sys.stdin:
    if line.startswith("{"):
        e = json.loads(line)
        unpacks.add(e["unpackId"])
        if e["event"] == "BlobFetchFinished":
            total += e["data"]["bytesTransferred"]
            downloads += not e["data"]["alreadyPresent"]
        if e["event"] in ("UnpackStarted", "UnpackSucceeded"):
            marks[(e["unpackId"], e["event"])] = datetime.fromisoformat(e["timestamp"])
slowest = max((marks[(u, "UnpackSucceeded")] - marks[(u, "UnpackStarted")]).total_seconds() for u in unpacks)
print(total, downloads, len(unpacks), f"{slowest:.3f}", end=" ")'
  if [[ -r "$registry_log" ]]; then
    awk -v repo="/v2/bench/$run_id/$image/" -v layers="$(field "$image" layers)" '
      BEGIN { n = split(layers, l, " "); for (i = 1; i <= n; i++) want[repo "blobs/" l[i]] = 1 }
      $6 == "\"GET" && index($7, repo) == 1 { all += $10; if ($7 in want) layer += $10 }
      END { printf "%d %d ", layer, all }' "$registry_log"
  else
    printf 'n/a n/a '
  fi
  field "$image" compressed
}

# commit_seconds: the last unpack's layers as the Appliers record them: LayerCommitted's duration (the committed check,
# Prepare, the apply from the blob with the diffID — and for a streamed blob its digest — and Commit) plus, where the
# layer was extracted apart and committed later (overlayfs rebase), LayerExtractedRecorded's (the apply itself),
# as "seconds_summed layers_applied bytes_downloaded": downloaded must be 0, or the apply would include a wait for the fetch.
commit_seconds() {
  unpacker history "$(cat "$work/last-unpack")" --json | python3 -c '
import json, sys
def seconds(span):
    h, m, s = span.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
work = applied = downloaded = 0
for line in sys.stdin:
    if line.startswith("{"):
        e = json.loads(line)
        if e["event"] == "LayerExtractedRecorded":
            work += seconds(e["duration"])
        if e["event"] == "LayerCommitted" and not e["data"]["alreadyPresent"]:
            work += seconds(e["duration"]); applied += 1
        if e["event"] == "BlobFetchFinished":
            downloaded += e["data"]["bytesTransferred"]
print(f"{work:.3f} {applied} {downloaded}")'
}

if has_case fleet; then
  log "fleet: starting $fleet_max Appliers as nodes fleet-1…fleet-$fleet_max, each with its own root"
  "$repo/scripts/workers.sh" up $(for n in $(fleet_nodes "$fleet_max"); do echo "applier@$n"; done)
  log "fleet: warm-up (not recorded): a small image onto $local_node and every fleet node"
  python3 "$here/lib/images.py" tar "$images/fw.tar" 2 usr/share/doc
  variant fleet-w fw
  push fleet-warm $(args_of fleet-w tar.gz "$gz" fw)
  fleet_pull fleet-warmup fleet-warm "$local_node" $(fleet_nodes "$fleet_max")

  for ((r = 1; r <= reps; r++)); do
    log "fleet: building and pushing repetition $r's images"
    for n in "${fleet_counts[@]}"; do fleet_image "fleet$n-$r"; done
    fleet_image "stream-$r"
    sync; sleep 5
    log "fleet: repetition $r/$reps"
    for n in "${fleet_counts[@]}"; do
      fleet_pull "fleet-$n" "fleet$n-$r" $(fleet_nodes "$n")
      fleet_fetched "fleet$n-$r" >>"$work/results/fleet-$n-fetched"
    done

    # Streaming against the local content store: the blobs are fetched first (an unpack onto fleet-1, not
    # recorded), so neither apply waits for a download; then the same image onto the node sharing the Fetcher's
    # root and onto fleet-2, one after the other, in turns first.
    fleet_pull stream-prime "stream-$r" fleet-1
    order=(local streamed); ((r % 2)) || order=(streamed local)
    for how in "${order[@]}"; do
      if [[ $how == local ]]; then fleet_pull stream-local "stream-$r" "$local_node"; else fleet_pull stream-streamed "stream-$r" fleet-2; fi
      commit_seconds >>"$work/results/stream-$how-apply"
    done
  done
fi

# --- pre-warm -------------------------------------------------------------------------------------
# The pre-warm case (BENCH_CASES=prewarm, issue 19). An Applier as node `prewarm` serving containerd's snapshots API on
# a socket; a containerd of its own (its own directory) with the proxy_plugins `unpacker containerd config` prints and
# its CRI plugin on, pulling onto unpacker-<snapshotter>. Per repetition, a fresh variant of the large image:
# Unpacker's pre-warm onto the node (not timed), then, timed: containerd's CRI pull (it should skip every layer), the
# image removed and collected (content included), `ctr content fetch` of the same image, removed again, and
# `ctr images pull` onto containerd's own snapshotter (no pre-warm). The skips are checked on containerd's side: every
# layer snapshot it records carries the label of the pre-warmed tree it was answered with.
prewarm_snapshotter=${BENCH_PREWARM_SNAPSHOTTER:-overlayfs}
prewarm_dir="$work/containerd-prewarm"
prewarm_ctr() { local ns=$1; shift; ctr --address "$prewarm_dir/containerd.sock" --namespace "$ns" "$@"; }

# prewarm_forget NS: removes every image of the namespace and runs containerd's collection (snapshots and content go).
prewarm_forget() {
  local names; names=$(prewarm_ctr "$1" images ls -q)
  [[ -z "$names" ]] || prewarm_ctr "$1" images rm --sync $names >/dev/null
  prewarm_ctr "$1" leases create --id "forget-$$" >/dev/null && prewarm_ctr "$1" leases delete --sync "forget-$$"
}

# prewarm_skipped: "skipped recorded" over the layer snapshots containerd's CRI namespace holds.
prewarm_skipped() {
  local key skipped=0 recorded=0
  for key in $(prewarm_ctr k8s.io snapshots --snapshotter "unpacker-$prewarm_snapshotter" ls | awk 'NR > 1 && $NF == "Committed" {print $1}'); do
    recorded=$((recorded + 1))
    prewarm_ctr k8s.io snapshots --snapshotter "unpacker-$prewarm_snapshotter" info "$key" | grep -q '"unpacker.io/prewarmed-from"' && skipped=$((skipped + 1))
  done
  echo "$skipped $recorded"
}

if has_case prewarm; then
  /usr/bin/python3 -c 'import grpc' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-grpcio >/dev/null; }
  log "pre-warm: an Applier as node prewarm serving containerd's snapshots API, and a containerd pointed at it"
  UNPACKER_CONTAINERD_SOCKET="$work/prewarm.sock" "$repo/scripts/workers.sh" up applier@prewarm
  unpacker containerd config --socket "$work/prewarm.sock" >"$work/prewarm-proxy.toml"
  UNPACKER_CONTAINERD_DIR="$prewarm_dir" UNPACKER_CONTAINERD_EXTRA_CONFIG="$work/prewarm-proxy.toml" \
    UNPACKER_CONTAINERD_CRI="unpacker-$prewarm_snapshotter" "$repo/scripts/containerd.sh" up >/dev/null
  for ((r = 0; r <= reps; r++)); do
    label=prewarm; ((r > 0)) || label=prewarm-warmup
    fleet_image "prewarm-$r"
    reference=$(field "prewarm-$r" reference)
    sync; sleep 2
    log "pre-warm: repetition $r/$reps (0: warm-up, not recorded)"
    "$cli" pull "$reference" --snapshotter "$prewarm_snapshotter" --node prewarm --timeout 1800 >"$work/out"
    timed "$label-pull" /usr/bin/python3 "$here/lib/cri_pull.py" "$prewarm_dir/containerd.sock" "$reference"
    prewarm_skipped >>"$work/results/prewarm-skipped"
    prewarm_forget k8s.io
    timed "$label-fetch" ctr --address "$prewarm_dir/containerd.sock" --namespace bench content fetch --plain-http "$reference"
    prewarm_forget bench
    timed "$label-own" ctr --address "$prewarm_dir/containerd.sock" --namespace bench images pull --plain-http --snapshotter "$prewarm_snapshotter" "$reference"
    prewarm_forget bench
  done
fi

# --- report ---------------------------------------------------------------------------------------
median() { awk -v c="${2:-1}" '{print $c}' "$work/results/$1" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
peak_kb() { awk '{print $2}' "$work/results/$1" | sort -n | tail -1; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / 1048576 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# The first line of a case's section: when, at which commit (and whether src or bench had uncommitted changes).
written_by() {
  printf 'Written by `bench/compare.sh` on %s at commit `%s`' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git -C "$repo" rev-parse --short HEAD)"
  git -C "$repo" diff --quiet HEAD -- src bench 2>/dev/null || printf ' (with uncommitted changes)'
}

# The machine a case ran on: CPU, cores, the work dir's file system, the load average at the start and the end.
machine_line() {
  printf '%s, %s cores; work dir on %s; load average %s at the start, %s at the end' \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" "$(stat -f -c %T "$work")" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# A case's section of the report (fleet, prewarm), between its markers: a run without the case keeps the one $out had.
section_block() { # OUT NAME: prints the section between the markers, markers included
  [[ -f "$1" ]] && awk -v n="$2" 'index($0, "<!-- " n ":begin") == 1 {on = 1} on {print} $0 == "<!-- " n ":end -->" {on = 0}' "$1" || true
}
section_splice() { # OUT NAME BLOCK_FILE: replaces the section in place, or appends it
  python3 - "$@" <<'PY'
import os, sys
out, name, block = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
text = open(out).read() if os.path.exists(out) else ""
begin, end = text.find(f"<!-- {name}:begin"), text.find(f"<!-- {name}:end -->")
if begin >= 0 and end > begin:
    text = text[:begin] + block + text[end + len(f"<!-- {name}:end -->\n"):]
else:
    text = text.rstrip("\n") + ("\n\n" if text else "") + block
open(out, "w").write(text)
PY
}

has_case shapes || section_block "$out" shapes >"$work/shapes.md"
has_case fleet || section_block "$out" fleet >"$work/fleet.md"
has_case prewarm || section_block "$out" prewarm >"$work/prewarm.md"

if has_case compare; then
  large_bytes=$(bytes_of large-gzip-1)
  entries=$(for l in "${large_layers[@]}"; do tar -tf "$images/$l.tar"; done | wc -l)
  symlinks=$(for l in "${large_layers[@]}"; do tar -tvf "$images/$l.tar"; done | grep -c '^l' || true)
  hardlinks=$(for l in "${large_layers[@]}"; do tar -tvf "$images/$l.tar"; done | grep -c '^h' || true)
  gz_mb=$(du -cm "$images"/l?-1.tar.gz | tail -1 | cut -f1)
  zst_mb=$(du -cm "$images"/l?-1-zstd.tar.zst | tail -1 | cut -f1)
  small_bytes=$(bytes_of many-small-1)

  un=$(median unpacker-native); cn=$(median containerd-native)
  uo=$(median unpacker-overlayfs); co=$(median containerd-overlayfs)
  uz=$(median unpacker-zstd); cz=$(median containerd-zstd)
  pt=$(median pigz-tar); tx=$(median tar-xzf); la=$(median layer-apply); tz=$(median tar-zstd); laz=$(median layer-apply-zstd)
  ums=$(median unpacker-many-small); uos=$(median unpacker-one-small); cms=$(median containerd-many-small)
  msa=$(median many-small-apply); gap_ms=$(median many-small-apply 2)
  overhead_ms=$(awk -v m="$ums" -v o="$uos" -v a="$msa" -v n="$small_layers" 'BEGIN {printf "%.0f", (m - o - a) / (n - 1) * 1000}')
  # The same formula on the unpacks' own recorded durations: no CLI process start in either term.
  msu=$(median many-small-apply 3); osu=$(median one-small-apply 3)
  recorded_ms=$(awk -v m="$msu" -v o="$osu" -v a="$msa" -v n="$small_layers" 'BEGIN {printf "%.1f", (m - o - a) / (n - 1) * 1000}')
  b1=$(median unpacker-batch-one); bc=$(median unpacker-batch-concurrent)

  mkdir -p "$(dirname "$out")"
  cat >"$out" <<REPORT
# Benchmarks: Unpacker side by side with containerd and GNU tar

Written by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Reproduce with:

\`\`\`sh
scripts/services.sh up          # PostgreSQL, RabbitMQ, the registry (and containerd's package)
BENCH_SIZE_MB=$size_mb BENCH_REPS=$reps bench/compare.sh     # writes this file
\`\`\`

**Noise.** The machine has $(nproc) cores (load average $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at
the end). Every figure is the median of $reps repetitions with the tools interleaved inside each repetition, after a
warm-up round. Each repetition unpacks images of its own into fresh directories and nothing is deleted until the
end: on this machine's ext4 (no journal) deleting a large tree makes every file creation in the next minutes several
times slower in the kernel, which made earlier runs vary by up to 3×.

## Machine and versions
- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; memory $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); kernel $(uname -r); file system of the work dir: $(stat -f -c %T "$work")
- .NET $(dotnet --version); $(containerd --version | cut -d' ' -f1,3); $(tar --version | head -1); pigz $(pigz --version 2>&1 | cut -d' ' -f2); zstd $(zstd --version | grep -o 'v[0-9.]*'); PostgreSQL 15, RabbitMQ 3.10, docker-registry on loopback
- Unpacker: Release, published ReadyToRun (as the Dockerfiles publish it); one Fetcher, one Applier, one Saga process (\`scripts/workers.sh\`)

## Images (built from this machine's files by \`bench/lib/images.py\`)
- **large**: three layers (/usr/lib/x86_64-linux-gnu, /usr/share, /usr/include + python + gcc), $((large_bytes / 1048576)) MB
  uncompressed, $entries entries ($symlinks symlinks, $hardlinks hardlinks); gzip -6 (pigz) $gz_mb MB, zstd -3 $zst_mb MB
- **many-small**: $small_layers layers, one /usr/share/doc package each, $((small_bytes / 1024)) KB in all; **one-small**: its first layer alone
- **batch**: $batch images sharing a $(($(bytes_of batch0-1) / 1048576)) MB base layer, each with a one-file top layer

## End to end: registry → committed snapshots (seconds, median)
| image | snapshotter | Unpacker \`unpacker pull\` | containerd \`ctr images pull\` | Unpacker / containerd (target ≤ 0.8) |
|---|---|---|---|---|
| large, gzip | native | $un | $cn | $(ratio "$un" "$cn") |
| large, gzip | overlayfs | $uo | $co | $(ratio "$uo" "$co") |
| large, zstd | native | $uz | $cz | $(ratio "$uz" "$cz") |
| many-small ($small_layers layers) | native | $ums | $cms | $(ratio "$ums" "$cms") |

\`unpacker pull\` includes the CLI's start (a .NET process connecting to RabbitMQ) and the unpack's round trips through
RabbitMQ and PostgreSQL; \`ctr\` talks to a running containerd over a unix socket.

## Layer apply alone: the large image's three layers, applied in order (median)
| command | seconds | MB/s | Unpacker's throughput relative to it |
|---|---|---|---|
| \`unpacker layer apply\` (gzip, diffID included) | $la | $(mbps "$large_bytes" "$la") | |
| \`tar -xzf\` | $tx | $(mbps "$large_bytes" "$tx") | **$(ratio "$tx" "$la")×** (target ≥ 1.2) |
| \`pigz -dc \\| tar -x\` (the practical limit) | $pt | $(mbps "$large_bytes" "$pt") | $(ratio "$pt" "$la")× |
| \`unpacker layer apply\` (zstd, diffID included) | $laz | $(mbps "$large_bytes" "$laz") | |
| \`tar --zstd -xf\` | $tz | $(mbps "$large_bytes" "$tz") | **$(ratio "$tz" "$laz")×** (target ≥ 1.0) |

Each \`unpacker layer apply\` is a separate .NET process (three starts per row); the script's sums include them.

Peak RSS of \`unpacker layer apply\`: $(($(peak_kb layer-apply) / 1024)) MB (gzip), $(($(peak_kb layer-apply-zstd) / 1024)) MB (zstd); GNU tar: $(($(peak_kb tar-xzf) / 1024)) MB.

## Orchestration, concurrency, memory
- **Orchestration overhead per layer: ${overhead_ms} ms** (target ≤ 5 ms): (many-small $ums s − one-small $uos s − the
  Appliers' own time for the other $((small_layers - 1)) layers, $msa s, as their \`LayerCommitted\` events report it:
  Stat, Prepare (the native snapshotter copies the parent), apply, Commit) / $((small_layers - 1)).
  The same formula on the unpacks' own durations as their Marten streams record them (\`UnpackStarted\` to
  \`UnpackSucceeded\`, no CLI process start in either term: many-small $msu s, one-small $osu s): **${recorded_ms} ms per layer**.
  Measured on the critical path instead: **${gap_ms} ms per layer** between one layer's commit and the next one's
  (the commits' recorded times apart, minus the next layer's own Applier time; median of the repetitions' means).
- **$batch concurrent unpacks sharing a base**: $batch \`unpacker pull\` at once took $bc s, one alone $b1 s
  ($(ratio "$bc" "$b1")× the time of one for $batch× the images; the shared base is fetched and extracted once).
- **Applier peak RSS while applying the large image's layers** (VmHWM after the first repetition's large unpacks):
  **$applier_large_mb MB** (target ≤ 256 MB; layers are streamed, so it does not grow with a layer's size).
- **Peak RSS over the whole run** (VmHWM, the ten concurrent unpacks included): Fetcher $(hwm fetcher) MB, Applier
  $(hwm applier) MB, Saga $(hwm saga) MB; containerd $((containerd_peak / 1024)) MB.
REPORT
  cat "$here/levers.md" >>"$out"
fi

if has_case fleet; then
  first="fleet${fleet_counts[0]}-1"
  fleet_rows=$(for n in "${fleet_counts[@]}"; do
    f="$work/results/fleet-$n-fetched"
    read -r recorded downloads unpacks _ log_layers log_all compressed <"$f"
    wall=$(median "fleet-$n"); one=$(median "fleet-${fleet_counts[0]}")
    equal=$(awk '$1 == $7' "$f" | wc -l); log_equal=$(awk '$5 == $7' "$f" | wc -l)
    verdict=NO; ((equal != reps)) || verdict=yes
    echo "| $n | $wall | $(ratio "$wall" "$one")× | $(median "fleet-$n-fetched" 4) | $recorded | $compressed | **$verdict** ($equal/$reps) | $log_layers ($log_equal/$reps equal; $log_all with manifests and config) | $downloads ($unpacks unpacks) |"
  done)
  la=$(median stream-local-apply); ls_=$(median stream-streamed-apply)
  per_rep=$(paste "$work/results/stream-local-apply" "$work/results/stream-streamed-apply" | awk '{printf "%s%.2f", (NR > 1 ? ", " : ""), $1 / $4}')
  waited=$(cat "$work/results/stream-local-apply" "$work/results/stream-streamed-apply" | awk '{s += $3} END {print s + 0}')
  node_blobs=$(find "$UNPACKER_STATE_DIR/nodes" -path '*/content/blobs/*' -type f | wc -l)
  fleet_hwm=$(for n in $(fleet_nodes "$fleet_max"); do hwm "applier@$n"; echo; done | sort -n | tail -1)
  fleet_knobs=""
  [[ "${fleet_counts[*]}" == "1 2 4" ]] || fleet_knobs+="BENCH_FLEET_NODES=\"${fleet_counts[*]}\" "
  [[ $fleet_snapshotter == overlayfs ]] || fleet_knobs+="BENCH_FLEET_SNAPSHOTTER=$fleet_snapshotter "
  cat >"$work/fleet.md" <<REPORT
<!-- fleet:begin — written by bench/compare.sh (the fleet case); a run with the fleet case replaces it -->
## Fleet: one image onto 1, 2 and 4 nodes, no shared disk (issue 18)

$(written_by). Reproduce with:

\`\`\`sh
scripts/services.sh up
BENCH_CASES=fleet BENCH_SIZE_MB=$size_mb BENCH_REPS=$reps ${fleet_knobs}bench/compare.sh     # writes this section
\`\`\`

- **Machine**: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); kernel $(uname -r); work dir on $(stat -f -c %T "$work"); load average $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end. Every node runs on this one machine: the nodes share its $(nproc) cores and its disk.
- **Set-up**: one Fetcher, one Saga, and an Applier per node started by \`scripts/workers.sh up applier@fleet-1 …\`, each
  with a storage root of its own under the state dir; the Fetcher's root is none of them, so every layer is streamed
  from the Fetcher's content server (HTTP on loopback) into the apply (\`RemoteBlobStream\`: decompress, diffID, tar
  apply and the blob's digest in one pass). Blobs stored on the nodes' disks at the end: **$node_blobs**. Snapshotter
  $fleet_snapshotter; Release, published ReadyToRun.
- **Image**: the large image (three layers, $(($(bytes_of "$first") / 1048576)) MB uncompressed, $(field "$first" compressed) bytes of gzip layers),
  a fresh variant (new digests and chain IDs) for every node count and repetition; median of $reps repetitions after a warm-up.

| nodes | wall time of \`unpacker pull --node …\` (s) | × 1 node | slowest unpack, recorded (s) | registry bytes fetched (\`BlobFetchFinished.BytesTransferred\`, all unpacks) | the image's compressed size (layer blobs) | equal | registry's access log: layer blob GETs | blob downloads (unpacks) |
|---|---|---|---|---|---|---|---|---|
$fleet_rows

Bytes and downloads are the first repetition's image (its size differs from the others' by a few bytes of marker
file); "equal" counts the repetitions where the recorded bytes equal that repetition's image size. The recorded
bytes are every unpack's \`BlobFetchFinished.BytesTransferred\` (read with \`unpacker history <ref> --json\`); the
access log is the registry's own count of the bytes it sent for the image's layer blobs. Manifests and the config
(a few hundred bytes) are read by each unpack's resolve and are not in \`BlobFetchFinished\`.

**Streaming into the apply against the local content store** (the same image, its blobs fetched beforehand by an
unpack onto fleet-1; then onto node $local_node, whose Applier shares the Fetcher's root and reads each layer from the
content store on disk, and onto fleet-2, which streams it from the Fetcher; in turns first):

| the Applier reads the layer | layer apply: the three layers' recorded Applier time summed (s, median) | \`unpacker pull\` wall (s, median) |
|---|---|---|
| from its local content store (node $local_node) | $la | $(median stream-local) |
| streamed over HTTP from the Fetcher (node fleet-2) | $ls_ | $(median stream-streamed) |

**Ratio = local apply time / streamed apply time = $(ratio "$la" "$ls_")** (per repetition: $per_rep). A ratio ≥ 1.0
means streaming is at least as fast as the apply from a local blob (the target); below 1.0 streaming is slower by
(1 / ratio − 1). The Applier's time per layer is \`LayerCommitted.Duration\` (the committed check, Prepare, the apply
with the diffID and, streamed, the blob's digest, Commit) plus \`LayerExtractedRecorded.Duration\` where overlayfs
extracted the layer apart (parallel extraction: the apply is there, the commit is a rename). Bytes downloaded during these unpacks: $waited (0: no apply
waited for a fetch).

Peak RSS (VmHWM over the run): Fetcher $(hwm fetcher) MB (it serves every stream), largest fleet Applier $fleet_hwm MB.
<!-- fleet:end -->
REPORT
fi
if has_case prewarm; then
  pp=$(median prewarm-pull); pf=$(median prewarm-fetch); po=$(median prewarm-own)
  skips=$(awk '{printf "%s%s/%s", (NR > 1 ? ", " : ""), $1, $2}' "$work/results/prewarm-skipped")
  cat >"$work/prewarm.md" <<REPORT
<!-- prewarm:begin — written by bench/compare.sh (the pre-warm case); a run with the pre-warm case replaces it -->
## containerd pulls an image Unpacker pre-warmed (issue 19)

$(written_by). Reproduce with:

\`\`\`sh
scripts/services.sh up
BENCH_CASES=prewarm BENCH_SIZE_MB=$size_mb BENCH_REPS=$reps bench/compare.sh     # writes this section
\`\`\`

- **Machine**: $(machine_line).
- **Set-up**: $(containerd --version | cut -d' ' -f1,3) with the proxy plugins \`unpacker containerd config\` prints and its
  CRI plugin pulling onto \`unpacker-$prewarm_snapshotter\`; the node's Applier (\`scripts/workers.sh up applier@prewarm\`,
  Release, ReadyToRun) serves the socket. Each repetition: a fresh variant of the large image (three gzip layers,
  $(($(bytes_of prewarm-1) / 1048576)) MB uncompressed, $(field prewarm-1 compressed) bytes compressed), \`unpacker pull --node prewarm\` first (not timed),
  then the three containerd runs below, the image and its content removed and collected between them. Median of
  $reps repetitions after a warm-up.

| containerd's run, same image, same registry | seconds (median) | × \`ctr content fetch\` |
|---|---|---|
| pull after Unpacker's pre-warm (CRI, through \`unpacker-$prewarm_snapshotter\`) | $pp | **$(ratio "$pp" "$pf")×** (target ≤ 1.2) |
| \`ctr content fetch\` (content only: what any pull must download) | $pf | 1.00× |
| \`ctr images pull --snapshotter $prewarm_snapshotter\` onto its own snapshotter, no pre-warm | $po | $(ratio "$po" "$pf")× |

Layers containerd skipped (its layer snapshots labelled \`unpacker.io/prewarmed-from\`, per repetition, the warm-up
first): $skips. The CRI pull is a python process (\`bench/lib/cri_pull.py\`, grpcio) where \`ctr\` is a Go one; both
start in well under a tenth of a second. Below 1.0× is expected: containerd's remote-snapshot unpacker downloads a
layer's blob only when it has to extract that layer, so after a whole pre-warm the pull reads the manifest and the
config and nothing else (the layers are never in containerd's content store; \`ctr content fetch\` downloads them all).
<!-- prewarm:end -->
REPORT
fi
if has_case shapes; then
  quantile() { awk -v c="${3:-1}" '{print $c}' "$work/results/$1" | sort -n | awk -v q="$2" '{a[NR]=$1} END {i = int(q * NR + 0.999999); if (i < 1) i = 1; print a[i]}'; }
  tiny_kb=$(( $(bytes_of tiny-t1-native-1) / 1024 )); deep_kb=$(( $(bytes_of deep-d1-native-1) / 1024 ))
  verdict() { awk -v a="$1" -v t="$2" 'BEGIN {print (a <= t) ? "**met**" : "not met"}'; }
  shape_rows=$(for s in native overlayfs; do for w in 1 2; do
    pull=$(median "tiny-$w-$s"); p90=$(quantile "tiny-$w-$s" 0.9); req=$(median "tiny-$w-$s-stream" 1); st=$(median "tiny-$w-$s-stream" 2); ctr=$(median "ctr-tiny-$s")
    echo "| tiny | $s | $w+$w | $pull (p90 $p90) | $req | $st | $ctr | $(ratio "$pull" "$ctr")× | request → outcome ≤ 0.4: $(verdict "$req" 0.4); pull ≤ 1.0: $(verdict "$pull" 1.0) |"
  done; done
  for s in native overlayfs; do for w in 1 2; do
    pull=$(median "deep-$w-$s"); ctr=$(median "ctr-deep-$s"); r_=$(ratio "$pull" "$ctr")
    echo "| deep ($small_layers layers) | $s | $w+$w | $pull | | | $ctr | $r_× | ≤ 0.8× containerd: $(verdict "$r_" 0.8) |"
  done; done
  pull=$(median deep-parallel-overlayfs); ctr=$(median ctr-deep-overlayfs); r_=$(ratio "$pull" "$ctr")
  echo "| deep ($small_layers layers), extracted in parallel (\`Saga:ParallelExtractionMinLayerSize\` 0) | overlayfs | 1+1 | $pull | | | $ctr | $r_× | ≤ 0.8× containerd: $(verdict "$r_" 0.8) |")
  cat >"$work/shapes.md" <<REPORT
<!-- shapes:begin — written by bench/compare.sh (the shapes case); a run with the shapes case replaces it -->
## Image shapes: a tiny image's latency and a deep chain, both snapshotters, 1+1 and 2+2 workers (issue 21)

$(written_by). Reproduce with:

\`\`\`sh
scripts/services.sh up
BENCH_CASES=shapes BENCH_REPS=$reps BENCH_TINY_PULLS=$tiny_pulls BENCH_DEEP_WARMUPS=$deep_warmups bench/compare.sh     # writes this section
\`\`\`

- **Machine**: $(machine_line).
- **Images**: **tiny**, two gzip layers of $tiny_kb KB in all (\`bench/lib/images.py tiny\`: files, a directory, a symlink,
  a hard link, a character device; the top layer rewrites a file, adds one and whites one out), a fresh variant (new
  digests and chain IDs) for each of $tiny_pulls pulls per row; **deep**, the $small_layers-layer image of small
  trees (one /usr/share/doc package per layer, $deep_kb KB), a fresh variant for each of $reps pulls per row.
- **Set-up**: one Saga; one Fetcher and one Applier (1+1), then a second of each (2+2), started by
  \`scripts/workers.sh\` (Release, published ReadyToRun; the CLI self-contained and composite, as its Dockerfile publishes it). containerd: $(containerd --version | cut -d' ' -f1,3), \`ctr images pull\` onto its own snapshotter of the same name,
  the same images from the same registry (its figures do not depend on our workers, so they are taken once).
- **Warm-up** (not recorded): a tiny pull per snapshotter, and $deep_warmups deep chains per snapshotter whenever
  service processes start (the 1+1 rows, the 2+2 rows, the parallel-extraction Saga's row): a service
  runs ReadyToRun code until tiered compilation has recompiled its hot paths, and the first deep chains after a
  start took 3-8 s against 1.4-2 s later; a fleet's services, like containerd, are long running.
- **Columns**: \`unpacker pull\` is the whole CLI process (start, publish, wait for the outcome); request → outcome
  is the unpack alone, from the request's time (stamped by the CLI as it publishes) to \`UnpackSucceeded\` in its
  stream; started → outcome leaves out the request's way to the saga. Medians (p50).

| shape | snapshotter | workers | \`unpacker pull\` (s) | request → outcome (s) | started → outcome (s) | containerd \`ctr images pull\` (s) | Unpacker / containerd | target |
|---|---|---|---|---|---|---|---|---|
$shape_rows
<!-- shapes:end -->
REPORT
fi
for section in shapes fleet prewarm; do
  [[ ! -s "$work/$section.md" ]] || section_splice "$out" "$section" "$work/$section.md"
done
log "wrote $out"
cat "$out"
