import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Consumer } from '@platformatic/kafka';
import { pino } from 'pino';
import { ClusterCollector } from '../../collector/cluster/collector.ts';
import type { ClusterCollectorOptions } from '../../collector/cluster/collector.ts';
import { encode } from '../../shared/access-event-codec.ts';
import { createClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { makeEvents, readReports, withInterimEvents } from './events.ts';
import type { Scratch } from './services.ts';
import { committedOffsets, produce, skipWithoutServices as skip, waitFor, withScratch } from './services.ts';
import { TcpProxy } from './tcp-proxy.ts';

async function startCollector(s: Scratch, overrides: Partial<ClusterCollectorOptions> = {}): Promise<ClusterCollector> {
  const collector = new ClusterCollector({
    brokers: s.brokers,
    topic: s.topic,
    groupId: s.groupId,
    clickhouse: s.db,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    batchMaxEvents: 500,
    batchMaxWaitMs: 50,
    retryInitialDelayMs: 50,
    retryMaxDelayMs: 500,
    ...overrides,
  });
  await collector.start((error) => assert.fail(`collector failed: ${error.message}`));
  return collector;
}

function perPartition(records: readonly { partition: number }[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.partition, (counts.get(r.partition) ?? 0) + 1);
  return counts;
}

async function allCommitted(s: Scratch, ends: Map<number, number>): Promise<boolean> {
  const committed = await committedOffsets(s.brokers, s.groupId, s.topic);
  return [...ends].every(([partition, end]) => committed.get(partition) === end);
}

test('counts every produced event exactly once in the hourly and daily reports, and a re-sent event_id once', {
  skip,
}, async () => {
  await withScratch(3, async (s) => {
    // Interim events of open connections among them: bytes in their hour, no request (raw report likewise).
    const events = withInterimEvents(makeEvents(3000));
    const records = events.map((e, i) => ({ partition: i % 3, value: encode(e) }));
    // A gateway replaying its spool puts already-sent events into their partition again.
    for (const i of [5, 6, 7]) records.push({ partition: i % 3, value: encode(events[i]) });
    await produce(s.brokers, s.topic, records);
    const collector = await startCollector(s);
    try {
      await waitFor('every offset committed', () => allCommitted(s, perPartition(records)));
      const reports = await readReports(s.db, events);
      assert.deepEqual(reports.actual, reports.expected);
      assert.deepEqual(reports.aggregate, reports.raw);
      assert.equal(collector.stats.counted, 3000);
      assert.equal(collector.stats.duplicate, 3);
    } finally {
      await collector.stop();
    }
  });
});

test('dead-letters garbage and too-late events with the reason, counts them, and counts everything else once', {
  skip,
}, async () => {
  await withScratch(2, async (s) => {
    const events = makeEvents(1000);
    const tooLate = { ...makeEvents(1, Date.now() - 50 * 3600_000)[0] };
    const garbage = [
      Buffer.from([9, 1, 2, 3]),
      Buffer.from('hello, not an event'),
      encode(events[0]).subarray(0, 10),
      Buffer.alloc(0),
    ];
    const records = events.map((e, i) => ({ partition: i % 2, value: encode(e) }));
    garbage.forEach((value, i) => records.splice(100 + i * 200, 0, { partition: i % 2, value }));
    records.push({ partition: 1, value: encode(tooLate) });
    await produce(s.brokers, s.topic, records);
    const collector = await startCollector(s);
    try {
      await waitFor('every offset committed', () => allCommitted(s, perPartition(records)));
      const reports = await readReports(s.db, events);
      assert.deepEqual(reports.actual, reports.expected);
      assert.equal(collector.stats.counted, 1000);
      assert.equal(collector.stats.deadLetter, garbage.length + 1);
      assert.equal(collector.stats.tooLate, 1);
    } finally {
      await collector.stop();
    }
    const letters = await readDeadLetters(s);
    assert.deepEqual(
      letters.map((l) => l.value.toString('hex')).sort(),
      [...garbage, encode(tooLate)].map((b) => b.toString('hex')).sort(),
    );
    assert.equal(letters.filter((l) => l.reason.startsWith('malformed: ')).length, garbage.length);
    assert.equal(letters.filter((l) => l.reason === 'too_late').length, 1);
  });
});

test('pauses without committing while ClickHouse is unreachable, then resumes with exact counts', {
  skip,
}, async () => {
  await withScratch(2, async (s) => {
    const proxy = new TcpProxy(Number(new URL(s.clickhouseUrl).port));
    const port = await proxy.listen();
    const url = new URL(s.clickhouseUrl);
    url.port = String(port);
    const viaProxy = createClickHouseClient({ url: url.toString(), database: s.database, timeoutMs: 2000 });
    const first = makeEvents(600);
    const second = makeEvents(900);
    const firstRecords = first.map((e, i) => ({ partition: i % 2, value: encode(e) }));
    const secondRecords = second.map((e, i) => ({ partition: i % 2, value: encode(e) }));
    const collector = await startCollector(s, { clickhouse: viaProxy });
    try {
      await produce(s.brokers, s.topic, firstRecords);
      await waitFor('the first events committed', () => allCommitted(s, perPartition(firstRecords)));

      proxy.setDown(true);
      await produce(s.brokers, s.topic, secondRecords);
      await waitFor('insert failures', async () => collector.stats.insertFailures >= 3);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // an outage of a while, not one blip
      const committedDuringOutage = await committedOffsets(s.brokers, s.groupId, s.topic);
      assert.deepEqual(
        committedDuringOutage,
        perPartition(firstRecords),
        'nothing may be committed while ClickHouse is away',
      );

      proxy.setDown(false);
      const all = [...firstRecords, ...secondRecords];
      await waitFor('every offset committed after ClickHouse returned', () => allCommitted(s, perPartition(all)));
      const reports = await readReports(s.db, [...first, ...second]);
      assert.deepEqual(reports.actual, reports.expected);
      assert.deepEqual(reports.aggregate, reports.raw);
    } finally {
      await collector.stop();
      await proxy.close();
    }
  });
});

async function readDeadLetters(s: Scratch): Promise<{ value: Buffer; reason: string }[]> {
  const consumer = new Consumer({
    clientId: 'tollgate-test-dlq',
    groupId: `${s.groupId}-dlq`,
    bootstrapBrokers: s.brokers,
  });
  const letters: { value: Buffer; reason: string }[] = [];
  try {
    const stream = await consumer.consume({ topics: [`${s.topic}.dead-letter`], mode: 'earliest', autocommit: false });
    stream.on('data', (m) => {
      const reason = [...m.headers].find(([k]) => k.toString() === 'reason')?.[1]?.toString() ?? '';
      letters.push({ value: m.value ?? Buffer.alloc(0), reason });
    });
    await waitFor('five dead letters', async () => letters.length >= 5, 15_000);
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return letters;
}
