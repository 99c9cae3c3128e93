#!/usr/bin/env bash
# Brings up the real dependencies on loopback, idempotently, without systemd:
# PostgreSQL 15, RabbitMQ 3.10 (management plugin on) and an OCI registry (docker-registry).
#   scripts/services.sh up [postgres|rabbitmq|registry]...   install when missing, start, wait until they answer
#   scripts/services.sh down [name]...                       stop by recorded PID
#   scripts/services.sh status
#   scripts/services.sh fresh-database NAME                   drop NAME (whatever is connected) and create it empty
#   scripts/services.sh prune-test-images                     drop the tests' images (test/...) from the registry
# Ports, credentials and directories come from .env (override with UNPACKER_* variables).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"

pg_bin=/usr/lib/postgresql/15/bin
rabbit_bin=/usr/lib/rabbitmq/bin
packages=(postgresql rabbitmq-server docker-registry curl apache2-utils skopeo pigz zstd python3 tar docker-compose chromium containerd)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "need root to install: ${missing[*]}"
  log "installing ${missing[*]}"
  # Package scripts must not start the distribution's own instances: we run our own on our ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
}

# --- PostgreSQL -------------------------------------------------------------------------------------
pg_data="$state/postgres"
pg_socket="$state/postgres-socket"
pg_pidfile="$pids/postgres.pid"

psql_admin() { runuser -u postgres -- "$pg_bin/psql" -h "$pg_socket" -p "$UNPACKER_POSTGRES_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -tAq "$@"; }

postgres_up() {
  mkdir -p "$pg_socket"; chown postgres:postgres "$pg_socket"
  if [[ ! -f "$pg_data/PG_VERSION" ]]; then
    log "initialising a PostgreSQL 15 cluster in $pg_data"
    mkdir -p "$pg_data"; chown postgres:postgres "$pg_data"; chmod 700 "$pg_data"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >"$logs/initdb.log"
  fi
  if ! pid_alive "$pg_pidfile" postgres; then
    # A cluster stopped hard (or a machine copied while it ran) keeps its lock file, and PostgreSQL will not start while
    # the PID in it is alive, whatever that process now is. Recovery then replays the WAL; syncfs makes its first
    # flush one call per filesystem instead of one fsync per file of every schema.
    if [[ -f "$pg_data/postmaster.pid" ]] && ! pid_alive "$pg_data/postmaster.pid" postgres; then
      log "PostgreSQL was not shut down cleanly: removing its stale lock file; it will recover on start"
      rm -f "$pg_data/postmaster.pid"
    fi
    touch "$logs/postgres.log"; chown postgres:postgres "$logs/postgres.log"
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$logs/postgres.log" -w -t 600 start \
      -o "-p $UNPACKER_POSTGRES_PORT -k $pg_socket -c listen_addresses=$UNPACKER_POSTGRES_HOST -c max_connections=400 -c recovery_init_sync_method=syncfs" >/dev/null
    head -1 "$pg_data/postmaster.pid" > "$pg_pidfile"
  fi
  wait_until "PostgreSQL on $UNPACKER_POSTGRES_HOST:$UNPACKER_POSTGRES_PORT" 60 \
    "$pg_bin/pg_isready" -h "$UNPACKER_POSTGRES_HOST" -p "$UNPACKER_POSTGRES_PORT"
  local user="$UNPACKER_POSTGRES_USER" password="$UNPACKER_POSTGRES_PASSWORD" db="$UNPACKER_POSTGRES_DB"
  if [[ -z "$(psql_admin -c "select 1 from pg_roles where rolname = '$user'")" ]]; then
    psql_admin -c "create role \"$user\" login createdb password '$password'"
  else
    psql_admin -c "alter role \"$user\" login createdb password '$password'"
  fi
  [[ -n "$(psql_admin -c "select 1 from pg_database where datname = '$db'")" ]] || psql_admin -c "create database \"$db\" owner \"$user\""
}

postgres_down() { stop_pid PostgreSQL "$pg_pidfile" postgres INT 60; }

# A database dropped and made again, empty, owned by the services' role: what a test run starts from, so no schema of an
# earlier run (nor of the main job) is in its catalog.
postgres_fresh_database() {
  local db="$1"
  [[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "fresh-database: '$db' is not a plain database name"
  log "making the database $db afresh"
  PGOPTIONS='--client-min-messages=warning' psql_admin -c "drop database if exists \"$db\" with (force)"
  psql_admin -c "create database \"$db\" owner \"$UNPACKER_POSTGRES_USER\""
}

# --- RabbitMQ ---------------------------------------------------------------------------------------
rabbit_dir="$state/rabbitmq"
rabbit_pidfile="$pids/rabbitmq.pid"
rabbit_node="$UNPACKER_RABBITMQ_NODE"

rabbit_env=()
rabbit_env_init() {
  rabbit_env=(HOME=/var/lib/rabbitmq
    RABBITMQ_NODENAME="$rabbit_node" RABBITMQ_NODE_IP_ADDRESS="$UNPACKER_RABBITMQ_HOST"
    RABBITMQ_NODE_PORT="$UNPACKER_RABBITMQ_PORT" RABBITMQ_DIST_PORT="$UNPACKER_RABBITMQ_DIST_PORT"
    RABBITMQ_MNESIA_BASE="$rabbit_dir/mnesia" RABBITMQ_LOG_BASE="$rabbit_dir/log"
    RABBITMQ_PID_FILE="$rabbit_dir/rabbitmq.pid" RABBITMQ_CONFIG_FILE="$rabbit_dir/rabbitmq"
    RABBITMQ_ENABLED_PLUGINS_FILE="$rabbit_dir/enabled_plugins")
}
rabbitmqctl() { runuser -u rabbitmq -- "$(type -P env)" HOME=/var/lib/rabbitmq "$rabbit_bin/rabbitmqctl" -n "$rabbit_node" "$@"; }

rabbitmq_up() {
  mkdir -p "$rabbit_dir"
  cat > "$rabbit_dir/rabbitmq.conf" <<CONF
listeners.tcp.default = $UNPACKER_RABBITMQ_HOST:$UNPACKER_RABBITMQ_PORT
management.tcp.ip = $UNPACKER_RABBITMQ_HOST
management.tcp.port = $UNPACKER_RABBITMQ_MANAGEMENT_PORT
loopback_users = none
CONF
  echo '[rabbitmq_management].' > "$rabbit_dir/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$rabbit_dir"
  if ! pid_alive "$rabbit_pidfile" rabbit; then
    log "starting RabbitMQ node $rabbit_node"
    rabbit_env_init
    rm -f "$rabbit_dir/rabbitmq.pid"
    setsid runuser -u rabbitmq -- "$(type -P env)" "${rabbit_env[@]}" "$rabbit_bin/rabbitmq-server" \
      >"$logs/rabbitmq.log" 2>&1 < /dev/null &
    wait_until "RabbitMQ's pid file" 60 test -s "$rabbit_dir/rabbitmq.pid"
    cp "$rabbit_dir/rabbitmq.pid" "$rabbit_pidfile"
  fi
  wait_until "RabbitMQ on $UNPACKER_RABBITMQ_HOST:$UNPACKER_RABBITMQ_PORT" 120 rabbitmqctl await_startup --timeout 5
  local vhost="$UNPACKER_RABBITMQ_VHOST" user="$UNPACKER_RABBITMQ_USER"
  rabbitmqctl list_vhosts -q | grep -qx "$vhost" || rabbitmqctl add_vhost "$vhost" >/dev/null
  if rabbitmqctl list_users -q | cut -f1 | grep -qx "$user"; then
    rabbitmqctl change_password "$user" "$UNPACKER_RABBITMQ_PASSWORD" >/dev/null
  else
    rabbitmqctl add_user "$user" "$UNPACKER_RABBITMQ_PASSWORD" >/dev/null
  fi
  rabbitmqctl set_user_tags "$user" administrator >/dev/null
  rabbitmqctl set_permissions -p "$vhost" "$user" '.*' '.*' '.*' >/dev/null
  wait_until "RabbitMQ management on $UNPACKER_RABBITMQ_HOST:$UNPACKER_RABBITMQ_MANAGEMENT_PORT" 60 \
    curl -fsS -u "$user:$UNPACKER_RABBITMQ_PASSWORD" "http://$UNPACKER_RABBITMQ_HOST:$UNPACKER_RABBITMQ_MANAGEMENT_PORT/api/overview"
}

rabbitmq_down() { stop_pid RabbitMQ "$rabbit_pidfile" rabbit TERM 60; }

# --- OCI registry -----------------------------------------------------------------------------------
registry_dir="$state/registry"
registry_pidfile="$pids/registry.pid"

registry_up() {
  mkdir -p "$registry_dir/data"
  cat > "$registry_dir/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $registry_dir/data
  delete:
    enabled: true
http:
  addr: $UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT
CONF
  if ! pid_alive "$registry_pidfile" docker-registry; then
    setsid docker-registry serve "$registry_dir/config.yml" >"$logs/registry.log" 2>&1 < /dev/null &
    echo $! > "$registry_pidfile"
  fi
  wait_until "registry on $UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT" 60 \
    curl -fsS "http://$UNPACKER_REGISTRY_HOST:$UNPACKER_REGISTRY_PORT/v2/"
}

registry_down() { stop_pid registry "$registry_pidfile" docker-registry TERM 30; }

# The tests push every image they make under test/ (TestRegistryPusher), hundreds a run: a run starts by dropping those
# repositories and the blobs no other repository references (the registry's own garbage collection, which wants the
# registry stopped), so its storage does not grow with every run. The main job's and the benchmarks' images stay.
registry_prune_test_images() {
  local repositories="$registry_dir/data/docker/registry/v2/repositories"
  [[ -d "$repositories/test" ]] || return 0
  log "dropping the tests' images from the registry ($(find "$repositories/test" -mindepth 1 -maxdepth 1 | wc -l) repositories)"
  registry_down
  rm -rf "$repositories/test"
  docker-registry garbage-collect "$registry_dir/config.yml" >"$logs/registry-gc.log" 2>&1 \
    || die "registry garbage collection failed: see $logs/registry-gc.log"
  registry_up
}

status() {
  local -A words=([postgres]=postgres [rabbitmq]=rabbit [registry]=docker-registry)
  for name in postgres rabbitmq registry; do
    if pid_alive "$pids/$name.pid" "${words[$name]}"; then echo "$name running (pid $(cat "$pids/$name.pid"))"; else echo "$name stopped"; fi
  done
}

command="${1:-up}"; shift || true
if [[ "$command" == fresh-database ]]; then
  (($# == 1)) || die "usage: $0 fresh-database NAME"
  postgres_fresh_database "$1"; exit 0
fi
if [[ "$command" == prune-test-images ]]; then
  registry_prune_test_images; exit 0
fi
names=("$@"); ((${#names[@]})) || names=(postgres rabbitmq registry)
case "$command" in
  up) install_missing; for n in "${names[@]}"; do "${n}_up"; done ;;
  down) for ((i=${#names[@]}-1; i>=0; i--)); do "${names[i]}_down"; done ;;
  status) status ;;
  *) die "usage: $0 up|down|status [postgres|rabbitmq|registry]... | fresh-database NAME | prune-test-images" ;;
esac
