/**
 * Test support for suites that need the real ClickHouse started by
 * scripts/services.sh. A laptop without it skips with the command to run;
 * CI (CI=true) must have it, so there the suite fails instead.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from './http-client.ts';
import { createClickHouseClient } from './http-client.ts';
import { aggregateTraffic } from '../cluster/report-source.ts';
import type { TrafficSelection } from '../reports/source.ts';
import { trafficReport } from '../reports/traffic-report.ts';
import type { TrafficReportRow } from '../reports/traffic-report.ts';
import { rawTraffic } from './raw-traffic.ts';
import { newestPerKey } from './traffic-sql.ts';

const url = process.env.TOLLGATE_TEST_CLICKHOUSE_URL;
const inCi = process.env.CI === 'true';

/** The `skip` option for node:test: a message when ClickHouse is unavailable outside CI. */
export const skipWithoutClickHouse: string | false =
  !url && !inCi
    ? 'TOLLGATE_TEST_CLICKHOUSE_URL is unset; run `npm run services:up` and export the URL it prints'
    : false;

export function testClickHouseClient(): ClickHouseClient {
  assert.ok(url, 'CI=true requires TOLLGATE_TEST_CLICKHOUSE_URL (start ClickHouse with `npm run services:up`)');
  return createClickHouseClient({ url });
}

/**
 * Runs fn with a database name of its own (never `tollgate`), dropped
 * afterwards, so runs and tests never see each other's tables.
 */
export async function withScratchDatabase(
  fn: (client: ClickHouseClient, database: string) => Promise<void>,
): Promise<void> {
  const client = testClickHouseClient();
  const database = `tollgate_test_${randomBytes(6).toString('hex')}`;
  try {
    await fn(client, database);
  } finally {
    await client.exec(`DROP DATABASE IF EXISTS ${database}`);
  }
}

/** A selection of one app's traffic in [fromS, toS), epoch seconds. */
export function appTraffic(appId: string, granularity: 'hour' | 'day', fromS: number, toS: number): TrafficSelection {
  return { appId, granularity, fromMs: fromS * 1000, toMs: toS * 1000 };
}

/** GET /reports/traffic rows as the cluster reports API computes them, from the aggregate tables. */
export async function aggregateReport(db: ClickHouseClient, q: TrafficSelection): Promise<TrafficReportRow[]> {
  return trafficReport(await aggregateTraffic(db, q));
}

/** The same rows recounted from the raw events. */
export async function rawReport(db: ClickHouseClient, q: TrafficSelection): Promise<TrafficReportRow[]> {
  return trafficReport(await rawTraffic(db, q));
}

/** Every request counted in an aggregate table, over all keys. */
export async function totalRequests(
  db: ClickHouseClient,
  table: 'traffic_hourly' | 'traffic_daily' = 'traffic_daily',
): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT sum(requests) AS n FROM (${newestPerKey(table, ['requests'], ['1'])})`,
  );
  return Number(row?.n ?? 0);
}
