/**
 * The traffic report recounted from the raw events (access_events) instead
 * of the aggregate tables: the independent check that tests, replays and the
 * analytics bench hold the aggregate report against. It returns the same
 * stored-counter shape as a report source, so both go through
 * collector/reports/traffic-report.ts and differ only in where they count.
 */
import { LATENCY_BUCKETS_S } from '../../shared/latency-buckets.ts';
import { GRPC_STATUS_SLOTS, PROTOCOLS } from '../../shared/access-event.ts';
import { fromColumns } from '../cluster/traffic-counters.ts';
import type { BucketTraffic, TrafficSelection } from '../reports/source.ts';
import type { ClickHouseClient } from './http-client.ts';
import { dateTimeFromEpochS, quoteString } from './sql.ts';

const BUCKET_SECONDS = { hour: 3600, day: 86_400 } as const;

/** FINAL collapses repeated event_ids (identical sorting keys) before counting, merged or not. */
export function rawTrafficSql(q: TrafficSelection): string {
  const step = BUCKET_SECONDS[q.granularity];
  const boundsUs = LATENCY_BUCKETS_S.map((s) => Math.round(s * 1e6));
  // Slot k (1-based) counts total_us <= boundsUs[k]; the last slot is +Inf.
  // multiIf rather than a lambda: 18.16 loses a column captured by a lambda
  // in a query that also has a WHERE ("Unknown identifier: total_us").
  const slot = `multiIf(${boundsUs.map((b, k) => `total_us <= ${b}, ${k + 1}`).join(', ')}, ${boundsUs.length + 1})`;
  // Requests only: an interim event (a connection still open) brings bytes, never a request (migration 0009).
  const requests = (condition: string) => `countIf(interim = 0 AND (${condition}))`;
  const slots = [...boundsUs, Infinity].map((_, k) => requests(`${slot} = ${k + 1}`));
  // Counted as TrafficCounters counts them: protocol slot 0 (http/1.1) stays 0, a code beyond 16 is UNKNOWN (2).
  const protocols = PROTOCOLS.map((p, k) => (k === 0 ? 'toUInt64(0)' : requests(`protocol = ${quoteString(p)}`)));
  const grpcStatuses = Array.from({ length: GRPC_STATUS_SLOTS }, (_, code) =>
    requests(code === 2 ? 'grpc_status = 2 OR grpc_status > 16' : `grpc_status = ${code}`),
  );
  const where = [
    `ts >= ${dateTimeFromEpochS(Math.ceil(q.fromMs / 1000))}`,
    `ts < ${dateTimeFromEpochS(Math.ceil(q.toMs / 1000))}`,
  ];
  if (q.appId !== undefined) where.push(`app_id = ${quoteString(q.appId)}`);
  if (q.service !== undefined) where.push(`service = ${quoteString(q.service)}`);
  if (q.protocol !== undefined) where.push(`protocol = ${quoteString(q.protocol)}`);
  if (q.grpcStatus !== undefined)
    where.push(q.grpcStatus === 2 ? '(grpc_status = 2 OR grpc_status > 16)' : `grpc_status = ${q.grpcStatus}`);
  return `SELECT intDiv(toUInt32(ts), ${step}) * ${step} AS bucket,
    countIf(interim = 0) AS requests,
    ${requests('status >= 200 AND status < 300')} AS status_2xx,
    ${requests('status >= 300 AND status < 400')} AS status_3xx,
    ${requests('status >= 400 AND status < 500')} AS status_4xx,
    ${requests('status >= 500 AND status < 600')} AS status_5xx,
    sum(bytes_in) AS bytes_in,
    sum(bytes_out) AS bytes_out,
    sum(messages_in) AS messages_in,
    sum(messages_out) AS messages_out,
    0 AS billable,
    [${slots.join(', ')}] AS latency_buckets,
    [${protocols.join(', ')}] AS protocols,
    [${grpcStatuses.join(', ')}] AS grpc_statuses
FROM access_events FINAL
WHERE ${where.join(' AND ')}
GROUP BY bucket
ORDER BY bucket`;
}

/** Counters per bucket from the raw events; billable and rejections are not recounted (the report shows neither). */
export async function rawTraffic(client: ClickHouseClient, q: TrafficSelection): Promise<BucketTraffic[]> {
  const rows = await client.query<Record<string, unknown>>(rawTrafficSql(q));
  return rows.map((r) => ({ bucketStartMs: Number(r.bucket) * 1000, counters: fromColumns(r) }));
}
