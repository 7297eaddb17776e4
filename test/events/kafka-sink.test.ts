// The Kafka event sink against the real broker (scripts/services.sh): delivery
// in order, Kafka away and back, the log's bounds, memory staying flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  capturedLogger,
  holdKafkaLock,
  openSink,
  closedPort,
  droppedCount,
  eventually,
  kafkaBrokers,
  numberedEvent,
  randomTopic,
  range,
  readTopic,
  readSpool,
  sinkConfig,
  sleep,
  summarize,
  testMetrics,
} from './kafka-helpers.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-sink-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Emits events `from`..`to`-1, `perTurn` at a time with a turn of the event loop between, as requests would. */
async function emitRange(
  sink: { emit(e: ReturnType<typeof numberedEvent>): void },
  from: number,
  to: number,
  perTurn = 500,
): Promise<void> {
  for (let i = from; i < to; i++) {
    sink.emit(numberedEvent(i));
    if ((i - from) % perTurn === perTurn - 1) await new Promise((resolve) => setImmediate(resolve));
  }
}

test('events emitted arrive in Kafka once each, in order and decodable, including those still unsent at close', {
  timeout: 120_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const { metrics, register } = testMetrics();
  const { log } = capturedLogger();
  const sink = await openSink(t, sinkConfig({ brokers, topic, dir: await tempDir(t) }), metrics, log);
  const emitted = range(0, 5000).map(numberedEvent);
  for (const [i, event] of emitted.entries()) {
    sink.emit(event);
    if (i % 700 === 0) await sleep(5);
  }
  // No waiting: close() itself sends what the log still holds while Kafka answers.
  await sink.close(5000);

  const received = await readTopic(brokers, topic);
  assert.deepEqual(
    received.map((e) => e.id),
    emitted.map((e) => e.id),
    'exactly the ids emitted, in order',
  );
  assert.deepEqual(received[1234], emitted[1234], 'events decode to what was emitted');
  assert.equal((await register.getSingleMetric('tollgate_event_sink_up')?.get())?.values[0]?.value, 1);
  assert.equal((await register.getSingleMetric('tollgate_events_emitted_total')?.get())?.values[0]?.value, 5000);
  assert.equal(sink.logStats.appended, 5000, 'every event went through the log');
  assert.equal(sink.unsentEvents, 0);
});

/** Forwards a loopback port to the broker: "Kafka returns" for a sink bootstrapped from that port. */
async function forward(port: number, broker: string): Promise<{ close(): Promise<void> }> {
  const [host, brokerPort] = broker.split(':');
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(brokerPort), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('while the broker is unreachable events wait in the log, and all go out in order once it answers', {
  timeout: 120_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const port = await closedPort();
  const { metrics, register } = testMetrics();
  const { log, lines } = capturedLogger();
  const sink = await openSink(
    t,
    sinkConfig({ brokers: [`127.0.0.1:${port}`], topic, dir: await tempDir(t), timeoutMs: 1000 }),
    metrics,
    log,
  );
  let proxy: { close(): Promise<void> } | undefined;
  t.after(() => proxy?.close());

  await emitRange(sink, 0, 30_000);
  assert.ok(
    await eventually(() => sink.state === 'down' && sink.unsentEvents === 30_000, 5000),
    `all waiting (state ${sink.state}, ${sink.unsentEvents} unsent)`,
  );
  assert.ok(
    await eventually(() => sink.logStats.written === 30_000, 5000),
    `all of them on disk (${sink.logStats.written})`,
  );
  const gauge = async (name: string) => (await register.getSingleMetric(name)?.get())?.values[0]?.value;
  assert.equal(await gauge('tollgate_event_sink_up'), 0);
  assert.equal(await gauge('tollgate_event_spool_events'), 30_000);
  assert.ok((await gauge('tollgate_event_spool_bytes'))! > 30_000 * 100);
  // The sender thread logs through a message to this thread: the line may come after the shared state says down.
  assert.ok(
    await eventually(
      () => lines.some((l) => l.msg === 'kafka sink: Kafka unreachable; events wait in the log on disk'),
      5000,
    ),
    'the outage is logged',
  );

  proxy = await forward(port, brokers[0]);
  assert.ok(await eventually(() => sink.state === 'up', 10_000, 1), 'the sink noticed Kafka');
  // New events arrive while the log drains: they must go out after it, not before.
  const unsentWhenBack = sink.unsentEvents;
  await emitRange(sink, 30_000, 33_000, 3000);
  assert.ok(unsentWhenBack > 0, 'the new events met a log still draining');
  assert.ok(
    await eventually(() => sink.unsentEvents === 0, 20_000),
    `drained (state ${sink.state}, ${sink.unsentEvents} unsent)`,
  );
  await sink.close(5000);

  const { indexes, duplicateIds } = summarize(await readTopic(brokers, topic));
  assert.deepEqual([...new Set(indexes)], range(0, 33_000), 'every event, in emission order');
  t.diagnostic(
    `${indexes.length} records for 33000 events ` +
      `(${unsentWhenBack} still unsent when Kafka answered); ${duplicateIds} duplicates`,
  );
  assert.equal(await gauge('tollgate_event_sink_up'), 1);
  assert.equal(await droppedCount(register, 'spool_full'), 0);
});

test('a full log drops the newest events, counting and logging every one', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir(t);
  const { metrics, register } = testMetrics();
  const { log, lines } = capturedLogger();
  const port = await closedPort();
  const sink = await openSink(
    t,
    sinkConfig({ brokers: [`127.0.0.1:${port}`], topic: randomTopic(), dir, maxBytes: 256 * 1024 }),
    metrics,
    log,
  );
  await emitRange(sink, 0, 5000);
  await sink.close(5000);

  const kept = (await readSpool(dir)).map((e) => e.bytesIn);
  const dropped = await droppedCount(register, 'spool_full');
  assert.ok(kept.length > 1000 && dropped > 1000, `the bound was reached (${kept.length} kept, ${dropped} dropped)`);
  assert.equal(kept.length + dropped, 5000, 'every event is either kept or counted as dropped');
  assert.deepEqual(kept, range(0, kept.length), 'drop-newest: the oldest events are the ones kept, in order');
  const logged = lines.filter((l) => l.reason === 'spool_full').reduce((n, l) => n + (l.dropped as number), 0);
  assert.equal(logged, dropped, 'the log names the reason and the count of every dropped event');
});

test('with Kafka not answering, 200k events go to disk, in order, and close() keeps to its timeout', {
  timeout: 120_000,
}, async (t) => {
  const dir = await tempDir(t);
  // Accepts connections and never answers: sends time out instead of failing fast.
  const silent = createServer(() => undefined);
  const held = new Set<Socket>();
  silent.on('connection', (s) => held.add(s.on('close', () => held.delete(s))));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of held) s.destroy();
        silent.close(() => resolve());
      }),
  );
  const { port } = silent.address() as { port: number };
  const { metrics, register } = testMetrics();
  const { log } = capturedLogger();
  const sink = await openSink(
    t,
    sinkConfig({ brokers: [`127.0.0.1:${port}`], topic: randomTopic(), dir, timeoutMs: 3000 }),
    metrics,
    log,
  );

  const heapBefore = process.memoryUsage().heapUsed;
  await emitRange(sink, 0, 200_000, 1000);
  const stateAfterBurst = sink.state;
  const heapGrowthBytes = process.memoryUsage().heapUsed - heapBefore;
  // Only the log's unwritten batch (at most 8 MiB, else `backlog` drops) is held in memory.
  const closeStartMs = performance.now();
  await sink.close(3000);
  const closeMs = performance.now() - closeStartMs;
  assert.ok(closeMs < 3300, `close() kept to its timeout although Kafka never answered (${closeMs.toFixed(0)} ms)`);

  const spooled = await readSpool(dir);
  const dropped = (await droppedCount(register, 'backlog')) + (await droppedCount(register, 'spool_full'));
  assert.equal(spooled.length + dropped, 200_000, 'every event is on disk or counted as dropped');
  assert.deepEqual(
    spooled.map((e) => e.bytesIn),
    range(0, spooled.length),
    'on disk in emission order',
  );
  t.diagnostic(
    `Kafka state after the burst: ${stateAfterBurst}; ${spooled.length} on ` +
      `disk, ${dropped} dropped; heap grew ${(heapGrowthBytes / 1e6).toFixed(1)} MB`,
  );
});

test('an event the codec refuses is counted as encode_error and logged, and the sink goes on', {
  timeout: 30_000,
}, async (t) => {
  const dir = await tempDir(t);
  const { metrics, register } = testMetrics();
  const { log, lines } = capturedLogger();
  const sink = await openSink(
    t,
    sinkConfig({ brokers: [`127.0.0.1:${await closedPort()}`], topic: randomTopic(), dir }),
    metrics,
    log,
  );
  sink.emit({ ...numberedEvent(0), errorClass: 'no_such_class' as never });
  sink.emit(numberedEvent(1));
  await sink.close(3000);
  assert.equal(await droppedCount(register, 'encode_error'), 1);
  assert.ok(
    lines.some((l) => l.reason === 'encode_error' && /errorClass/.test(String(l.detail))),
    'the log says which field',
  );
  assert.deepEqual(
    (await readSpool(dir)).map((e) => e.bytesIn),
    [1],
  );
});

test('when Kafka is slower than the gateway the backlog waits on disk, and order holds without duplicates', {
  timeout: 120_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const config = sinkConfig({ brokers, topic, dir: await tempDir(t) });
  // The real producer, acknowledging 200 ms late: a broker under load.
  const producerModule = new URL('./slow-producer.fixture.ts', import.meta.url).href;
  const { metrics } = testMetrics();
  const { log } = capturedLogger();
  const sink = await openSink(t, config, metrics, log, { producerModule });
  assert.ok(await eventually(() => sink.state === 'up', 10_000));

  await emitRange(sink, 0, 20_000, 500);
  const backlog = sink.unsentEvents;
  assert.ok(backlog > 10_000, `a backlog built up behind the slow broker (${backlog})`);
  assert.ok(await eventually(() => sink.unsentEvents === 0, 30_000), 'everything was sent');
  await sink.close(5000);

  const { indexes, duplicateIds } = summarize(await readTopic(brokers, topic));
  assert.deepEqual(indexes, range(0, 20_000), 'in emission order, none sent twice');
  assert.equal(duplicateIds, 0);
});

test('large events go out in batches small enough for the broker, not stuck behind its size limit', {
  timeout: 120_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  const { metrics } = testMetrics();
  const { log } = capturedLogger();
  const sink = await openSink(t, sinkConfig({ brokers, topic, dir: await tempDir(t), flushMs: 200 }), metrics, log);
  assert.ok(await eventually(() => sink.state === 'up', 10_000));
  // ~8 KB each and incompressible: 600 of them are ~5 MB, past the broker's default 1 MiB per batch.
  const big = (i: number) => ({
    ...numberedEvent(i),
    route: randomBytes(2000).toString('hex'),
    target: randomBytes(2000).toString('hex'),
  });
  for (let i = 0; i < 600; i++) sink.emit(big(i));
  assert.ok(
    await eventually(() => sink.unsentEvents === 0, 20_000),
    `sent (state ${sink.state}, ${sink.unsentEvents} unsent)`,
  );
  await sink.close(5000);
  assert.deepEqual(summarize(await readTopic(brokers, topic)).indexes, range(0, 600));
});
