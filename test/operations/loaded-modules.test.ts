import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, REPO_ROOT, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { get } from './client.ts';

const BUNDLE = join(REPO_ROOT, 'dist/bundle/cli.js');

// node:tls, and node:https and node:http2 which load it, cost an idle gateway
// ~2 MB of RSS (docs/performance.md). Without TLS anywhere in its config the
// bundled gateway loads none of them: undici's HTTP/2 half waits behind a
// stand-in (gateway/proxy/upstream/undici.ts), the upstream TLS code loads node:tls
// on first use (gateway/proxy/upstream/tls.ts), and the bundle defers fastify's and
// prom-client's requires (scripts/bundle.ts, which the sources do not go through).
test('a gateway without TLS loads neither node:tls nor node:https nor node:http2', {
  skip: CLI !== BUNDLE && 'the bundle defers these requires; npm test runs it (TOLLGATE_TEST_CLI=dist/bundle/cli.js)',
}, async () => {
  const up = await startUpstream('up');
  const dir = tempDir();
  const out = join(dir, 'modules.txt');
  const preload = join(dir, 'dump-modules.cjs');
  writeFileSync(
    preload,
    `process.on('exit', () => ` +
      `require('node:fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')));\n`,
  );
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 1,
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    services: [
      {
        name: 'api',
        routes: [{ paths: ['/'] }],
        upstream: { targets: [{ url: up.url }], health: { active: { path: '/healthz', interval_ms: 100 } } },
      },
    ],
  });
  const gw = await startGatewayProcess(file, { nodeArgs: ['--require', preload] });
  try {
    assert.equal((await get(`${gw.proxyUrl}/x`)).status, 200);
    assert.equal((await get(`${gw.adminUrl}/metrics`)).status, 200);
    await new Promise((r) => setTimeout(r, 300)); // a few health checks
  } finally {
    await gw.stop();
    await up.close();
  }
  const loaded = readFileSync(out, 'utf8').split('\n');
  assert.ok(loaded.includes('NativeModule http'), 'the dump lists the modules loaded');
  assert.deepEqual(
    ['tls', 'https', 'http2', '_tls_wrap'].filter((m) => loaded.includes(`NativeModule ${m}`)),
    [],
  );
});

// The config schema is written with TypeBox (gateway/control/config/schema.ts), from which `npm run generate` makes
// the JSON Schema and the compiled validator the gateway runs. A value the gateway imported from a schema module
// (a default, a helper beside the schema) brought TypeBox and every schema object in with it: ~3 MB of RSS at idle
// (`node test/bench/run.ts`'s idle figure, 101-102 MB against 98 with the default embedded events).
test('the bundle the gateway runs carries no TypeBox: schemas are for generating, not for running', {
  skip: CLI !== BUNDLE && 'the bundle is what users run; npm test builds it (TOLLGATE_TEST_CLI=dist/bundle/cli.js)',
}, () => {
  const dir = join(REPO_ROOT, 'dist/bundle');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.js.map'))
    .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { sources: string[] }).sources);
  assert.ok(
    sources.some((s) => s.endsWith('gateway/process/cli.ts')),
    'the maps list the bundled modules',
  );
  assert.deepEqual(
    sources.filter((s) => s.includes('node_modules/typebox/') || /\/schema\.ts$/.test(s)),
    [],
  );
});
