import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { skipWithoutClickHouse, withScratchDatabase } from '../../collector/clickhouse/test-clickhouse.ts';
import { migrate } from '../../collector/clickhouse/migrate.ts';

test('cluster mode: the admin listener serves reports from ClickHouse and degraded live stats without Redis', {
  skip: skipWithoutClickHouse,
}, async () => {
  await withScratchDatabase(async (client, database) => {
    await migrate({ client, database });
    const gw = await startGateway({
      events: { sink: 'none' },
      reports: { clickhouse_url: process.env.TOLLGATE_TEST_CLICKHOUSE_URL, clickhouse_database: database },
      services: [],
    });
    try {
      const from = new Date(Date.now() - 3600_000).toISOString();
      const to = new Date(Date.now() + 3600_000).toISOString();
      const traffic = await fetch(`${gw.adminUrl}/reports/traffic?from=${from}&to=${to}`);
      assert.equal(traffic.status, 200, await traffic.clone().text());
      assert.deepEqual(await traffic.json(), { rows: [] });
      const started = performance.now();
      const live = (await (await fetch(`${gw.adminUrl}/stats/live`)).json()) as { status: string };
      assert.equal(live.status, 'degraded');
      assert.ok(performance.now() - started < 1500, 'live stats answer fast when Redis is not there');
      const bad = await fetch(`${gw.adminUrl}/billing/qpd?from=2026-13-01&to=2026-11-02`);
      assert.equal(bad.status, 400);
    } finally {
      await gw.close();
    }
  });
});
