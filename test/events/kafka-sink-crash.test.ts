// A gateway killed with SIGKILL while Kafka is away replays its spool on the
// next start; a torn last record is cut off, never sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  capturedLogger,
  holdKafkaLock,
  openSink,
  closedPort,
  eventually,
  kafkaBrokers,
  randomTopic,
  range,
  readTopic,
  sinkConfig,
  summarize,
  testMetrics,
} from './kafka-helpers.ts';
import { runUntilWrittenThenKill } from '../helpers/kill-after-written.ts';

const FIXTURE = fileURLToPath(new URL('./kafka-sink-crash.fixture.ts', import.meta.url));

test('a sink killed with SIGKILL replays its spool on restart, cutting off a torn last record', {
  timeout: 120_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-kafka-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const killed = await runUntilWrittenThenKill(FIXTURE, [dir, String(await closedPort())], 20_000);
  assert.equal(killed.dropped, 0, 'the spool kept up, so every missing event is from the kill');

  // A record torn mid-write: a header announcing 150 bytes, and only 40 of them.
  const spoolDir = join(dir, 'spool');
  const lastSegment = (await readdir(spoolDir))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .at(-1)!;
  const torn = Buffer.alloc(48, 0xab);
  torn.writeUInt32LE(150, 0);
  await appendFile(join(spoolDir, lastSegment), torn);

  const topic = randomTopic();
  const { metrics } = testMetrics();
  const { log, lines } = capturedLogger();
  const sink = await openSink(t, sinkConfig({ brokers, topic, dir }), metrics, log);
  assert.ok(
    await eventually(() => sink.state === 'up' && sink.unsentEvents === 0, 20_000),
    `the log drained (state ${sink.state}, ${sink.unsentEvents} left)`,
  );
  await sink.close(5000);
  assert.ok(
    lines.some((l) => l.msg === 'segment log: cut a torn tail off the last segment'),
    'the torn record was detected and logged',
  );

  const { indexes, duplicateIds } = summarize(await readTopic(brokers, topic));
  assert.ok(
    indexes.length >= killed.written,
    `everything written before the kill was delivered (${indexes.length} >= ${killed.written})`,
  );
  assert.deepEqual(indexes, range(0, indexes.length), 'in emission order, no gaps, nothing torn');
  assert.equal(duplicateIds, 0);
  t.diagnostic(`${killed.written} reported written before SIGKILL; ${indexes.length} delivered after restart`);
});
