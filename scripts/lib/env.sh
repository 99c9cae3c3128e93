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

# True when the PID recorded in a file is a live process whose command line holds the given word: a PID file left by a
# machine that was copied or stopped hard may name a process that is now something else.
pid_alive() {
  local file="$1" word="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(head -1 "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$word"* ]]
}

# Stops a process by the PID recorded in a file (when it is still the process named by the word): the given signal,
# then SIGKILL after the timeout.
stop_pid() {
  local name="$1" file="$2" word="$3" signal="${4:-TERM}" timeout="${5:-60}"
  if ! pid_alive "$file" "$word"; then rm -f "$file"; log "$name is not running"; return 0; fi
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
