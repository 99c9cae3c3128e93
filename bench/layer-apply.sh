#!/usr/bin/env bash
# Times `unpacker layer apply` against GNU tar on a >= 300 MB layer built from this machine's own files,
# in one run on the same machine: gzip (vs tar -xzf and pigz -dc | tar -x) and zstd (vs tar --zstd -xf).
# Prints MB/s (uncompressed bytes per second), ratios, and peak RSS for a large and a small layer.
#
#   bench/layer-apply.sh                       # defaults
#   BENCH_SOURCES="/usr/lib /usr/share" BENCH_RUNS=5 bench/layer-apply.sh
#   BENCH_KEEP=1 keeps the work dir (its trees are large: deleting them slows file creation for minutes, see bench/levers.md)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${BENCH_RUNS:-3}
sources=${BENCH_SOURCES:-"/usr/lib/python3.11 /usr/include /usr/lib/gcc"}
work=${BENCH_WORK:-$(mktemp -d /tmp/unpacker-bench.XXXXXX)}
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need pigz pigz
need zstd zstd
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

# Published ReadyToRun, as the Dockerfiles ship it: each run is a new process, and JIT would otherwise add ~0.2 s.
echo "publishing unpacker (Release, self-contained composite ReadyToRun, as its Dockerfile does)..." >&2
dotnet publish -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true "$repo/src/Cli/Unpacker.Cli.csproj" -o "$work/cli" -v quiet -nologo >/dev/null
unpacker="$work/cli/unpacker"

echo "making layers from: $sources" >&2
rel=$(for s in $sources; do printf '%s ' "${s#/}"; done)
# shellcheck disable=SC2086
tar --format=posix -C / -cf "$work/layer.tar" $rel 2>/dev/null || true
first=$(echo "$rel" | awk '{print $1}')
tar --format=posix -C / -cf "$work/small.tar" "$first" 2>/dev/null || true
bytes=$(stat -c %s "$work/layer.tar")
small_bytes=$(stat -c %s "$work/small.tar")
if [ "$bytes" -lt $((300 * 1024 * 1024)) ]; then
  echo "layer is only $((bytes / 1048576)) MB; set BENCH_SOURCES to bigger trees (>= 300 MB)" >&2
  exit 1
fi
pigz -6 -c "$work/layer.tar" >"$work/layer.tar.gz"
pigz -6 -c "$work/small.tar" >"$work/small.tar.gz"
zstd -q -3 -T0 -c "$work/layer.tar" >"$work/layer.tar.zst"
entries=$(tar -tf "$work/layer.tar" | wc -l)
expected=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
rm -f "$work/layer.tar" "$work/small.tar"

# run LABEL COMMAND...: one timed run into a fresh $work/dest; appends "seconds rss_kb" to $work/LABEL.
# The previous runs' trees are moved aside, not deleted, until the end: on ext4 without a journal, file creation
# is several times slower for minutes after a large delete (bench/levers.md), which would time the file system.
n=0
run() {
  local label=$1
  shift
  if [ -d "$work/dest" ]; then n=$((n + 1)); mv "$work/dest" "$work/done-$n"; fi
  mkdir "$work/dest"
  sync
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  cat "$work/time" >>"$work/$label"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
peak() { awk '{print $2}' "$work/$1" | sort -n | tail -1; }
seconds() { awk '{print $1}' "$work/$1" | median; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN {printf "%.1f", b / 1048576 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'; }

for r in $(seq 1 "$runs"); do
  echo "run $r/$runs..." >&2
  run unpacker_gzip "$unpacker" layer apply "$work/layer.tar.gz" "$work/dest"
  [ "$(tail -1 "$work/out")" = "sha256:$expected" ] || { echo "diffID mismatch: $(tail -1 "$work/out") != sha256:$expected" >&2; exit 1; }
  run tar_gzip tar -xzf "$work/layer.tar.gz" -C "$work/dest"
  run pigz_tar sh -c "pigz -dc '$work/layer.tar.gz' | tar -x -C '$work/dest'"
  run unpacker_zstd "$unpacker" layer apply "$work/layer.tar.zst" "$work/dest"
  run tar_zstd tar --zstd -xf "$work/layer.tar.zst" -C "$work/dest"
  run unpacker_small "$unpacker" layer apply "$work/small.tar.gz" "$work/dest"
done

ug=$(seconds unpacker_gzip); tg=$(seconds tar_gzip); pg=$(seconds pigz_tar)
uz=$(seconds unpacker_zstd); tz=$(seconds tar_zstd)
cat <<REPORT
Layer: $((bytes / 1048576)) MB uncompressed, $entries entries, from: $sources
gzip -6 blob: $(($(stat -c %s "$work/layer.tar.gz") / 1048576)) MB; zstd -3 blob: $(($(stat -c %s "$work/layer.tar.zst") / 1048576)) MB
Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); median of $runs runs, MB/s of uncompressed bytes

| command | seconds | MB/s | peak RSS (KB) |
|---|---|---|---|
| unpacker layer apply (gzip, incl. diffID) | $ug | $(mbps "$ug") | $(peak unpacker_gzip) |
| tar -xzf | $tg | $(mbps "$tg") | $(peak tar_gzip) |
| pigz -dc \| tar -x | $pg | $(mbps "$pg") | $(peak pigz_tar) |
| unpacker layer apply (zstd, incl. diffID) | $uz | $(mbps "$uz") | $(peak unpacker_zstd) |
| tar --zstd -xf | $tz | $(mbps "$tz") | $(peak tar_zstd) |

Ratios (throughput, higher is better for unpacker):
- unpacker / tar -xzf: $(ratio "$ug" "$tg")x (target >= 1.2x)
- unpacker / pigz -dc | tar -x: $(ratio "$ug" "$pg")x
- unpacker zstd / tar --zstd -xf: $(ratio "$uz" "$tz")x (target >= 1.0x)

Peak RSS independent of layer size: $((bytes / 1048576)) MB layer $(peak unpacker_gzip) KB vs $((small_bytes / 1048576)) MB layer $(peak unpacker_small) KB
REPORT
