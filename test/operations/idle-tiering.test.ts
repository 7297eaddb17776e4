import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { get } from './client.ts';

// An idle gateway keeps V8's optimising tiers off, and its first request turns
// them on (gateway/process/tiering.ts; docs/performance.md). V8's own --trace-opt
// prints a line per optimising compile. The checks here run 80 times a second
// (four targets every 50 ms): with the tiers on, a gateway compiles its check
// path within two or three seconds of idling (it did before tiering.ts).

const IDLE_MS = 6000;

let ups: TestUpstream[] = [];
let gw: GatewayProcess;

before(async () => {
  ups = await Promise.all([0, 1, 2, 3].map((i) => startUpstream(`t${i}`)));
  const dir = tempDir();
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 1,
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    events: { sink: 'none' },
    services: [{
      name: 'api',
      routes: [{ paths: ['/'] }],
      upstream: { targets: ups.map((u) => ({ url: u.url })), health: { active: { path: '/healthz', interval_ms: 50 } } },
    }],
  });
  gw = await startGatewayProcess(file, { nodeArgs: ['--trace-opt'] });
});

after(async () => {
  await gw?.stop();
  await Promise.all(ups.map((u) => u.close()));
});

/** Optimising compiles --trace-opt reported since log line `from`. */
const compilesSince = (from: number) => gw.logs.slice(from).filter((l) => l.raw === true && String(l.msg).startsWith('[compiling method'));

test('an idle gateway does not optimise its health checks; its first requests turn the optimising tiers on', async () => {
  const listening = gw.logs.findIndex((l) => l.msg === 'tollgate listening');
  assert.ok(listening >= 0);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const checks = ups.reduce((n, u) => n + u.seen.filter((s) => s.url === '/healthz').length, 0);
  assert.ok(checks >= 200, `only ${checks} health checks ran while idle`);
  assert.deepEqual(compilesSince(listening).map((l) => l.msg), [], 'optimising compiles while idle');

  const loaded = gw.logs.length;
  for (let round = 0; round < 20; round++) {
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => get(`${gw.proxyUrl}/r${round}-${i}`)));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
  }
  const deadline = Date.now() + 10_000;
  while (compilesSince(loaded).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(compilesSince(loaded).length > 0, 'no optimising compile after 1,000 requests');
});
