#!/usr/bin/env bash
# `npm test`: typecheck, lint, generated-file checks, then every test file.
# With CI=true the real services are installed and started first and no suite may skip;
# on a laptop, suites whose service is not running skip and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== typecheck"
npx tsc -p .

echo "== lint (biome.json; docs/decisions/0006-biome.md)"
npx biome check

# The tests that start gateway processes run what users run (scripts/bin/tollgate on the bundle), built
# now from the sources just checked (the module-by-module tsc emit of `npm run build` is not needed).
echo "== bundle"
node scripts/bundle.ts
export TOLLGATE_TEST_CLI="${TOLLGATE_TEST_CLI:-dist/bundle/cli.js}"
echo "== console (typecheck, then build into dist/console)"
npx tsc -p gateway/control/console/app
node scripts/console.ts

if [[ "${CI:-}" == "true" ]]; then
  echo "== services (CI): installing and starting Redis, ClickHouse, Kafka, promtool, valgrind, libfaketime, the bench peers and load tools, h2spec, Chromium, Jaeger, etcd, Consul, chDB, docker-compose, hadolint, Helm"
  bash scripts/services.sh up
fi
# Each running service enables its suites; the values match what `services.sh up`
# prints, and a variable already set wins.
not_running=()
use_service() {
  local name="$1" var="$2" value="$3"
  if bash scripts/services.sh status "$name" >/dev/null 2>&1; then
    export "$var=${!var:-$value}"
  else
    not_running+=("$name")
  fi
}
use_service redis TOLLGATE_TEST_REDIS_URL "redis://127.0.0.1:${TOLLGATE_REDIS_PORT:-6399}"
use_service clickhouse TOLLGATE_TEST_CLICKHOUSE_URL "http://127.0.0.1:${TOLLGATE_CLICKHOUSE_HTTP_PORT:-8124}"
use_service kafka TOLLGATE_TEST_KAFKA_BROKERS "127.0.0.1:${TOLLGATE_KAFKA_PORT:-9192}"
use_service promtool TOLLGATE_TEST_PROMTOOL "$(command -v promtool || true)"
use_service valgrind TOLLGATE_TEST_VALGRIND "$(command -v valgrind || true)"
use_service faketime TOLLGATE_TEST_FAKETIME "$(command -v faketime || true)"
use_service h2spec TOLLGATE_TEST_H2SPEC "$PWD/.services/bin/h2spec"
use_service autobahn TOLLGATE_TEST_WSTEST "$PWD/.services/autobahn/wstest"
use_service haproxy TOLLGATE_TEST_HAPROXY "$(command -v haproxy || true)"
use_service chromium TOLLGATE_TEST_CHROMIUM "$(command -v chromium || true)"
use_service jaeger TOLLGATE_TEST_JAEGER_URL http://127.0.0.1:16686
use_service etcd TOLLGATE_TEST_ETCD_URL "http://127.0.0.1:${TOLLGATE_ETCD_PORT:-2389}"
use_service consul TOLLGATE_TEST_CONSUL "$PWD/.services/bin/consul"
use_service compose TOLLGATE_TEST_COMPOSE "$(command -v docker-compose || true)"
use_service hadolint TOLLGATE_TEST_HADOLINT "$PWD/.services/hadolint/venv/bin/hadolint"
use_service helm TOLLGATE_TEST_HELM "$PWD/.services/bin/helm"
use_service chdb TOLLGATE_TEST_CLICKHOUSE_CURRENT_URL "http://127.0.0.1:${TOLLGATE_CHDB_PORT:-8125}"
if [ ${#not_running[@]} -gt 0 ]; then
  echo "== note: not running: ${not_running[*]}; their suites will skip. Enable them with: npm run services:up"
fi

# Two files at a time for the suites that share nothing but the machine: unit tests and in-process gateways on
# loopback ports of their own (this halves the time their processes take to start). One at a time for the rest:
# those that share a service (Redis, Kafka, ClickHouse, ...: the Kafka outage suite stops the shared broker, which
# must not happen under another suite), load the machine, or time an answer against a bound a second suite's load
# could break.
serial_here=(
  gateway/control/store/redis.test.ts gateway/control/apps/store/redis.test.ts gateway/control/config/load.test.ts
  test/proxy/limits.test.ts test/proxy/client-limits.test.ts test/proxy/health.test.ts
  test/proxy/health-ejection.test.ts test/proxy/websocket.test.ts test/proxy/grpc.test.ts
  test/proxy/h2c-connection-setup.test.ts test/proxy/upstream-framing.test.ts test/proxy/streams-example.test.ts
  test/proxy/websocket-autobahn.test.ts test/proxy/websocket-faults.test.ts test/proxy/listeners/h2-floods.test.ts
  test/proxy/listeners/h2spec.test.ts
  test/security/rate-limit-redis.test.ts test/security/identity-cluster.test.ts
)
mapfile -t parallel < <(find gateway shared test/proxy test/security -name '*.test.ts' | sort |
  grep -vxF -f <(printf '%s\n' "${serial_here[@]}"))
mapfile -t serial < <(find gateway collector shared dashboards test -name '*.test.ts' | sort |
  grep -vxF -f <(printf '%s\n' "${parallel[@]}"))
# Node's compile cache, shared by every test process and the gateways they start: each module is parsed and
# compiled once per run, not once per process (test/operations alone: 144 s without it, 134 s with it cold).
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$PWD/node_modules/.cache/node-compile}"
# A test may take 2 minutes; a file whose process outlives its tests by 30 s fails, naming what holds it open.
node_test=(node --import ./test/helpers/exit-guard.ts --test --test-timeout=120000)
status=0
echo "== tests, two files at a time (${#parallel[@]} files)"
"${node_test[@]}" --test-concurrency=2 "${parallel[@]}" "$@" || status=$?
echo "== tests, one file at a time (${#serial[@]} files)"
"${node_test[@]}" --test-concurrency=1 "${serial[@]}" "$@" || status=$?
[[ $status -eq 0 ]] || exit $status

# The ClickHouse suites again, on a current ClickHouse engine beside Debian's 18.16: the same migrations, inserts,
# reports, retention, replay and dashboard queries (docs/decisions/0014-current-clickhouse.md). The Kafka outage
# suites are left out: they send no statement the others do not.
if [[ $# -gt 0 ]]; then
  : # tests named on the command line: that run only
elif [[ -z "${TOLLGATE_TEST_CLICKHOUSE_CURRENT_URL:-}" ]]; then
  [[ "${CI:-}" == "true" ]] && { echo "CI=true: chdb (the current ClickHouse engine) is not running" >&2; exit 1; }
  echo "== skipped: the ClickHouse suites on a current ClickHouse engine (chdb not running; npm run services:up)"
else
  echo "== ClickHouse suites on a current ClickHouse engine (chDB, $TOLLGATE_TEST_CLICKHOUSE_CURRENT_URL)"
  : >.services/chdb/statements.jsonl
  TOLLGATE_TEST_CLICKHOUSE_URL="$TOLLGATE_TEST_CLICKHOUSE_CURRENT_URL" \
    "${node_test[@]}" --test-concurrency=1 \
    collector/clickhouse/*.test.ts collector/cluster/*.test.ts dashboards/*.test.ts \
    test/collector/cluster-collector.test.ts test/collector/collector-crash.test.ts \
    test/collector/gateway-reports.test.ts test/collector/live-counters.test.ts test/collector/live-backlog.test.ts \
    test/collector/redis-outage.test.ts test/collector/replay.test.ts test/collector/report-source-live.test.ts \
    test/collector/report-source.test.ts test/collector/source-totals.test.ts test/services/services.test.ts \
    test/operations/cluster-process.test.ts test/tracing/collector-tracing.test.ts
  node scripts/clickhouse-current/statements.ts
fi
