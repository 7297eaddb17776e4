import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { service } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { holdKafkaLock, randomTopic, readTopic } from '../events/kafka-helpers.ts';
import { adminClient } from './admin.ts';
import { get } from './client.ts';

const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
const KAFKA = process.env.TOLLGATE_TEST_KAFKA_BROKERS;
const CLICKHOUSE_URL = process.env.TOLLGATE_TEST_CLICKHOUSE_URL;

// docker-compose.yml's gateway on loopback, run as users run it (under `npm
// test`, the bundle): two workers, the Redis config store, the Kafka sink and
// cluster reports. Each of those loads on demand, and two of them once broke
// only when bundled.
test(
  'a cluster-mode gateway process (workers, Redis store, Kafka ' +
    'sink, cluster reports) proxies, applies admin edits and emits events',
  async (t) => {
    if (!REDIS_URL || !KAFKA || !CLICKHOUSE_URL) {
      const why = 'TOLLGATE_TEST_REDIS_URL, TOLLGATE_TEST_KAFKA_BROKERS and TOLLGATE_TEST_CLICKHOUSE_URL are needed';
      if (process.env.CI === 'true') assert.fail(`${why} but CI=true (npm run services:up)`);
      t.skip(`${why}; start them with \`npm run services:up\` and export the lines it prints`);
      return;
    }
    await holdKafkaLock(t);
    const brokers = KAFKA.split(',');
    const topic = randomTopic();
    const prefix = `tollgate-test-${randomUUID()}:`;
    const token = randomUUID();
    const one = await startUpstream('one');
    const two = await startUpstream('two');
    t.after(async () => {
      await Promise.all([one.close(), two.close()]);
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
    const dir = tempDir();
    const file = writeYaml(dir, 'tollgate.yaml', {
      workers: 2,
      // Workers share one listening port, which must be known up front.
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: '127.0.0.1:0', token },
      log: { level: 'info' },
      store: { kind: 'redis', redis_url: REDIS_URL, prefix },
      events: { sink: 'kafka', dir: join(dir, 'events'), kafka: { brokers, topic, flush_ms: 20 } },
      reports: { clickhouse_url: CLICKHOUSE_URL, redis_url: REDIS_URL },
      services: [service('api', [one.url], [{ paths: ['/api'] }])],
    });
    const gw = await startGatewayProcess(file, { startTimeoutMs: 30_000 });
    try {
      for (let i = 0; i < 6; i++) assert.equal((await get(`${gw.proxyUrl}/api/x`)).status, 200);
      const admin = adminClient(gw.adminUrl, token);
      const put = await admin.putService(service('edit', [two.url], [{ paths: ['/edit'] }]));
      assert.ok(put.status < 300, put.text);
      // The reply comes once every worker serves the edit, and both workers take connections: each of these sees it.
      for (let i = 0; i < 12; i++)
        assert.equal((await get(`${gw.proxyUrl}/edit/x`)).json().name, 'two', `request ${i}`);
      assert.equal((await admin.openapi()).status, 200);
    } finally {
      assert.deepEqual(await gw.stop(), { code: 0, signal: null }, gw.stderr());
    }
    const events = await readTopic(brokers, topic);
    assert.ok(events.length >= 13, `events in the topic: ${events.length}`);
    assert.equal(events.filter((e) => e.service === 'api' && e.status === 200).length, 6);
  },
);
