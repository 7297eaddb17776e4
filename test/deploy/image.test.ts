// The image, checked without a container engine (none runs here): hadolint lints the Dockerfile; the build stage's
// script (scripts/image/build.sh) runs in a copy of the repository as `docker build` would run it, and the tree it
// leaves — production dependencies and dist/ only — starts the gateway the way the image's CMD does, answers
// /readyz, drains on SIGTERM, and migrates a ClickHouse with `tollgate-collector migrate`.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';

const root = new URL('../../', import.meta.url).pathname;
const inCi = process.env.CI === 'true';
const hadolint = process.env.TOLLGATE_TEST_HADOLINT;
const clickhouse = process.env.TOLLGATE_TEST_CLICKHOUSE_URL;
let tree: string;

test('hadolint finds nothing in the Dockerfile', { skip: !hadolint && !inCi && 'hadolint not installed' }, () => {
  assert.ok(hadolint, 'CI=true needs TOLLGATE_TEST_HADOLINT (npm run services:up)');
  execFileSync(hadolint, ['--failure-threshold', 'info', join(root, 'Dockerfile')], { stdio: 'pipe' });
});

before(() => {
  // The build context as docker sees it: the repository's files, .dockerignore'd folders left out.
  tree = mkdtempSync(join(tmpdir(), 'tollgate-image-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(root, f)));
  writeFileSync(join(tree, '.files'), files.join('\0'));
  execFileSync('tar', ['-c', '--null', '-T', join(tree, '.files'), '-f', join(tree, 'context.tar')], { cwd: root });
  execFileSync('tar', ['-x', '-f', 'context.tar'], { cwd: tree });
  rmSync(join(tree, 'context.tar'));
});
after(() => rmSync(tree, { recursive: true, force: true }));

test('the build stage leaves dist/ and the production dependencies only', { timeout: 600_000 }, () => {
  execFileSync('bash', ['scripts/image/build.sh'], { cwd: tree, stdio: 'pipe', timeout: 600_000 });
  for (const built of ['dist/bundle/cli.js', 'dist/collector/cluster/main.js', 'dist/console/index.html'])
    assert.ok(existsSync(join(tree, built)), `${built} was built`);
  const pkg = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8'));
  // The build's and the tests' tools are gone (a dev dependency a production one also needs, such as
  // @grpc/grpc-js under the OTLP gRPC exporter, stays).
  for (const dev of ['typescript', 'esbuild', '@biomejs/biome', 'node', 'playwright-core', 'preact', 'fast-check']) {
    assert.ok(dev in pkg.devDependencies, `${dev} is a dev dependency`);
    assert.ok(!existsSync(join(tree, 'node_modules', dev)), `dev dependency ${dev} was pruned`);
  }
  for (const dep of Object.keys(pkg.dependencies))
    assert.ok(existsSync(join(tree, 'node_modules', dep)), `dependency ${dep} is there`);
});

test("the built tree runs the image's command: ready, and a SIGTERM drains and exits 0", async () => {
  const [proxy, admin] = [await freePort(), await freePort()];
  const gw = spawn(join(tree, 'scripts/bin/tollgate'), ['--config', 'gateway/examples/quickstart.yaml'], {
    cwd: tree,
    env: {
      ...process.env,
      TOLLGATE_PROXY_LISTEN: `127.0.0.1:${proxy}`,
      TOLLGATE_ADMIN_LISTEN: `127.0.0.1:${admin}`,
      TOLLGATE_STORE_DIR: join(tree, 'data'),
      TOLLGATE_EVENTS_DIR: join(tree, 'events'),
      NODE_ENV: 'production',
    },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((r) => gw.once('exit', r));
  const ready = await eventually(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 20_000);
  assert.ok(ready, 'the HEALTHCHECK endpoint answers 200');
  gw.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('`tollgate-collector migrate` from the built tree migrates ClickHouse', {
  skip: !clickhouse && !inCi && 'ClickHouse not running',
}, () => {
  assert.ok(clickhouse, 'CI=true needs TOLLGATE_TEST_CLICKHOUSE_URL');
  const database = `tollgate_image_${process.pid}`;
  try {
    const out = execFileSync(join(tree, 'scripts/bin/tollgate-collector'), ['migrate'], {
      cwd: tree,
      env: { ...process.env, TOLLGATE_CLICKHOUSE_URL: clickhouse, TOLLGATE_CLICKHOUSE_DATABASE: database },
      encoding: 'utf8',
    });
    assert.match(out, /migrate: \d+ applied, 0 already applied/);
  } finally {
    execFileSync('curl', ['-s', clickhouse, '--data-binary', `DROP DATABASE IF EXISTS ${database}`]);
  }
});
