import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { crashTwiceMidStream } from './collector-process.ts';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ClusterCollector } from '../../collector/cluster/collector.ts';
import { dayKey, LiveCounters } from '../../collector/cluster/live-counters.ts';
import { QPS_WINDOW_S, readLiveStats } from '../../collector/cluster/live-stats.ts';
import type { LiveRow } from '../../collector/cluster/live-stats.ts';
import { CollectorMetrics, startMetricsServer } from '../../collector/cluster/metrics.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { encode } from '../../shared/access-event-codec.ts';
import { makeEvents, readReports } from './events.ts';
import type { Scratch } from './services.ts';
import { committedOffsets, produce, skipWithoutServices, waitFor, withScratch } from './services.ts';
import { closedPort } from '../helpers/ports.ts';

const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
const skip =
  skipWithoutServices ||
  (!REDIS_URL && process.env.CI !== 'true'
    ? 'TOLLGATE_TEST_REDIS_URL is unset; run `npm run services:up` and export the variables it prints'
    : false);
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A scratch key prefix in the test Redis, deleted afterwards. */
async function withRedis(fn: (redis: Redis, prefix: string) => Promise<void>): Promise<void> {
  assert.ok(REDIS_URL, 'CI=true requires TOLLGATE_TEST_REDIS_URL (`npm run services:up`)');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = `tollgate:test:${randomBytes(6).toString('hex')}:live:`;
  try {
    await fn(redis, prefix);
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

function expectedToday(events: readonly AccessEvent[], nowMs: number): LiveRow[] {
  const day = Math.floor(nowMs / 86_400_000);
  const counts = new Map<string, LiveRow>();
  for (const e of events) {
    if (Math.floor(e.startMs / 86_400_000) !== day) continue;
    const id = JSON.stringify([e.appId, e.service]);
    const row = counts.get(id) ?? { app_id: e.appId, service: e.service, requests: 0 };
    row.requests++;
    counts.set(id, row);
  }
  return [...counts.values()].sort((a, b) => a.app_id.localeCompare(b.app_id) || a.service.localeCompare(b.service));
}

function records(events: readonly AccessEvent[], partitions: number): { partition: number; value: Buffer }[] {
  return events.map((e, i) => ({ partition: i % partitions, value: encode(e) }));
}

async function allCommitted(s: Scratch, perPartition: number): Promise<boolean> {
  const committed = await committedOffsets(s.brokers, s.groupId, s.topic);
  return Array.from({ length: s.partitions }, (_, p) => p).every((p) => committed.get(p) === perPartition);
}

function inProcessCollector(s: Scratch, liveCounters: LiveCounters, metrics?: CollectorMetrics): ClusterCollector {
  return new ClusterCollector({
    brokers: s.brokers,
    topic: s.topic,
    groupId: s.groupId,
    clickhouse: s.db,
    logger,
    batchMaxEvents: 500,
    batchMaxWaitMs: 50,
    retryInitialDelayMs: 50,
    retryMaxDelayMs: 500,
    lagIntervalMs: 200,
    liveCounters,
    metrics,
  });
}

test('live counters equal the produced counts per app and service, and QPS counts the recent seconds', {
  skip,
  timeout: 60_000,
}, async () => {
  await withScratch(3, (s) =>
    withRedis(async (redis, prefix) => {
      const t0 = Date.now();
      const events = makeEvents(3000, t0);
      await produce(s.brokers, s.topic, records(events, 3));
      const live = new LiveCounters({ url: REDIS_URL!, prefix, logger });
      assert.ok(await live.connect());
      const collector = inProcessCollector(s, live);
      await collector.start((error) => assert.fail(`collector failed: ${error.message}`));
      try {
        await waitFor('every offset committed', () => allCommitted(s, 1000));
        const readAtMs = t0 + 2000;
        const stats = await readLiveStats(redis, prefix, readAtMs);
        assert.equal(stats.status, 'ok');
        assert.deepEqual(stats.today, expectedToday(events, readAtMs));
        const readAtS = Math.floor(readAtMs / 1000);
        const inWindow = events.filter(
          (e) => Math.floor(e.startMs / 1000) >= readAtS - QPS_WINDOW_S && Math.floor(e.startMs / 1000) < readAtS,
        );
        assert.ok(inWindow.length > 0, 'some events must fall in the QPS window for this test to mean anything');
        assert.equal(stats.qps, inWindow.length / QPS_WINDOW_S);
        const perApp = await redis.hgetall(dayKey(prefix, Math.floor(readAtMs / 1000), 'app'));
        const expectedPerApp: Record<string, string> = {};
        for (const row of expectedToday(events, readAtMs))
          expectedPerApp[row.app_id] = String(Number(expectedPerApp[row.app_id] ?? 0) + row.requests);
        assert.deepEqual(perApp, expectedPerApp);
        assert.equal(collector.stats.redisErrors, 0);
        assert.equal(live.up, true);
      } finally {
        await collector.stop();
        await live.close();
      }
    }),
  );
});

test('adds nothing to the live counters when every record is ' +
  'redelivered, as after a crash between the Redis update and the commit', {
  skip,
  timeout: 60_000,
}, async () => {
  await withScratch(2, (s) =>
    withRedis(async (redis, prefix) => {
      const events = makeEvents(1000);
      await produce(s.brokers, s.topic, records(events, 2));
      for (const groupId of [s.groupId, `${s.groupId}-again`]) {
        // A second group with nothing committed re-reads the topic from the start against the same Redis.
        const scratch = { ...s, groupId };
        const live = new LiveCounters({ url: REDIS_URL!, prefix, logger });
        assert.ok(await live.connect());
        const collector = inProcessCollector(scratch, live);
        await collector.start((error) => assert.fail(`collector failed: ${error.message}`));
        try {
          await waitFor('every offset committed', () => allCommitted(scratch, 500));
        } finally {
          await collector.stop();
          await live.close();
        }
      }
      const nowMs = Date.now();
      const stats = await readLiveStats(redis, prefix, nowMs);
      assert.deepEqual(stats.today, expectedToday(events, nowMs));
    }),
  );
});

test('live counters still equal the produced counts after the collector is SIGKILLed mid-stream and restarted, twice', {
  skip,
  timeout: 120_000,
}, async () => {
  await withScratch(3, (s) =>
    withRedis(async (redis, prefix) => {
      const events = makeEvents(9000);
      await produce(s.brokers, s.topic, records(events, 3));
      const running = await crashTwiceMidStream(s, events.length, {
        TOLLGATE_REDIS_URL: REDIS_URL!,
        TOLLGATE_REDIS_PREFIX: prefix,
      });
      try {
        await waitFor('every offset committed', () => allCommitted(s, 3000), 60_000);
        const nowMs = Date.now();
        const stats = await readLiveStats(redis, prefix, nowMs);
        assert.equal(stats.status, 'ok');
        assert.deepEqual(stats.today, expectedToday(events, nowMs));
        const exited = once(running.child, 'exit');
        running.child.kill('SIGTERM');
        const [code] = await exited;
        assert.equal(code, 0, running.output.join(''));
      } finally {
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
      }
    }),
  );
});

test('counts exactly in ClickHouse and answers live stats as degraded within 500 ms when Redis is down', {
  skip,
  timeout: 60_000,
}, async () => {
  await withScratch(2, async (s) => {
    const events = makeEvents(1000);
    await produce(s.brokers, s.topic, records(events, 2));
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const live = new LiveCounters({ url, logger });
    assert.equal(await live.connect(200), false);
    const collector = inProcessCollector(s, live);
    await collector.start((error) => assert.fail(`collector failed: ${error.message}`));
    const reader = new Redis(url, { commandTimeout: 500, maxRetriesPerRequest: null, retryStrategy: () => 200 });
    reader.on('error', () => {});
    try {
      await waitFor('every offset committed', () => allCommitted(s, 500));
      const reports = await readReports(s.db, events);
      assert.deepEqual(reports.actual, reports.expected);
      assert.ok(collector.stats.redisErrors > 0, 'every batch should have failed to reach Redis');
      assert.equal(live.up, false);
      const startedMs = performance.now();
      const stats = await readLiveStats(reader, 'tollgate:live:');
      assert.ok(performance.now() - startedMs < 600, `answered in ${performance.now() - startedMs} ms`);
      assert.equal(stats.status, 'degraded');
      assert.match(stats.status === 'degraded' ? stats.reason : '', /live counters unavailable/);
    } finally {
      reader.disconnect();
      await collector.stop();
      await live.close();
    }
  });
});

function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('GET /metrics shows the events, inserts, batches, consumer lag and redis_up of the collector', {
  skip,
  timeout: 60_000,
}, async () => {
  await withScratch(2, (s) =>
    withRedis(async (_redis, prefix) => {
      const events = makeEvents(1000);
      const produced = records(events, 2);
      produced.push({ partition: 0, value: Buffer.from('not an event') });
      produced.push({ partition: 1, value: encode(events[1]) });
      await produce(s.brokers, s.topic, produced);
      const live = new LiveCounters({ url: REDIS_URL!, prefix, logger });
      assert.ok(await live.connect());
      const metrics = new CollectorMetrics();
      const server = await startMetricsServer('127.0.0.1:0', metrics.registry);
      const { port } = server.address() as AddressInfo;
      const collector = inProcessCollector(s, live, metrics);
      await collector.start((error) => assert.fail(`collector failed: ${error.message}`));
      try {
        await waitFor('every offset committed', () => allCommitted(s, 501));
        const body = await waitFor(
          'lag measured after the last commit',
          async () => {
            const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            const lags = [0, 1].map((p) =>
              sample(text, `tollgate_collector_consumer_lag{topic="${s.topic}",partition="${p}"}`),
            );
            return lags.every((lag) => lag === 0) && text;
          },
          10_000,
        );
        assert.equal(sample(body, 'tollgate_collector_events_total{result="counted"}'), 1000);
        assert.equal(sample(body, 'tollgate_collector_events_total{result="duplicate"}'), 1);
        assert.equal(sample(body, 'tollgate_collector_events_total{result="dead_letter"}'), 1);
        for (const table of ['access_events', 'traffic_hourly', 'traffic_daily']) {
          assert.ok(
            (sample(body, `tollgate_collector_clickhouse_inserts_total{table="${table}"}`) ?? 0) >= 1,
            `${table} inserts`,
          );
        }
        assert.equal(
          sample(body, 'tollgate_collector_clickhouse_insert_failures_total'),
          undefined,
          'no failures, so no failure series',
        );
        assert.equal(sample(body, 'tollgate_collector_batch_seconds_count'), collector.stats.batches);
        assert.equal(sample(body, 'tollgate_collector_redis_up'), 1);
        assert.equal(sample(body, 'tollgate_collector_live_pending_events'), 0);
        assert.equal(sample(body, 'tollgate_collector_live_pending_cells'), 0);
        assert.equal(sample(body, 'tollgate_collector_live_dropped_increments_total{reason="cap"}'), 0);
        assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
      } finally {
        await collector.stop();
        await live.close();
        server.close();
      }
    }),
  );
});
