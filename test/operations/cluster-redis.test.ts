import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { service, sleep, startGateway, type TestGateway, NO_EVENTS } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { get } from './client.ts';

const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
const CI = process.env.CI === 'true';
const PROPAGATION_LIMIT_MS = 1000;
const prefix = `tollgate-test-${randomUUID()}:`;

let one: TestUpstream;
let two: TestUpstream;
const nodes: TestGateway[] = [];

before(async () => {
  one = await startUpstream('one');
  two = await startUpstream('two');
});
after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await Promise.all([one.close(), two.close()]);
  if (REDIS_URL) {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

const node = async () => {
  const gw = await startGateway({
    store: { kind: 'redis', redis_url: REDIS_URL, prefix },
    events: NO_EVENTS,
    services: [service('api', [one.url], [{ paths: ['/api'] }])],
  });
  nodes.push(gw);
  return gw;
};

test('an admin edit on node A is served by node B within 1 second (Redis store)', async (t) => {
  if (!REDIS_URL) {
    if (CI)
      assert.fail(
        'TOLLGATE_TEST_REDIS_URL is unset but CI=true: Redis-backed suites must run in CI (npm run services:up)',
      );
    t.skip('TOLLGATE_TEST_REDIS_URL is unset; start Redis with `npm run services:up` and export the URL it prints');
    return;
  }
  const a = await node();
  const b = await node();
  assert.equal(b.manager.current().version, a.manager.current().version, 'B joined on the cluster head');
  assert.equal((await get(`${b.url}/edit`)).status, 404);

  const put = await adminClient(a.adminUrl).putService(service('edit', [two.url], [{ paths: ['/edit'] }]));
  assert.ok(put.status < 300, put.text);
  const putAt = performance.now();
  let served = false;
  while (!served && performance.now() - putAt < PROPAGATION_LIMIT_MS + 1000) {
    const r = await get(`${b.url}/edit/x`);
    served = r.status === 200 && r.json().name === 'two';
    if (!served) await sleep(20);
  }
  const elapsedMs = Math.round(performance.now() - putAt);
  t.diagnostic(`node B served the edit after ${elapsedMs} ms`);
  assert.ok(served, 'node B serves the edit');
  assert.ok(elapsedMs <= PROPAGATION_LIMIT_MS, `took ${elapsedMs} ms`);
  assert.equal(b.manager.current().version, a.manager.current().version);

  // And the other way round: B's edit reaches A.
  const del = await adminClient(b.adminUrl).deleteService('edit');
  assert.ok(del.status < 300, del.text);
  const delAt = performance.now();
  while ((await get(`${a.url}/edit/x`)).status !== 404 && performance.now() - delAt < PROPAGATION_LIMIT_MS + 1000)
    await sleep(20);
  assert.ok(performance.now() - delAt <= PROPAGATION_LIMIT_MS, 'node A dropped the service B deleted within 1 s');
});
