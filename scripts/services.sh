#!/usr/bin/env bash
# Starts and stops the real backing services the tests use (DESIGN: "real
# components ... started by the project's own scripts").
#
#   scripts/services.sh up|down|status [service...]
#
# Each service has <name>_up, <name>_down and <name>_status functions; adding
# one (ClickHouse, Kafka) means adding three functions and one SERVICES entry.
# Every command is idempotent: `up` on a running service only re-checks it.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="$REPO_ROOT/.services"
SERVICES=(redis)

# A non-default port so a system Redis on 6379 is never touched.
REDIS_PORT="${TOLLGATE_REDIS_PORT:-6399}"
REDIS_DIR="$SERVICES_DIR/redis"
REDIS_START_TIMEOUT_S=15

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# Installs a Debian package, refreshing the package index only when the
# plain install fails (a stale or empty index on a fresh image).
apt_install() {
  local pkg="$1"
  command -v apt-get >/dev/null || die "apt-get not found; install $pkg by hand"
  log "installing $pkg with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2; then
    log "install failed; running apt-get update and retrying"
    apt-get update -q >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 || die "apt-get install $pkg failed"
  fi
}

redis_ping() {
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" = "PONG" ]
}

redis_up() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server
  fi
  if redis_ping; then
    log "redis already up on 127.0.0.1:$REDIS_PORT"
  else
    mkdir -p "$REDIS_DIR"
    redis-server \
      --bind 127.0.0.1 \
      --port "$REDIS_PORT" \
      --daemonize yes \
      --dir "$REDIS_DIR" \
      --pidfile "$REDIS_DIR/redis.pid" \
      --logfile "$REDIS_DIR/redis.log" \
      --save '' \
      --appendonly no \
      || die "redis-server failed to start; see $REDIS_DIR/redis.log"
    local deadline=$((SECONDS + REDIS_START_TIMEOUT_S))
    until redis_ping; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        tail -n 20 "$REDIS_DIR/redis.log" >&2 2>/dev/null || true
        die "redis did not answer PONG on 127.0.0.1:$REDIS_PORT within ${REDIS_START_TIMEOUT_S}s; log: $REDIS_DIR/redis.log"
      fi
      sleep 0.2
    done
    log "redis up on 127.0.0.1:$REDIS_PORT (data in $REDIS_DIR)"
  fi
  echo "TOLLGATE_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
}

redis_down() {
  if ! command -v redis-cli >/dev/null || ! redis_ping; then
    log "redis already down"
    return 0
  fi
  # SHUTDOWN closes the connection, so redis-cli reports an error even on success.
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 10))
  while redis_ping; do
    [ "$SECONDS" -ge "$deadline" ] && die "redis on 127.0.0.1:$REDIS_PORT did not stop within 10s"
    sleep 0.2
  done
  log "redis stopped"
}

redis_status() {
  if command -v redis-cli >/dev/null && redis_ping; then
    echo "redis: up (127.0.0.1:$REDIS_PORT)"
  else
    echo "redis: down"
  fi
}

usage() {
  echo "usage: $0 up|down|status [${SERVICES[*]}]" >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local action="$1"
  shift
  case "$action" in
    up|down|status) ;;
    *) usage ;;
  esac
  local targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${SERVICES[@]}")
  local name
  for name in "${targets[@]}"; do
    declare -F "${name}_${action}" >/dev/null || die "unknown service '$name' (known: ${SERVICES[*]})"
  done
  for name in "${targets[@]}"; do
    "${name}_${action}"
  done
}

main "$@"
