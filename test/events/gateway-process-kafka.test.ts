import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { encode } from '../../shared/access-event-codec.ts';
import { SegmentLog } from '../../shared/segment-log/segment-log.ts';
import { eventually, service } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { holdKafkaLock, kafkaBrokers, numberedEvent, randomTopic, readTopic } from './kafka-helpers.ts';

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

test('what a gone worker left unsent in its spool (workers lowered) is shipped by the next gateway', async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const dir = tempDir();
  const eventsDir = join(dir, 'events');
  // The spool of worker 3 of a gateway that ran with more workers and stopped before its sender sent these.
  const spool = await SegmentLog.open(join(eventsDir, 'w3', 'spool'), { maxTotalBytes: 64 * 1024 * 1024 });
  const left = Array.from({ length: 7 }, (_, i) => numberedEvent(i));
  for (const event of left) spool.append(encode(event));
  await spool.close();
  const file = writeYaml(dir, 'tollgate.yaml', {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
    events: { sink: 'kafka', kafka: { brokers, topic, flush_ms: 20 } },
    services: [],
  });
  const gw = await startGatewayProcess(file, { env: { TOLLGATE_EVENTS_DIR: eventsDir } });
  try {
    const moved = await gw.waitForLog((l) => l.msg?.startsWith('unsent events moved'));
    assert.equal(moved.events, 7);
    await eventually(async () => (await metric(gw, 'tollgate_event_spool_events')) === 0, 15_000, 200);
  } finally {
    assert.deepEqual(await gw.stop(), { code: 0, signal: null }, gw.stderr());
  }
  const shipped = await readTopic(brokers, topic);
  assert.deepEqual(
    shipped.map((e) => e.id),
    left.map((e) => e.id),
    'each, once, in order',
  );
});
