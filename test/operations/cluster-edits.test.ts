import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eventually, service } from '../helpers/gateway.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { startRedisInterposer } from '../helpers/redis-interposer.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { get, metricValue } from './client.ts';

/**
 * Admin edits made at the same time on different nodes of a cluster (one
 * Redis store). Each node used to append the config it derived from its own
 * head, so an edit appended by another node in between was silently dropped.
 * Every test has a private redis-server, so none depends on the shared one.
 * The nodes reach it through a relay (helpers/redis-interposer.ts), so a test
 * can store another node's version inside a node's own append.
 */

import { beforeNextAppend, cluster, serviceNames } from './cluster-edits.fixture.ts';

test('ten service PUTs fired at once at two nodes all end up in the config on both nodes', async (t) => {
  const c = await cluster(t);
  if (!c) return;
  const a = await c.node();
  const b = await c.node();
  const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const replies = await Promise.all(
    names.map((name, i) =>
      adminClient((i % 2 === 0 ? a : b).adminUrl).putService(
        service(name, [c.upstream.url], [{ paths: [`/${name}`] }]),
      ),
    ),
  );
  for (const r of replies) assert.equal(r.status, 200, r.text);
  const versions = replies.map((r) => r.json().version as number);
  assert.equal(new Set(versions).size, 10, `each PUT made its own version: ${versions}`);

  const head = Math.max(...versions);
  const caughtUp = await eventually(
    () => a.manager.current().version === head && b.manager.current().version === head,
    3000,
  );
  assert.ok(
    caughtUp,
    `both nodes serve version ${head}: A ${a.manager.current().version}, B ${b.manager.current().version}`,
  );
  const expected = ['api', ...names].sort();
  assert.deepEqual(serviceNames(a), expected);
  assert.deepEqual(serviceNames(b), expected);
  // And the data planes serve them, not only the control planes.
  for (const name of names) {
    assert.equal((await get(`${a.url}/${name}/x`)).status, 200, `A serves ${name}`);
    assert.equal((await get(`${b.url}/${name}/x`)).status, 200, `B serves ${name}`);
  }
});

test(
  'an edit on a node that has not heard of another ' + "node's newer version yet is redone on that version",
  async (t) => {
    const c = await cluster(t);
    if (!c) return;
    const a = await c.node();
    const other = beforeNextAppend(c, (services) => [
      ...services,
      service('other', [c.upstream.url], [{ paths: ['/other'] }]),
    ]);

    const put = await adminClient(a.adminUrl).putService(service('mine', [c.upstream.url], [{ paths: ['/mine'] }]));
    assert.equal(other.ran(), 1, "the other node's version was stored while A's append was on its way");
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json().version, other.version() + 1);
    assert.deepEqual(serviceNames(a), ['api', 'mine', 'other']);
    assert.equal((await get(`${a.url}/other/x`)).status, 200, 'the adopted version is applied to the data plane');
    assert.equal((await get(`${a.url}/mine/x`)).status, 200);
    const metrics = (await adminClient(a.adminUrl).metrics()).text;
    assert.equal(
      metricValue(metrics, 'tollgate_config_conflicts_total', { result: 'retried' }),
      1,
      'the lost race is counted',
    );
    assert.equal(metricValue(metrics, 'tollgate_config_conflicts_total', { result: 'gave_up' }), undefined);
  },
);

test("with workers: 2 the primary counts an edit's lost race in tollgate_config_conflicts_total", async (t) => {
  const redis = await startPrivateRedis(t);
  if (!redis) return;
  const relay = await startRedisInterposer(t, redis.url);
  const upstream = await startUpstream('one');
  t.after(() => upstream.close());
  const c = { redisUrl: redis.url, relay, prefix: `tollgate-test-${randomUUID()}:` };
  const dir = tempDir();
  const file = writeYaml(dir, 'gw.yaml', {
    workers: 2,
    proxy: { listen: `127.0.0.1:${await freePort()}` },
    admin: { listen: '127.0.0.1:0' },
    log: { level: 'info' },
    store: { kind: 'redis', redis_url: relay.url, prefix: c.prefix },
    services: [service('api', [upstream.url], [{ paths: ['/api'] }])],
  });
  const gw = await startGatewayProcess(file);
  t.after(() => gw.stop());
  const other = beforeNextAppend(c, (services) => [
    ...services,
    service('other', [upstream.url], [{ paths: ['/other'] }]),
  ]);
  const put = await adminClient(gw.adminUrl).putService(service('mine', [upstream.url], [{ paths: ['/mine'] }]));
  assert.equal(other.ran(), 1);
  assert.equal(put.status, 200, put.text);
  assert.equal(
    put.json().version,
    other.version() + 1,
    'the edit lost the race to the unannounced version and was redone on it',
  );
  const metrics = (await adminClient(gw.adminUrl).metrics()).text;
  assert.equal(metricValue(metrics, 'tollgate_config_conflicts_total', { result: 'retried' }), 1);
  assert.equal(
    metrics.split('\n').filter((l) => l === '# TYPE tollgate_config_conflicts_total counter').length,
    1,
    "one family, the primary's",
  );
});
