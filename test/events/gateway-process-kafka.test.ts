import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { service } from '../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { holdKafkaLock, kafkaBrokers, randomTopic, readTopic } from './kafka-helpers.ts';

// The gateway as users run it (under `npm test`, the bundle: scripts/bundle.ts),
// with the Kafka sink, which loads on demand and once broke only when bundled.
test('a gateway process with events.sink: kafka sends every request to the topic', async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const up = await startUpstream('up');
  t.after(() => up.close());
  const dir = tempDir();
  const file = writeYaml(dir, 'tollgate.yaml', {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
    events: { sink: 'kafka', dir: join(dir, 'events'), kafka: { brokers, topic, flush_ms: 20 } },
    services: [service('api', [up.url], [{ paths: ['/api'] }])],
  });
  const gw = await startGatewayProcess(file);
  try {
    for (let i = 0; i < 5; i++) assert.equal((await send(gw.proxyUrl, '/api/x')).status, 200);
  } finally {
    assert.deepEqual(await gw.stop(), { code: 0, signal: null }, gw.stderr());
  }
  const events = await readTopic(brokers, topic);
  assert.equal(events.length, 5);
  assert.ok(events.every((e) => e.status === 200 && e.service === 'api'));
});
