#!/usr/bin/env bash
# The image's build stage (Dockerfile), run in a copy of the repository: install with the dev dependencies, build
# dist/ (the gateway bundle, the collector, the console), then keep the production dependencies only. The test suite
# runs it outside a container (test/deploy/image.test.ts), so a broken step fails CI as it would fail `docker build`.
set -euo pipefail
cd "${1:-.}"
# --ignore-scripts: `prepare` would build before the sources are all there; the build is the next step.
npm ci --ignore-scripts --no-audit --no-fund
npm run build
npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# What the runtime stage copies: dist/, the production node_modules, the launchers, the migrations, the examples.
rm -rf node_modules/.cache
