import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, sleep, startGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { get, metricValue } from './client.ts';

let up: TestUpstream;
let down: TestUpstream;

before(async () => {
  up = await startUpstream('up');
  down = await startUpstream('down', undefined, { healthy: () => false });
});
after(() => Promise.all([up.close(), down.close()]));

const ACTIVE = { path: '/healthz', interval_ms: 50, timeout_ms: 1000, healthy_threshold: 1, unhealthy_threshold: 1 };
const svc = (weights: [number, number], totalMs = 60000) => ({
  name: 'svc',
  routes: [{ paths: ['/'] }],
  upstream: {
    targets: [
      { url: up.url, weight: weights[0] },
      { url: down.url, weight: weights[1] },
    ],
    health: { active: ACTIVE },
    timeouts: { total_ms: totalMs },
  },
});
const healthy = (text: string, target: string) =>
  metricValue(text, 'tollgate_upstream_target_healthy', { service: 'svc', target });

test('/metrics shows tollgate_upstream_target_healthy for every target and tollgate_config_version', async () => {
  const gw = await startGateway({ services: [svc([1, 1])] });
  const admin = adminClient(gw.adminUrl);
  try {
    const text = await eventually(async () => {
      const t = (await admin.metrics()).text;
      return healthy(t, down.url) === 0 ? t : '';
    }, 3000);
    assert.equal(healthy(text, up.url), 1);
    assert.equal(healthy(text, down.url), 0);
    assert.equal(metricValue(text, 'tollgate_config_version'), gw.manager.current().version);

    const put = await admin.putService(svc([2, 1]));
    assert.ok(put.status < 300, put.text);
    const after = (await admin.metrics()).text;
    assert.equal(metricValue(after, 'tollgate_config_version'), gw.manager.current().version);
    assert.ok(gw.manager.current().version > 1);
  } finally {
    await gw.close();
  }
});

test('target health series survive a reload that replaces the upstream pool', async () => {
  // total_ms is also the grace before a replaced pool closes; keep it short so the test sees the close.
  const gw = await startGateway({ services: [svc([1, 1], 200)] });
  const admin = adminClient(gw.adminUrl);
  try {
    assert.ok(await eventually(async () => healthy((await admin.metrics()).text, down.url) === 0, 3000));
    const put = await admin.putService(svc([3, 1], 200));
    assert.ok(put.status < 300, put.text);
    await sleep(600);
    const text = (await admin.metrics()).text;
    assert.equal(healthy(text, up.url), 1, 'the healthy target is still reported');
    assert.equal(healthy(text, down.url), 0, 'the unhealthy target is still reported');
    assert.equal((await get(`${gw.url}/x`)).json().name, 'up');
  } finally {
    await gw.close();
  }
});
