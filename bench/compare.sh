#!/usr/bin/env bash
# Unpacker side by side with containerd 1.6 and GNU tar, in one run on this machine, written to docs/benchmarks.md.
#
# Builds images offline from this machine's own files (bench/lib/images.py): a three-layer image of real trees
# (/usr/lib, /usr/share, /usr/include…; symlinks and hardlinks included) as gzip and as zstd, a 30-small-layer
# image, and a batch of images sharing a base; pushes them to the local registry. Then, with a warm-up round and
# BENCH_REPS interleaved repetitions, times:
#   - Unpacker end to end (`unpacker pull`: registry → Fetcher → Applier → commit, through RabbitMQ and PostgreSQL)
#     with the native and the overlayfs snapshotter (Release build, services started by scripts/workers.sh);
#   - containerd `ctr images pull` with the same snapshotters (scripts/containerd.sh; content and snapshots wiped
#     between repetitions);
#   - `pigz -dc | tar -x` per layer (the practical limit), and `unpacker layer apply` per layer against `tar -xzf`;
#   - the orchestration overhead per layer (the 30-layer image minus a 1-layer image minus the layers' own apply
#     time as the Appliers report it), ten concurrent unpacks sharing a base against one, and each service's peak RSS.
# Everything runs isolated: its own state dir, storage root, PostgreSQL schema, RabbitMQ vhost and containerd.
#
#   bench/compare.sh                                  # defaults: ~300 MB image, 3 repetitions, about 10 minutes
#   BENCH_SIZE_MB=2000 BENCH_REPS=5 bench/compare.sh  # bigger; BENCH_SMALL_LAYERS, BENCH_BATCH, BENCH_WORK, BENCH_OUT
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
size_mb=${BENCH_SIZE_MB:-300}
reps=${BENCH_REPS:-3}
small_layers=${BENCH_SMALL_LAYERS:-30}
batch=${BENCH_BATCH:-10}
work=${BENCH_WORK:-/var/tmp/unpacker-bench}
out=${BENCH_OUT:-$repo/docs/benchmarks.md}
run_id=$(date +%Y%m%d%H%M%S)$$

rm -rf "$work"
mkdir -p "$work"/{images,results,dest}
export UNPACKER_STATE_DIR="$work/state" UNPACKER_ROOT="$work/root" UNPACKER_CONTAINERD_DIR="$work/containerd"
export UNPACKER_POSTGRES_SCHEMA="bench_$run_id" UNPACKER_RABBITMQ_VHOST="bench-$run_id" UNPACKER_CONFIGURATION=Release
source "$repo/scripts/lib/env.sh"
registry="$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT"
management="http://$UNPACKER_RABBITMQ_HOST:$UNPACKER_RABBITMQ_MANAGEMENT_PORT/api"
rabbit_auth="$UNPACKER_RABBITMQ_USER:$UNPACKER_RABBITMQ_PASSWORD"
cli="$repo/src/Cli/bin/Release/net10.0/unpacker.dll"
unpacker() { dotnet "$cli" "$@"; }

cleanup() {
  set +e
  "$repo/scripts/workers.sh" down >/dev/null 2>&1
  "$repo/scripts/containerd.sh" down >/dev/null 2>&1
  curl -fsS -u "$rabbit_auth" -X DELETE "$management/vhosts/$UNPACKER_RABBITMQ_VHOST" >/dev/null 2>&1
  PGPASSWORD="$UNPACKER_POSTGRES_PASSWORD" psql -q -h "$UNPACKER_POSTGRES_HOST" -p "$UNPACKER_POSTGRES_PORT" -U "$UNPACKER_POSTGRES_USER" \
    -d "$UNPACKER_POSTGRES_DB" -c "drop schema if exists $UNPACKER_POSTGRES_SCHEMA cascade" >/dev/null 2>&1
  [[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'log "bench/compare.sh failed at line $LINENO: $BASH_COMMAND"' ERR

for tool in pigz zstd psql ctr; do command -v "$tool" >/dev/null || die "$tool is missing: run scripts/services.sh up"; done
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# --- build and start ------------------------------------------------------------------------------
log "building Release (CLI and the three services)"
for project in Cli Fetcher Applier Saga; do
  dotnet build -c Release "$repo/src/$project/Unpacker.$project.csproj" -v quiet -nologo >/dev/null
done
curl -fsS -u "$rabbit_auth" -X PUT "$management/vhosts/$UNPACKER_RABBITMQ_VHOST" >/dev/null
curl -fsS -u "$rabbit_auth" -X PUT -H 'content-type: application/json' -d '{"configure":".*","write":".*","read":".*"}' \
  "$management/permissions/$UNPACKER_RABBITMQ_VHOST/$UNPACKER_RABBITMQ_USER" >/dev/null
"$repo/scripts/workers.sh" up fetcher applier saga
socket=$("$repo/scripts/containerd.sh" up)
ctr_() { ctr --address "$socket" --namespace bench "$@"; }

# --- images ---------------------------------------------------------------------------------------
images="$work/images"
third=$((size_mb / 3))
log "building a ${size_mb} MB three-layer image from this machine's files"
python3 "$here/lib/images.py" tar "$images/l1.tar" "$third" usr/lib/x86_64-linux-gnu/dri usr/lib/x86_64-linux-gnu
python3 "$here/lib/images.py" tar "$images/l2.tar" "$third" usr/share
python3 "$here/lib/images.py" tar "$images/l3.tar" "$third" usr/include usr/lib/python3.11 usr/lib/gcc usr/lib/dotnet
large_layers=(l1 l2 l3)
for l in "${large_layers[@]}"; do
  pigz -6 -c "$images/$l.tar" >"$images/$l.tar.gz"
  zstd -q -3 -T0 -c "$images/$l.tar" >"$images/$l.tar.zst"
done
gz=application/vnd.oci.image.layer.v1.tar+gzip
zst=application/vnd.oci.image.layer.v1.tar+zstd
push() { local name=$1; shift; python3 "$here/lib/images.py" push "$registry" "bench/$name:$run_id" "$images/$name.json" "$@"; }
push large-gzip $(for l in "${large_layers[@]}"; do echo "$images/$l.tar $images/$l.tar.gz $gz"; done)
push large-zstd $(for l in "${large_layers[@]}"; do echo "$images/$l.tar $images/$l.tar.zst $zst"; done)

log "building a ${small_layers}-layer image of small trees, a 1-layer image, and ${batch} images sharing a base"
small_args=()
i=0
for doc in $(ls /usr/share/doc | head -"$small_layers"); do
  python3 "$here/lib/images.py" tar "$images/s$i.tar" 1 "usr/share/doc/$doc"
  pigz -6 -c "$images/s$i.tar" >"$images/s$i.tar.gz"
  small_args+=("$images/s$i.tar" "$images/s$i.tar.gz" "$gz")
  i=$((i + 1))
done
push many-small "${small_args[@]}"
push one-small "${small_args[@]:0:3}"
python3 "$here/lib/images.py" tar "$images/base.tar" $((third < 60 ? third : 60)) usr/lib/python3.11 usr/include
pigz -6 -c "$images/base.tar" >"$images/base.tar.gz"
for ((b = 0; b < batch; b++)); do
  python3 "$here/lib/images.py" tag "$images/top$b.tar" "$b"
  pigz -6 -c "$images/top$b.tar" >"$images/top$b.tar.gz"
  push "batch$b" "$images/base.tar" "$images/base.tar.gz" "$gz" "$images/top$b.tar" "$images/top$b.tar.gz" "$gz"
done

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

# Removes what an unpack made, so the next repetition fetches and applies everything again: children before
# parents (a shared base once, after every child), then the blobs.
unpacker_clean() {
  local snapshotter=$1; shift
  local image k ids tops=() bases=() blobs=()
  for image; do
    read -ra ids <<<"$(field "$image" chain_ids)"
    for ((k = ${#ids[@]} - 1; k >= 1; k--)); do tops+=("${ids[k]}"); done
    bases+=("${ids[0]}")
    read -ra ids <<<"$(field "$image" layers)"
    blobs+=("${ids[@]}" "$(field "$image" config)" "$(field "$image" manifest)")
  done
  local unique_tops unique_bases
  unique_tops=$(printf '%s\n' "${tops[@]}" | awk 'NF && !seen[$0]++')
  unique_bases=$(printf '%s\n' "${bases[@]}" | awk '!seen[$0]++')
  if [[ -n "$unique_tops" ]]; then unpacker snapshots rm "$snapshotter" $unique_tops >>"$work/clean.log" 2>&1 || true; fi
  unpacker snapshots rm "$snapshotter" $unique_bases >>"$work/clean.log" 2>&1 || true
  unpacker content rm $(printf '%s\n' "${blobs[@]}" | sort -u) >>"$work/clean.log" 2>&1 || true
}

unpacker_pull() { # LABEL SNAPSHOTTER IMAGE
  timed "$1" dotnet "$cli" pull "$(field "$3" reference)" --snapshotter "$2" --timeout 1800
  head -1 "$work/out" | awk '{print $2}' | tr -d ':' >"$work/last-unpack"
}

containerd_peak=0
ctr_pull() { # LABEL SNAPSHOTTER IMAGE
  socket=$("$repo/scripts/containerd.sh" wipe 2>/dev/null)
  timed "$1" ctr --address "$socket" --namespace bench images pull --plain-http --snapshotter "$2" "$(field "$3" reference)"
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$UNPACKER_CONTAINERD_DIR/containerd.pid")/status")
  ((hwm > containerd_peak)) && containerd_peak=$hwm || true
}

layers_of() { for l in "$@"; do printf '%s ' "$images/$l"; done; }

# The Appliers' own time (Stat, Prepare, apply, Commit, as the LayerCommitted events report it) for every layer but
# the first of the last unpack, in seconds: the layer work that the orchestration overhead is measured against.
apply_seconds() {
  unpacker history "$(cat "$work/last-unpack")" --json | python3 -c '
import json, sys
total = 0.0
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    event = json.loads(line)
    data = event.get("data") or {}
    if event.get("type", "").replace("_", "").lower() == "layercommitted" and data.get("layerIndex", 0) > 0:
        h, m, s = data["duration"].split(":")
        total += int(h) * 3600 + int(m) * 60 + float(s)
print(f"{total:.3f}")'
}

# --- warm-up --------------------------------------------------------------------------------------
log "warm-up (not recorded)"
unpacker_pull warmup native one-small; unpacker_clean native one-small
unpacker_pull warmup overlayfs one-small; unpacker_clean overlayfs one-small
ctr_pull warmup native one-small

# --- repetitions ----------------------------------------------------------------------------------
for ((r = 1; r <= reps; r++)); do
  log "repetition $r/$reps"
  for sn in native overlayfs; do
    unpacker_pull "unpacker-$sn" "$sn" large-gzip; unpacker_clean "$sn" large-gzip
    ctr_pull "containerd-$sn" "$sn" large-gzip
  done
  unpacker_pull unpacker-zstd native large-zstd; unpacker_clean native large-zstd
  ctr_pull containerd-zstd native large-zstd

  rm -rf "$work/dest"; mkdir "$work/dest"
  timed pigz-tar sh -c 'for b; do pigz -dc "$b" | tar -x -C "$0"; done' "$work/dest" $(layers_of l1.tar.gz l2.tar.gz l3.tar.gz)
  rm -rf "$work/dest"; mkdir "$work/dest"
  timed tar-xzf sh -c 'for b; do tar -xzf "$b" -C "$0"; done' "$work/dest" $(layers_of l1.tar.gz l2.tar.gz l3.tar.gz)
  rm -rf "$work/dest"; mkdir "$work/dest"
  timed layer-apply sh -c 'for b; do dotnet "$0" layer apply "$b" "$1" >/dev/null; done' "$cli" "$work/dest" $(layers_of l1.tar.gz l2.tar.gz l3.tar.gz)
  rm -rf "$work/dest"; mkdir "$work/dest"
  timed tar-zstd sh -c 'for b; do tar --zstd -xf "$b" -C "$0"; done' "$work/dest" $(layers_of l1.tar.zst l2.tar.zst l3.tar.zst)
  rm -rf "$work/dest"; mkdir "$work/dest"
  timed layer-apply-zstd sh -c 'for b; do dotnet "$0" layer apply "$b" "$1" >/dev/null; done' "$cli" "$work/dest" $(layers_of l1.tar.zst l2.tar.zst l3.tar.zst)
  rm -rf "$work/dest"; mkdir "$work/dest"

  unpacker_pull unpacker-many-small native many-small
  apply_seconds >>"$work/results/many-small-apply"
  unpacker_clean native many-small
  unpacker_pull unpacker-one-small native one-small; unpacker_clean native one-small
  ctr_pull containerd-many-small native many-small

  unpacker_pull unpacker-batch-one native batch0; unpacker_clean native batch0
  batch_images=(); for ((b = 0; b < batch; b++)); do batch_images+=("batch$b"); done
  timed unpacker-batch-concurrent sh -c 'for ref; do dotnet "$0" pull "$ref" --snapshotter native --timeout 1800 & done; wait' "$cli" \
    $(for i in "${batch_images[@]}"; do field "$i" reference; done)
  unpacker_clean native "${batch_images[@]}"
done

# --- report ---------------------------------------------------------------------------------------
median() { awk '{print $1}' "$work/results/$1" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
peak_kb() { awk '{print $2}' "$work/results/$1" | sort -n | tail -1; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / 1048576 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
hwm() { local f="$UNPACKER_STATE_DIR/pids/$1-1.pid"; awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$(cat "$f")/status"; }

large_bytes=$(bytes_of large-gzip)
entries=$(for l in "${large_layers[@]}"; do tar -tf "$images/$l.tar"; done | wc -l)
symlinks=$(for l in "${large_layers[@]}"; do tar -tvf "$images/$l.tar"; done | grep -c '^l' || true)
hardlinks=$(for l in "${large_layers[@]}"; do tar -tvf "$images/$l.tar"; done | grep -c '^h' || true)
gz_mb=$(du -cm "$images"/l?.tar.gz | tail -1 | cut -f1)
zst_mb=$(du -cm "$images"/l?.tar.zst | tail -1 | cut -f1)
small_bytes=$(bytes_of many-small)

un=$(median unpacker-native); cn=$(median containerd-native)
uo=$(median unpacker-overlayfs); co=$(median containerd-overlayfs)
uz=$(median unpacker-zstd); cz=$(median containerd-zstd)
pt=$(median pigz-tar); tx=$(median tar-xzf); la=$(median layer-apply); tz=$(median tar-zstd); laz=$(median layer-apply-zstd)
ums=$(median unpacker-many-small); uos=$(median unpacker-one-small); cms=$(median containerd-many-small)
msa=$(median many-small-apply)
overhead_ms=$(awk -v m="$ums" -v o="$uos" -v a="$msa" -v n="$small_layers" 'BEGIN {printf "%.0f", (m - o - a) / (n - 1) * 1000}')
b1=$(median unpacker-batch-one); bc=$(median unpacker-batch-concurrent)

mkdir -p "$(dirname "$out")"
cat >"$out" <<REPORT
# Benchmarks: Unpacker side by side with containerd and GNU tar

Written by \`bench/compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Reproduce with:

\`\`\`sh
scripts/services.sh up          # PostgreSQL, RabbitMQ, the registry (and containerd's package)
BENCH_SIZE_MB=$size_mb BENCH_REPS=$reps bench/compare.sh     # writes this file
\`\`\`

**Noise.** The machine has $(nproc) cores and was shared with four other agents building and running tests while
this ran (load average $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end). Every figure is the
median of $reps repetitions with the tools interleaved inside each repetition, after a warm-up round; ratios taken
within one run are more trustworthy than absolute times.

## Machine and versions
- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; memory $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); kernel $(uname -r); file system of the work dir: $(stat -f -c %T "$work")
- .NET $(dotnet --version); $(containerd --version | cut -d' ' -f1,3); $(tar --version | head -1); pigz $(pigz --version 2>&1 | cut -d' ' -f2); zstd $(zstd --version | grep -o 'v[0-9.]*'); PostgreSQL 15, RabbitMQ 3.10, docker-registry on loopback
- Unpacker: Release build, one Fetcher, one Applier, one Saga process (\`scripts/workers.sh\`)

## Images (built from this machine's files by \`bench/lib/images.py\`)
- **large**: three layers (/usr/lib/x86_64-linux-gnu, /usr/share, /usr/include + python + gcc), $((large_bytes / 1048576)) MB
  uncompressed, $entries entries ($symlinks symlinks, $hardlinks hardlinks); gzip -6 (pigz) $gz_mb MB, zstd -3 $zst_mb MB
- **many-small**: $small_layers layers, one /usr/share/doc package each, $((small_bytes / 1024)) KB in all; **one-small**: its first layer alone
- **batch**: $batch images sharing a $(($(bytes_of batch0) / 1048576)) MB base layer, each with a one-file top layer

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
  Stat, Prepare (the native snapshotter copies the parent), apply, Commit) / $((small_layers - 1)). What is left is
  messaging and the saga: saga → Fetcher → saga → Applier → saga through RabbitMQ, each step a PostgreSQL transaction.
- **$batch concurrent unpacks sharing a base**: $batch \`unpacker pull\` at once took $bc s, one alone $b1 s
  ($(ratio "$bc" "$b1")× the time of one for $batch× the images; the shared base is fetched and extracted once).
- **Peak RSS over the whole run** (VmHWM): Fetcher $(hwm fetcher) MB, Applier $(hwm applier) MB, Saga $(hwm saga) MB;
  containerd $((containerd_peak / 1024)) MB (target: Applier ≤ 256 MB while applying the largest layer).
REPORT
cat "$here/levers.md" >>"$out"
log "wrote $out"
cat "$out"
