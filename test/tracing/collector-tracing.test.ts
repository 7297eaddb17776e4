// The cluster collector traces its batches: with OTEL_EXPORTER_OTLP_ENDPOINT set, each batch is a trace in Jaeger,
// the batch span holding its counting, ClickHouse inserts and Kafka commit as children.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { encode } from '../../shared/access-event-codec.ts';
import { makeEvents } from '../collector/events.ts';
import { startCollectorProcess } from '../collector/collector-process.ts';
import { committedOffsets, produce, skipWithoutServices, waitFor, withScratch } from '../collector/services.ts';
import { OTLP_HTTP, parentOf, skipWithoutJaeger, traceOf, tracesOfService } from '../helpers/jaeger.ts';

const skip = skipWithoutServices || skipWithoutJaeger;

test('each batch of the cluster collector is a trace: count, ClickHouse, commit under the batch span', {
  skip,
  timeout: 60_000,
}, async () => {
  await withScratch(1, async (s) => {
    const serviceName = `tollgate-collector-test-${randomBytes(4).toString('hex')}`;
    const events = makeEvents(600);
    await produce(
      s.brokers,
      s.topic,
      events.map((e) => ({ partition: 0, value: encode(e) })),
    );
    const running = startCollectorProcess(s, {
      OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_HTTP,
      OTEL_SERVICE_NAME: serviceName,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    try {
      await waitFor(
        'every offset committed',
        async () => (await committedOffsets(s.brokers, s.groupId, s.topic)).get(0) === 600,
        30_000,
      );
      const ids = await waitFor(
        'batch traces in Jaeger',
        async () => {
          const found = await tracesOfService(serviceName);
          return found.length > 0 ? found : undefined;
        },
        15_000,
      );
      const stored = (await traceOf(ids![0], 4))!;
      const batch = stored.spans.find((x) => x.operationName === 'collector batch')!;
      assert.ok(batch, 'the batch span');
      const children = stored.spans.filter((x) => parentOf(x) === batch.spanID).map((x) => x.operationName);
      for (const phase of ['count', 'clickhouse insert', 'kafka commit']) assert.ok(children.includes(phase), phase);
      const count = Number(batch.tags.find((t) => t.key === 'messaging.batch.message_count')?.value);
      assert.ok(count > 0 && count <= 150, `a batch of ${count} records`);
      const exited = once(running.child, 'exit');
      running.child.kill('SIGTERM');
      assert.equal((await exited)[0], 0, running.output.join(''));
    } finally {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
    }
  });
});
