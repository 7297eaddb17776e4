// Live stats from Redis (ok, and degraded at once when it is away), and reports when the store cannot answer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createClickHouseClient } from '../../collector/clickhouse/http-client.ts';
import { migrate } from '../../collector/clickhouse/migrate.ts';
import { testClickHouseClient, withScratchDatabase } from '../../collector/clickhouse/test-clickhouse.ts';
import { dayKey, hourKey, secondKey, serviceField } from '../../collector/cluster/live-counters.ts';
import { ClickHouseReportSource } from '../../collector/cluster/report-source.ts';
import { closedPort } from '../helpers/ports.ts';

import { NOW, NOW_S, REDIS_URL, json, seedClickHouse, serve, skip } from './report-source.fixture.ts';

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
