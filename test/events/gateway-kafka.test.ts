import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { holdKafkaLock, kafkaBrokers, randomTopic, readTopic } from './kafka-helpers.ts';

test(
  'with events.sink: kafka, every request through ' + 'the gateway reaches the topic as one decodable event',
  async (t) => {
    const brokers = kafkaBrokers(t);
    if (!brokers) return;
    await holdKafkaLock(t);
    const topic = randomTopic();
    const up = await startUpstream('up');
    const gw = await startGateway({
      events: { sink: 'kafka', kafka: { brokers, topic, flush_ms: 20 } },
      services: [{ name: 'api', routes: [{ paths: ['/api'] }], upstream: { targets: [{ url: up.url }] } }],
    });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await send(gw.url, '/api/x')).status, 200);
      assert.equal((await send(gw.url, '/none')).status, 404);
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await readTopic(brokers, topic);
    assert.equal(events.length, 21, 'one event per request');
    assert.equal(events.filter((e) => e.status === 200 && e.service === 'api' && e.errorClass === 'none').length, 20);
    assert.equal(events.filter((e) => e.status === 404 && e.errorClass === 'no_route').length, 1);
    assert.equal(new Set(events.map((e) => e.id)).size, 21);
  },
);
