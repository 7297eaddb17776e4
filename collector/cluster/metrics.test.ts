import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { CollectorMetrics, startMetricsServer } from './metrics.ts';

test(
  'the metrics listener answers /healthz always, ' + '/readyz by the ready check, and shows the Kafka state',
  async (t) => {
    const metrics = new CollectorMetrics();
    const kafka = { kafkaUp: false, reconnects: 2 };
    metrics.observeKafka(kafka);
    const server = await startMetricsServer('127.0.0.1:0', metrics.registry, () =>
      kafka.kafkaUp ? undefined : 'kafka is not connected; reconnecting',
    );
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const unready = await fetch(`${base}/readyz`);
    assert.equal(unready.status, 503);
    assert.deepEqual(await unready.json(), { status: 'unavailable', reason: 'kafka is not connected; reconnecting' });
    let text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^tollgate_collector_kafka_up 0$/m);
    assert.match(text, /^tollgate_collector_kafka_reconnects_total 2$/m);

    kafka.kafkaUp = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /^tollgate_collector_kafka_up 1$/m);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  },
);
