import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import {
  addEvent,
  bucketStartMs,
  emptyCounters,
  GRANULARITIES,
  TrafficAggregator,
  type TrafficCounters,
} from '../../collector/aggregate/traffic.ts';
import { sampleEvent } from '../../collector/aggregate/sample-event.fixture.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { migrate } from '../../collector/clickhouse/migrate.ts';
import {
  skipWithoutClickHouse,
  testClickHouseClient,
  withScratchDatabase,
} from '../../collector/clickhouse/test-clickhouse.ts';
import { dayKey, hourKey, secondKey, serviceField } from '../../collector/cluster/live-counters.ts';
import { ClickHouseReportSource } from '../../collector/cluster/report-source.ts';
import { toColumns } from '../../collector/cluster/traffic-counters.ts';
import { LiveStats } from '../../collector/embedded/live-stats.ts';
import { EmbeddedReportSource } from '../../collector/embedded/report-source.ts';
import { EmbeddedStore } from '../../collector/embedded/store.ts';
import { registerReportRoutes } from '../../collector/reports/routes.ts';
import { installErrorReplies } from '../../gateway/control/admin/replies.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { closedPort } from '../helpers/ports.ts';

const REDIS_URL = process.env.TOLLGATE_TEST_REDIS_URL;
const skip =
  skipWithoutClickHouse ||
  (!REDIS_URL && process.env.CI !== 'true'
    ? 'TOLLGATE_TEST_REDIS_URL is unset; run `npm run services:up` and export the variables it prints'
    : false);

const H = 3_600_000;
const T = Date.UTC(2025, 2, 10, 13);
/** "Now" for `final` and the live keys: 03-09 is final (ended 03-10 00:00, + 48 h lateness), 03-10 is not. */
const NOW = Date.UTC(2025, 2, 12, 12);
const NOW_S = NOW / 1000;

function events(): AccessEvent[] {
  const out: AccessEvent[] = [];
  // acme/api at 13:00: 99 fast requests (1.8 ms); acme/search at 13:00: one slow 503 (600 ms).
  for (let i = 0; i < 99; i++) out.push(sampleEvent({ startMs: T + i * 1000 }));
  out.push(sampleEvent({ startMs: T + 5, service: 'search', status: 503, upstreamStatus: 503, totalUs: 600_000 }));
  // beta/api at 14:00: a 404 and a rate-limited 429; an anonymous request; acme a day earlier.
  out.push(sampleEvent({ startMs: T + H, appId: 'beta', status: 404, upstreamStatus: 404 }));
  out.push(
    sampleEvent({ startMs: T + H + 1, appId: 'beta', status: 429, upstreamStatus: 0, errorClass: 'rate_limited' }),
  );
  out.push(sampleEvent({ startMs: T + H + 2, appId: '' }));
  out.push(sampleEvent({ startMs: T - 24 * H, status: 301, upstreamStatus: 301 }));
  return out;
}

interface KeyTotals {
  table: string;
  bucketS: number;
  appId: string;
  service: string;
  offset: number;
  counters: TrafficCounters;
}

/** Cumulative totals per (table, bucket, app, service) of a source's events at offsets 0..upTo, as the collector writes
 * them. */
function cumulativeRows(log: readonly AccessEvent[], upTo: number, source: string): Record<string, unknown>[] {
  const keys = new Map<string, KeyTotals>();
  for (let offset = 0; offset <= upTo; offset++) {
    const e = log[offset];
    for (const granularity of GRANULARITIES) {
      const bucketS = bucketStartMs(granularity, e.startMs) / 1000;
      const table = granularity === 'hour' ? 'traffic_hourly' : 'traffic_daily';
      const id = JSON.stringify([table, bucketS, e.appId, e.service]);
      const key = keys.get(id) ?? {
        table,
        bucketS,
        appId: e.appId,
        service: e.service,
        offset,
        counters: emptyCounters(),
      };
      addEvent(key.counters, e);
      key.offset = offset;
      keys.set(id, key);
    }
  }
  return [...keys.values()].map((k) => ({
    table: k.table,
    bucket: k.bucketS,
    app_id: k.appId,
    service: k.service,
    source,
    source_offset: k.offset,
    ...toColumns(k.counters),
  }));
}

async function insertRows(db: ClickHouseClient, rows: readonly Record<string, unknown>[]): Promise<void> {
  for (const table of ['traffic_hourly', 'traffic_daily']) {
    await db.insert(
      table,
      rows.filter((r) => r.table === table).map(({ table: _, ...row }) => row),
    );
  }
}

/**
 * Two sources (Kafka partitions) share the events. Each writes an older
 * version of its rows (half its log), then the newest version twice, with
 * merges stopped so the duplicates provably stay unmerged.
 */
async function seedClickHouse(db: ClickHouseClient): Promise<void> {
  await db.exec('SYSTEM STOP MERGES traffic_hourly');
  await db.exec('SYSTEM STOP MERGES traffic_daily');
  const all = events();
  for (const partition of [0, 1]) {
    const log = all.filter((_, i) => i % 2 === partition);
    const source = `kafka:tollgate-events:${partition}`;
    await insertRows(db, cumulativeRows(log, Math.floor(log.length / 2), source));
    const newest = cumulativeRows(log, log.length - 1, source);
    await insertRows(db, newest);
    await insertRows(db, newest);
  }
}

async function serve(source: EmbeddedReportSource | ClickHouseReportSource): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorReplies(app); // as the admin server does
  registerReportRoutes(app, source, { now: () => NOW });
  await app.ready();
  return app;
}

/** The same events through the single-node store: the cluster source must give identical reports. */
function embeddedSource(): { source: EmbeddedReportSource; close(): void } {
  const store = EmbeddedStore.open(':memory:');
  const agg = new TrafficAggregator();
  for (const e of events()) agg.add(e);
  store.applyBatch({ source: 'log', from: 0, next: 1, deltas: agg.drain(), deadLetters: [] });
  const live = new LiveStats(() => NOW);
  return { source: new EmbeddedReportSource(store, { live: () => live.snapshot() }), close: () => store.close() };
}

async function json(app: FastifyInstance, url: string): Promise<any> {
  const res = await app.inject(url);
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.json();
}

test('traffic and billing from ClickHouse count duplicate row versions once and equal the embedded reports', {
  skip,
  timeout: 30_000,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    await seedClickHouse(db);
    const [{ rows }] = await db.query<{ rows: number }>('SELECT count() AS rows FROM traffic_hourly');
    const [{ keys }] = await db.query<{ keys: number }>(
      'SELECT count() AS keys FROM (SELECT DISTINCT bucket, app_id, service, source FROM traffic_hourly)',
    );
    assert.ok(
      Number(rows) > Number(keys) * 2,
      `duplicates and older versions are stored unmerged (${rows} rows, ${keys} keys)`,
    );

    const redis = new Redis(REDIS_URL!, { lazyConnect: true });
    const cluster = await serve(new ClickHouseReportSource({ clickhouse: db, redis }));
    const embedded = embeddedSource();
    const single = await serve(embedded.source);
    try {
      const day = 'from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z';
      const hourly = await json(cluster, `/reports/traffic?${day}&granularity=hour`);
      assert.deepEqual(
        hourly.rows.map((r: any) => [r.bucket, r.requests, r.status_4xx, r.status_5xx]),
        [
          ['2025-03-10T13:00:00.000Z', 100, 0, 1],
          ['2025-03-10T14:00:00.000Z', 3, 2, 0],
        ],
        'summed over apps, services and sources, each key counted once',
      );
      assert.equal(
        hourly.rows[0].latency_p99_ms,
        2.5,
        'p99 of the merged histogram: 99 of 100 requests took at most 2.5 ms',
      );

      const acmeApi = await json(cluster, `/reports/traffic?${day}&granularity=hour&app=acme&service=api`);
      assert.deepEqual(
        acmeApi.rows.map((r: any) => r.requests),
        [99],
      );
      const daily = await json(
        cluster,
        '/reports/traffic?from=2025-03-09T00:00:00Z&to=2025-03-11T00:00:00Z&granularity=day&app=acme',
      );
      assert.deepEqual(
        daily.rows.map((r: any) => [r.bucket, r.requests]),
        [
          ['2025-03-09T00:00:00.000Z', 1],
          ['2025-03-10T00:00:00.000Z', 100],
        ],
      );

      for (const url of [
        `/reports/traffic?${day}&granularity=hour`,
        `/reports/traffic?${day}&granularity=hour&app=acme`,
        `/reports/traffic?${day}&granularity=hour&app=acme&service=search`,
        '/reports/traffic?from=2025-03-09T00:00:00Z&to=2025-03-11T00:00:00Z&granularity=day',
        '/billing/qpd?from=2025-03-09&to=2025-03-10',
      ]) {
        assert.deepEqual(await json(cluster, url), await json(single, url), `${url}: cluster and single node agree`);
      }

      const qpd = await json(cluster, '/billing/qpd?from=2025-03-09&to=2025-03-10');
      assert.deepEqual(qpd.rows, [
        { date: '2025-03-09', app_id: 'acme', requests: 1, billable_requests: 1, final: true },
        { date: '2025-03-10', app_id: 'acme', requests: 100, billable_requests: 99, final: false },
        { date: '2025-03-10', app_id: 'beta', requests: 2, billable_requests: 1, final: false },
      ]);
    } finally {
      await cluster.close();
      await single.close();
      embedded.close();
      redis.disconnect();
    }
  });
});

test('live stats come from the Redis live counters with status ok', { skip, timeout: 10_000 }, async () => {
  assert.ok(REDIS_URL, 'CI=true requires TOLLGATE_TEST_REDIS_URL (`npm run services:up`)');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = `tollgate:test:${randomBytes(6).toString('hex')}:live:`;
  const app = await serve(
    new ClickHouseReportSource({
      clickhouse: testClickHouseClient(),
      redis,
      livePrefix: prefix,
      now: () => NOW,
    }),
  );
  try {
    await redis.hset(
      dayKey(prefix, NOW_S, 'service'),
      serviceField('acme', 'api'),
      '30',
      serviceField('beta', 'api'),
      '4',
    );
    await redis.hset(hourKey(prefix, NOW_S, 'service'), serviceField('acme', 'api'), '7');
    await redis.set(secondKey(prefix, NOW_S - 2), '40');
    await redis.set(secondKey(prefix, NOW_S), '1000');
    assert.deepEqual(await json(app, '/stats/live'), {
      status: 'ok',
      qps: 4,
      today: [
        { app_id: 'acme', service: 'api', requests: 30 },
        { app_id: 'beta', service: 'api', requests: 4 },
      ],
      current_hour: [{ app_id: 'acme', service: 'api', requests: 7 }],
    });
  } finally {
    await app.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});

test('live stats answer degraded at once with the reason when Redis is unreachable, and reports still serve', {
  skip,
  timeout: 30_000,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const db = client.withDatabase(database);
    await seedClickHouse(db);
    const redis = new Redis({
      host: '127.0.0.1',
      port: await closedPort(),
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    redis.on('error', () => {});
    const app = await serve(new ClickHouseReportSource({ clickhouse: db, redis, now: () => NOW }));
    try {
      const startedMs = performance.now();
      const live = await json(app, '/stats/live');
      const elapsedMs = performance.now() - startedMs;
      assert.equal(live.status, 'degraded');
      assert.match(live.reason, /^live counters unavailable: redis is /);
      assert.equal(live.qps, null);
      assert.ok(elapsedMs < 200, `answered in ${elapsedMs.toFixed(0)} ms, without waiting for Redis`);
      const traffic = await json(
        app,
        '/reports/traffic?from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z&granularity=day',
      );
      assert.deepEqual(
        traffic.rows.map((r: any) => r.requests),
        [103],
      );
    } finally {
      await app.close();
      redis.disconnect();
    }
  });
});

test('reports answer 503 GW_ERR_REPORTS_UNAVAILABLE when the database is not migrated or ClickHouse is unreachable', {
  skip,
  timeout: 30_000,
}, async () => {
  const redis = new Redis({
    host: '127.0.0.1',
    port: await closedPort(),
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  });
  redis.on('error', () => {});
  const client = testClickHouseClient();
  const unreachable = createClickHouseClient({ url: `http://127.0.0.1:${await closedPort()}` });
  // A database that was never created (nothing migrated), then a server that is not there.
  const cases = [
    { db: client.withDatabase(`tollgate_test_${randomBytes(6).toString('hex')}`), message: /run `npm run migrate`/ },
    { db: unreachable, message: /^ClickHouse cannot be reached/ },
  ];
  try {
    for (const { db, message } of cases) {
      const app = await serve(new ClickHouseReportSource({ clickhouse: db, redis, now: () => NOW }));
      try {
        for (const url of [
          '/reports/traffic?from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z',
          '/billing/qpd?from=2025-03-10&to=2025-03-10&format=csv',
        ]) {
          const res = await app.inject(url);
          assert.equal(res.statusCode, 503, `${url}: ${res.body}`);
          const body = res.json();
          assert.equal(body.code, 'GW_ERR_REPORTS_UNAVAILABLE');
          assert.match(body.message, message);
          assert.doesNotMatch(
            body.message,
            /127\.0\.0\.1|Code: /,
            'the reply names no address and no ClickHouse internals',
          );
          assert.ok(body.request_id);
        }
        // Parameters are still checked first: a bad request stays 400 whatever the store.
        assert.equal((await app.inject('/reports/traffic?from=x')).statusCode, 400);
      } finally {
        await app.close();
      }
    }
  } finally {
    redis.disconnect();
  }
});
