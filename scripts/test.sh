#!/usr/bin/env bash
# `npm test`: typecheck, generated-file checks, then every test file.
# With CI=true the real services are installed and started first and no suite may skip;
# on a laptop, suites whose service is not running skip and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== typecheck"
npx tsc -p .

if [[ "${CI:-}" == "true" ]]; then
  echo "== services (CI): starting Redis"
  bash scripts/services.sh up
fi
if bash scripts/services.sh status >/dev/null 2>&1; then
  export TOLLGATE_TEST_REDIS_URL="${TOLLGATE_TEST_REDIS_URL:-redis://127.0.0.1:6399}"
else
  echo "== note: Redis is not running; Redis-backed suites will skip. Enable them with: npm run services:up"
fi

echo "== tests"
node --test --test-timeout=120000 --test-concurrency=2 \
  'gateway/**/*.test.ts' 'test/**/*.test.ts' 'bench/**/*.test.ts' "$@"
