# Sourced by the project's scripts: loads the repository's .env (the one place for ports and credentials)
# without overriding anything already set in the environment.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
while IFS='=' read -r key value; do
  [[ -z "$key" || "$key" == \#* ]] && continue
  if [[ -z "${!key:-}" ]]; then export "$key=$value"; else export "$key"; fi
done < "$repo_root/.env"
export UNPACKER_REPO="$repo_root"
state="$UNPACKER_STATE_DIR"
pids="$state/pids"
logs="$state/logs"
mkdir -p "$pids" "$logs"
chmod 755 "$(dirname "$state")" "$state" 2>/dev/null || true

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Polls a command until it succeeds or the timeout (seconds) runs out; no fixed sleeps.
wait_until() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not answer within ${timeout}s"
    sleep 0.2
  done
  log "$what is up"
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops a process by the PID recorded in a file: the given signal, then SIGKILL after the timeout.
stop_pid() {
  local name="$1" file="$2" signal="${3:-TERM}" timeout="${4:-60}"
  if ! pid_alive "$file"; then rm -f "$file"; log "$name is not running"; return 0; fi
  local pid; pid="$(cat "$file")"
  kill "-$signal" "$pid"
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then log "$name ($pid) ignored SIG$signal; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$file"
  log "$name ($pid) stopped"
}
