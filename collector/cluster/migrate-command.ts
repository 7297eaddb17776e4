/**
 * `tollgate-collector migrate` (and `npm run migrate`): applies migrations/ to ClickHouse and prints what it did.
 *
 *   TOLLGATE_CLICKHOUSE_URL             default http://127.0.0.1:8123 (user:password@ for auth)
 *   TOLLGATE_CLICKHOUSE_DATABASE        default tollgate
 *   TOLLGATE_CLICKHOUSE_RETENTION_DAYS  raw-event retention, default 30
 */
import { createClickHouseClient } from '../clickhouse/http-client.ts';
import { DEFAULT_DATABASE, DEFAULT_RETENTION_DAYS, migrate } from '../clickhouse/migrate.ts';

function retentionFromEnv(): number {
  const text = process.env.TOLLGATE_CLICKHOUSE_RETENTION_DAYS;
  if (text === undefined || text === '') return DEFAULT_RETENTION_DAYS;
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1) {
    throw new Error(
      `TOLLGATE_CLICKHOUSE_RETENTION_DAYS must be a whole number of days >= 1, got ${JSON.stringify(text)}`,
    );
  }
  return days;
}

export async function migrateCommand(): Promise<void> {
  const url = process.env.TOLLGATE_CLICKHOUSE_URL || 'http://127.0.0.1:8123';
  const database = process.env.TOLLGATE_CLICKHOUSE_DATABASE || DEFAULT_DATABASE;
  const retentionDays = retentionFromEnv();
  const shownUrl = new URL(url);
  shownUrl.password = shownUrl.password ? '***' : '';
  console.log(`migrate: ClickHouse ${shownUrl.origin} database ${database}`);
  const result = await migrate({
    client: createClickHouseClient({ url }),
    database,
    retentionDays,
    log: (line) => console.log(`migrate: ${line}`),
  });
  const retention = result.ttl
    ? `TTL ${retentionDays} days`
    : `${retentionDays} days by day-partition drops (ClickHouse ` +
      `${result.serverVersion} has no table TTL; the collector runs them)`;
  console.log(
    `migrate: ${result.applied.length} applied, ${result.alreadyApplied} ` +
      `already applied; server ${result.serverVersion}; raw-event retention ${retention}`,
  );
}
