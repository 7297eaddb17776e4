// The Kafka sink's sender runs on a thread of its own (gateway/proxy/events/kafka/kafka-sender-thread.ts). Against
// the real broker: a sender thread that dies is replaced, and nothing emitted meanwhile is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  capturedLogger,
  eventually,
  holdKafkaLock,
  kafkaBrokers,
  numberedEvent,
  openSink,
  randomTopic,
  range,
  readTopic,
  sinkConfig,
  testMetrics,
} from './kafka-helpers.ts';

test('a sender thread that dies is replaced; the events emitted meanwhile wait in the log and all arrive, in order', {
  timeout: 120_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-sender-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { metrics, register } = testMetrics();
  const { log, lines } = capturedLogger();
  const sink = await openSink(t, sinkConfig({ brokers, topic, dir }), metrics, log);
  assert.ok(await eventually(() => sink.state === 'up', 10_000), 'Kafka answered');

  for (let i = 0; i < 1000; i++) sink.emit(numberedEvent(i));
  assert.ok(await eventually(() => sink.unsentEvents === 0, 10_000), 'the first thousand were sent');
  sink.crashSender();
  assert.ok(await eventually(() => sink.state === 'down', 5000), 'the sink reports the sender gone');
  const up = async () => (await register.getSingleMetric('tollgate_event_sink_up')?.get())?.values[0]?.value;
  assert.equal(await up(), 0, 'tollgate_event_sink_up says so');
  for (let i = 1000; i < 2000; i++) sink.emit(numberedEvent(i));
  assert.ok(sink.unsentEvents >= 1000, `the second thousand wait in the log (${sink.unsentEvents} unsent)`);

  assert.ok(await eventually(() => sink.unsentEvents === 0, 20_000), `a new thread sent them (${sink.unsentEvents})`);
  assert.equal(await up(), 1);
  assert.ok(
    lines.some((l) => l.msg === 'kafka sink: sender thread died; replacing it (events wait in the log)'),
    'the death is logged',
  );
  await sink.close(5000);

  // At least once: a restart may resend up to the last second before the crash, never skip one.
  const indexes = (await readTopic(brokers, topic)).map((e) => e.bytesIn);
  const firsts = indexes.filter((index, at) => indexes.indexOf(index) === at);
  assert.deepEqual(firsts, range(0, 2000), 'every event, first seen in emission order');
});
