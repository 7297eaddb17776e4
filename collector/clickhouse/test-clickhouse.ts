/**
 * Test support for suites that need the real ClickHouse started by
 * scripts/services.sh. A laptop without it skips with the command to run;
 * CI (CI=true) must have it, so there the suite fails instead.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from './http-client.ts';
import { createClickHouseClient } from './http-client.ts';

const url = process.env.TOLLGATE_TEST_CLICKHOUSE_URL;
const inCi = process.env.CI === 'true';

/** The `skip` option for node:test: a message when ClickHouse is unavailable outside CI. */
export const skipWithoutClickHouse: string | false =
  !url && !inCi ? 'TOLLGATE_TEST_CLICKHOUSE_URL is unset; run `npm run services:up` and export the URL it prints' : false;

export function testClickHouseClient(): ClickHouseClient {
  assert.ok(url, 'CI=true requires TOLLGATE_TEST_CLICKHOUSE_URL (start ClickHouse with `npm run services:up`)');
  return createClickHouseClient({ url });
}

/**
 * Runs fn with a database name of its own (never `tollgate`), dropped
 * afterwards, so runs and tests never see each other's tables.
 */
export async function withScratchDatabase(fn: (client: ClickHouseClient, database: string) => Promise<void>): Promise<void> {
  const client = testClickHouseClient();
  const database = `tollgate_test_${randomBytes(6).toString('hex')}`;
  try {
    await fn(client, database);
  } finally {
    await client.exec(`DROP DATABASE IF EXISTS ${database}`);
  }
}
