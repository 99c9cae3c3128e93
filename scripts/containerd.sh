#!/usr/bin/env bash
# Runs Debian's containerd (1.6) without systemd, on a configuration of our own, for the parity tests and the
# benchmarks: root, state, temp mounts and sockets all live under one directory, nothing listens on TCP, and
# only the native and overlayfs snapshotters are loaded (CRI, the other snapshotters and /opt are disabled).
#   scripts/containerd.sh up       install when missing, start, wait until it answers; prints the socket path
#   scripts/containerd.sh down     stop by the recorded PID
#   scripts/containerd.sh wipe     stop, delete its content and snapshots, start again (a cold cache)
#   scripts/containerd.sh status
# The directory is $UNPACKER_CONTAINERD_DIR (default $UNPACKER_STATE_DIR/containerd), so several instances can
# run side by side. $UNPACKER_CONTAINERD_EXTRA_CONFIG names a TOML file appended to the configuration, e.g. the
# proxy_plugins of `unpacker containerd config`. $UNPACKER_CONTAINERD_CRI=<snapshotter> turns the CRI plugin on (the
# image service only matters: it pulls with containerd's remote-snapshot unpacker, which `ctr images pull` of 1.6 does
# not use), with that snapshotter, its stream server on loopback and the local registry reached over plain HTTP.
# Pull from the local registry with plain HTTP:
#   ctr -a "$(scripts/containerd.sh up)" -n unpacker images pull --plain-http --snapshotter native 127.0.0.1:55000/repo:tag
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"

dir="${UNPACKER_CONTAINERD_DIR:-$state/containerd}"
socket="$dir/containerd.sock"
pidfile="$dir/containerd.pid"
config="$dir/config.toml"

install_missing() {
  # busybox-static: the statically linked shell the tests run as a container on our snapshots (ctr run).
  command -v containerd >/dev/null && command -v ctr >/dev/null && command -v runc >/dev/null \
    && dpkg -s busybox-static >/dev/null 2>&1 && return 0
  [[ $(id -u) == 0 ]] || die "need root to install containerd"
  log "installing containerd, runc and busybox-static"
  # The package's scripts must not start the distribution's own instance: we run our own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd runc busybox-static >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

write_config() {
  mkdir -p "$dir/root" "$dir/state" "$dir/tmp"
  local cri_disabled='  "io.containerd.grpc.v1.cri",'
  [[ -n "${UNPACKER_CONTAINERD_CRI:-}" ]] && cri_disabled=''
  cat > "$config" <<CONF
version = 2
root = "$dir/root"
state = "$dir/state"
temp = "$dir/tmp"
disabled_plugins = [
$cri_disabled  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = "$socket"

[ttrpc]
  address = "$socket.ttrpc"

# No debug or metrics listener: nothing but the unix sockets above.
[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""
CONF
  if [[ -n "${UNPACKER_CONTAINERD_CRI:-}" ]]; then
    mkdir -p "$dir/cni/bin" "$dir/cni/conf"
    cat >> "$config" <<CONF

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$UNPACKER_CONTAINERD_CRI"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT"]
    endpoint = ["http://$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT"]
CONF
  fi
  if [[ -n "${UNPACKER_CONTAINERD_EXTRA_CONFIG:-}" ]]; then
    cat "$UNPACKER_CONTAINERD_EXTRA_CONFIG" >> "$config"
  fi
}

up() {
  install_missing
  if ! pid_alive "$pidfile" containerd; then
    write_config
    rm -f "$socket" "$socket.ttrpc"
    # From / as systemd would start it: containerd resolves a few paths against its working directory.
    (cd / && exec setsid containerd --config "$config") >"$dir/containerd.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
  fi
  wait_until "containerd at $socket" 60 ctr --address "$socket" version
  echo "$socket"
}

down() { stop_pid containerd "$pidfile" containerd TERM 30; }

wipe() {
  down
  # A native snapshot or a temp mount left mounted by a killed unpack would keep its files: unmount first.
  { grep -o " $dir/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r mountpoint; do umount -l "$mountpoint"; done
  rm -rf "$dir/root" "$dir/state" "$dir/tmp"
  up
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  wipe) wipe ;;
  status) if pid_alive "$pidfile" containerd; then echo "containerd running (pid $(cat "$pidfile")) at $socket"; else echo "containerd stopped"; fi ;;
  *) die "usage: $0 up|down|wipe|status" ;;
esac
