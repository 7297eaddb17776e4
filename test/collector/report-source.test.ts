import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { migrate } from '../../collector/clickhouse/migrate.ts';
import { withScratchDatabase } from '../../collector/clickhouse/test-clickhouse.ts';
import { ClickHouseReportSource } from '../../collector/cluster/report-source.ts';
import { RAW_INSERT_TSV, rawRowTsv, tsvString } from '../../collector/cluster/raw-rows.ts';
import { sampleEvent } from '../../collector/aggregate/sample-event.fixture.ts';

import {
  NOW,
  REDIS_URL,
  T,
  embeddedSource,
  json,
  seedClickHouse,
  seedRawEvents,
  serve,
  skip,
} from './report-source.fixture.ts';

// The fixture's events are from March 2025: kept, as raw events, on a ClickHouse that applies the table's TTL
// (every current one; 18.16 has none).
const FIXTURE_RETENTION_DAYS = 3650;

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
        `/reports/traffic?${day}&protocol=h2`,
        `/reports/traffic?${day}&protocol=grpc&app=acme`,
        `/reports/traffic?${day}&grpc_status=UNAVAILABLE`,
        `/reports/traffic?${day}&grpc_status=8&granularity=day`,
        '/billing/qpd?from=2025-03-09&to=2025-03-10&protocol=http/1.1',
        '/billing/qpd?from=2025-03-09&to=2025-03-10&grpc_status=RESOURCE_EXHAUSTED',
      ]) {
        assert.deepEqual(await json(cluster, url), await json(single, url), `${url}: cluster and single node agree`);
      }

      const qpd = await json(cluster, '/billing/qpd?from=2025-03-09&to=2025-03-10');
      const qpdDay = (date: string, app_id: string, requests: number, billable_requests: number, final: boolean) => ({
        date,
        app_id,
        requests,
        billable_requests,
        final,
      });
      assert.deepEqual(qpd.rows, [
        {
          ...qpdDay('2025-03-09', 'acme', 1, 1, true),
          http1_requests: 1,
          h2_requests: 0,
          grpc_requests: 0,
          websocket_requests: 0,
        },
        {
          ...qpdDay('2025-03-10', 'acme', 100, 99, false),
          http1_requests: 89,
          h2_requests: 10,
          grpc_requests: 1,
          websocket_requests: 0,
        },
        {
          ...qpdDay('2025-03-10', 'beta', 2, 1, false),
          http1_requests: 1,
          h2_requests: 0,
          grpc_requests: 1,
          websocket_requests: 0,
        },
      ]);
      assert.deepEqual(
        hourly.rows.map((r: any) => [r.protocols, r.grpc_statuses]),
        [
          [{ 'http/1.1': 89, h2: 10, grpc: 1, websocket: 0, tcp: 0 }, { UNAVAILABLE: 1 }],
          [{ 'http/1.1': 2, h2: 0, grpc: 1, websocket: 0, tcp: 0 }, { RESOURCE_EXHAUSTED: 1 }],
        ],
        'requests per protocol and gRPC calls per status',
      );
      const h2 = await json(cluster, `/reports/traffic?${day}&protocol=h2`);
      assert.deepEqual(
        h2.rows.map((r: any) => [r.bucket, r.requests, r.protocols]),
        [['2025-03-10T13:00:00.000Z', 10, { 'http/1.1': 0, h2: 10, grpc: 0, websocket: 0, tcp: 0 }]],
        'filtered by protocol: only the h2 requests, every counter of them',
      );
      const unavailable = await json(cluster, `/reports/traffic?${day}&grpc_status=UNAVAILABLE`);
      assert.deepEqual(
        unavailable.rows.map((r: any) => [r.requests, r.status_5xx, r.bytes_in, r.grpc_statuses]),
        [[1, 1, 10, { UNAVAILABLE: 1 }]],
        'filtered by gRPC status: that call alone',
      );
      assert.ok(unavailable.rows[0].latency_p50_ms > 500, "its latency is the slow call's, not the others'");
      const billedGrpc = await json(cluster, '/billing/qpd?from=2025-03-09&to=2025-03-10&protocol=grpc');
      assert.deepEqual(
        billedGrpc.rows.map((r: any) => [r.date, r.app_id, r.requests, r.billable_requests, r.grpc_requests]),
        [
          ['2025-03-10', 'acme', 1, 0, 1],
          ['2025-03-10', 'beta', 1, 0, 1],
        ],
      );
    } finally {
      await cluster.close();
      await single.close();
      embedded.close();
      redis.disconnect();
    }
  });
});

test('recent events from ClickHouse: the newest raw events of the last ten minutes, filtered, interim ones left out', {
  skip,
  timeout: 30_000,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database, retentionDays: FIXTURE_RETENTION_DAYS });
    const db = client.withDatabase(database);
    const at = (s: number) => NOW - s * 1000;
    const raw = [
      sampleEvent({ startMs: at(700), status: 200 }), // older than the window
      sampleEvent({ startMs: at(300), status: 200, route: 'older' }),
      sampleEvent({ startMs: at(120), status: 429, upstreamStatus: 0, errorClass: 'rate_limited' }),
      sampleEvent({ startMs: at(60), status: 503, service: 'search', protocol: 'grpc', grpcStatus: 14 }),
      sampleEvent({ startMs: at(30), status: 200, protocol: 'tcp', interim: true }),
      sampleEvent({ startMs: at(10), status: 200, appId: 'beta', route: 'newest' }),
    ];
    await db.exec(RAW_INSERT_TSV + raw.map((e, i) => rawRowTsv(e, tsvString('kafka:t:0'), i)).join(''));
    const redis = new Redis(REDIS_URL!, { lazyConnect: true });
    const cluster = await serve(new ClickHouseReportSource({ clickhouse: db, redis, now: () => NOW }));
    try {
      const all = (await json(cluster, '/events/recent')).events;
      assert.deepEqual(
        all.map((e: any) => [e.route, e.status]),
        [
          ['newest', 200],
          [raw[3].route, 503],
          [raw[2].route, 429],
          ['older', 200],
        ],
      );
      assert.equal(all[0].app_id, 'beta');
      assert.equal(all[0].time, new Date(at(10)).toISOString());
      assert.deepEqual([all[1].protocol, all[1].grpc_status, all[2].grpc_status], ['grpc', 14, null]);
      assert.equal(all[2].error_class, 'rate_limited');
      const refused = (await json(cluster, '/events/recent?status=4xx')).events;
      assert.deepEqual(
        refused.map((e: any) => e.status),
        [429],
      );
      const search = (await json(cluster, '/events/recent?service=search&status=503&limit=5')).events;
      assert.equal(search.length, 1);
      assert.equal((await json(cluster, '/events/recent?limit=2')).events.length, 2);
    } finally {
      await cluster.close();
      redis.disconnect();
    }
  });
});

test('example traces from the ClickHouse raw events equal those the embedded store keeps', {
  skip,
  timeout: 30_000,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database, retentionDays: FIXTURE_RETENTION_DAYS });
    const db = client.withDatabase(database);
    await seedRawEvents(db);
    const redis = new Redis(REDIS_URL!, { lazyConnect: true });
    const cluster = await serve(new ClickHouseReportSource({ clickhouse: db, redis }));
    const embedded = embeddedSource();
    const single = await serve(embedded.source);
    try {
      const day = new Date(T).toISOString().slice(0, 10);
      const hourAfter = new Date(T + 1).toISOString(); // 13:00 starts before it: only 14:00 on
      const queries = [
        `/reports/traffic/traces?from=${day}&to=2025-03-11`,
        '/reports/traffic/traces?from=2025-03-01&to=2025-03-31&limit=3',
        `/reports/traffic/traces?from=${day}&to=2025-03-11&app=beta`,
        `/reports/traffic/traces?from=${day}&to=2025-03-11&service=search`,
        `/reports/traffic/traces?from=${encodeURIComponent(hourAfter)}&to=2025-03-11`,
      ];
      for (const q of queries) assert.deepEqual((await json(cluster, q)).traces, (await json(single, q)).traces, q);
      const { traces } = await json(single, queries[0]);
      assert.deepEqual(
        traces.map((t: any) => [t.kind, t.app_id, t.service, t.bucket, t.status]),
        [
          ['error', 'acme', 'search', new Date(T).toISOString(), 503],
          ['slowest', '', 'api', new Date(T + 3_600_000).toISOString(), 200],
          ['slowest', 'beta', 'api', new Date(T + 3_600_000).toISOString(), 429],
          ['slowest', 'acme', 'api', new Date(T).toISOString(), 200],
        ],
      );
      assert.match(traces[0].trace_id, /^[0-9a-f]{32}$/);
      assert.equal(traces[0].total_ms, 600.1);
      assert.deepEqual(
        (await json(single, queries[4])).traces.map((t: any) => t.app_id),
        ['', 'beta'],
      );
    } finally {
      await cluster.close();
      await single.close();
      embedded.close();
      redis.disconnect();
    }
  });
});
