/**
 * Raw-event retention. On ClickHouse 19.6+ the table's TTL clause does the
 * work (0001_access_events.sql); this only re-points it when the configured
 * retention changed after the table was created. ClickHouse 18.16 has no
 * table TTL, so there the collector calls this periodically (hourly is
 * plenty) and it drops whole day partitions that lie entirely outside the
 * retention — the table is partitioned by toYYYYMMDD(ts) for exactly this.
 */
import type { ClickHouseClient } from './http-client.ts';
import { supportsTableTtl } from './http-client.ts';
import { identifier, quoteString } from './sql.ts';

export interface RetentionResult {
  mode: 'ttl' | 'partition_drop';
  /** Partition ids (YYYYMMDD) dropped by this call; always empty in ttl mode. */
  droppedPartitions: string[];
  /** True when an existing TTL clause was changed to the configured retention. */
  ttlUpdated: boolean;
}

export async function enforceRetention(
  client: ClickHouseClient,
  options: { database: string; retentionDays: number },
): Promise<RetentionResult> {
  const { retentionDays } = options;
  if (!Number.isInteger(retentionDays) || retentionDays < 1)
    throw new Error(`retention must be a whole number of days >= 1, got ${retentionDays}`);
  const database = identifier(options.database);
  const db = client.withDatabase(database);
  if (supportsTableTtl(await client.serverVersion())) {
    const [row] = await db.query<{ engine_full: string }>(
      `SELECT engine_full FROM system.tables WHERE database = ${quoteString(database)} AND name = 'access_events'`,
    );
    const wanted = `TTL ts + toIntervalDay(${retentionDays})`;
    if (!row || row.engine_full.includes(wanted)) return { mode: 'ttl', droppedPartitions: [], ttlUpdated: false };
    await db.exec(`ALTER TABLE access_events MODIFY ${wanted}`);
    return { mode: 'ttl', droppedPartitions: [], ttlUpdated: true };
  }
  // The cutoff day is computed by the server, in the same time zone that
  // toYYYYMMDD(ts) used to name the partitions. Every row of a partition
  // before that day is older than now() - retention.
  const [cutoff] = await db.query<{ day: number }>(`SELECT toYYYYMMDD(now() - ${retentionDays * 86_400}) AS day`);
  const parts = await db.query<{ partition: string }>(
    `SELECT DISTINCT partition FROM system.parts WHERE database = ` +
      `${quoteString(database)} AND table = 'access_events' AND active`,
  );
  const expired = parts
    .map((p) => p.partition)
    .filter((id) => /^\d{8}$/.test(id) && Number(id) < cutoff.day)
    .sort();
  for (const id of expired) await db.exec(`ALTER TABLE access_events DROP PARTITION ${id}`);
  return { mode: 'partition_drop', droppedPartitions: expired, ttlUpdated: false };
}
