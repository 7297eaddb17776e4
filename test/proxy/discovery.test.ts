import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';

test('a DNS-discovered upstream (localhost) is resolved to its addresses and serves traffic', async () => {
  const up = await startUpstream('dns');
  const gw = await startGateway({
    services: [{ name: 'svc', routes: [{ paths: ['/'] }], upstream: { dns: { name: 'localhost', port: up.port }, retries: 1 } }],
  });
  try {
    // localhost may resolve to ::1 as well, where nothing listens: retries and ejection must still get every request through.
    const ok = await eventually(async () => (await send(gw.url, '/x')).status === 200, 3000);
    assert.ok(ok, 'never answered through the DNS-resolved target');
    for (let i = 0; i < 10; i++) {
      const r = await send(gw.url, '/x');
      assert.equal(r.status, 200);
      assert.equal(r.json().name, 'dns');
    }
    const health = await (await fetch(`${gw.adminUrl}/health`)).json() as { service: string; targets: { id: string }[] }[];
    const ids = health.find((h) => h.service === 'svc')!.targets.map((t) => t.id);
    assert.ok(ids.includes(`http://127.0.0.1:${up.port}`), `targets: ${ids}`);
  } finally {
    await gw.close();
    await up.close();
  }
});
