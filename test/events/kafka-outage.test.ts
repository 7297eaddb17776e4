// Fault test against the shared broker: Kafka is stopped (scripts/services.sh
// down kafka) for about ten seconds while events keep coming, then started
// again. Other suites that use Kafka at the same moment see the outage too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  capturedLogger, holdKafkaLock, openSink, eventually, kafkaBrokers, numberedEvent, randomTopic, range, readTopic, sinkConfig, sleep, summarize, testMetrics,
} from './kafka-helpers.ts';

const execFileAsync = promisify(execFile);
const SERVICES = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const OUTAGE_MS = 10_000;
const EVENTS_PER_TICK = 20;
const TICK_MS = 10;

const services = (command: 'up' | 'down' | 'status') => execFileAsync('bash', [SERVICES, command, 'kafka'], { timeout: 120_000 });

test('Kafka stopped for ten seconds under load: nothing is lost and everything arrives in order after it returns', { timeout: 150_000 }, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  if (!(await services('status').then(() => true, () => false))) {
    if (process.env.CI === 'true') assert.fail('Kafka is not running under scripts/services.sh, so this test cannot stop it');
    t.skip(`Kafka at ${brokers.join(',')} is not run by scripts/services.sh, which this test stops and starts (npm run services:up)`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-outage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const topic = randomTopic();
  const { metrics } = testMetrics();
  const { log } = capturedLogger();
  const sink = await openSink(t, sinkConfig({ brokers, topic, dir, timeoutMs: 2000 }), metrics, log);
  assert.ok(await eventually(() => sink.state === 'up', 10_000), 'Kafka answered before the outage');

  let emitted = 0;
  const load = setInterval(() => {
    for (let i = 0; i < EVENTS_PER_TICK; i++) sink.emit(numberedEvent(emitted++));
  }, TICK_MS);
  let downMs = 0;
  try {
    await sleep(1000);
    const stopped = performance.now();
    try {
      await services('down');
      assert.ok(await eventually(() => sink.state === 'down', 15_000), 'the sink noticed Kafka was gone');
      downMs = performance.now() - stopped;
      await sleep(Math.max(0, OUTAGE_MS - downMs));
    } finally {
      // Whatever happened above, the shared broker comes back for the other suites.
      await services('up');
    }
    downMs = performance.now() - stopped;
    assert.ok(await eventually(() => sink.state === 'up', 30_000), 'the sink noticed Kafka was back');
    await sleep(1000);
  } finally {
    clearInterval(load);
  }
  const spooled = sink.spoolStats.appended;
  assert.ok(await eventually(() => sink.spooledEvents === 0 && sink.queuedEvents === 0, 30_000), `the spool drained (${sink.spooledEvents} left)`);
  await sink.close(5000);

  const { indexes, duplicateIds } = summarize(await readTopic(brokers, topic, 60_000));
  assert.ok(spooled > 0, 'events waited on disk during the outage');
  assert.deepEqual([...new Set(indexes)], range(0, emitted), 'every event emitted, in emission order');
  t.diagnostic(`Kafka away ${(downMs / 1000).toFixed(1)} s; ${emitted} events emitted, ${spooled} through the spool; ${indexes.length} records in Kafka, ${duplicateIds} duplicates`);
});
