/**
 * The traffic report query: per-bucket traffic for one app over a time range,
 * with p50/p95/p99 latency from the stored histograms. It gives exact numbers
 * while duplicate rows are still unmerged (migrations/README.md) and runs on
 * ClickHouse 18.16 as well as current releases. rawTrafficSql answers the
 * same question from the raw events; both must agree.
 */
import { LATENCY_BUCKETS_S } from '../../shared/latency-buckets.ts';
import type { ClickHouseClient } from './http-client.ts';
import { dateTimeFromEpochS, quoteString } from './sql.ts';
import type { TrafficReportRow } from '../reports/traffic-report.ts';

export interface TrafficQuery {
  appId: string;
  /** Only this service; omitted = all services summed. */
  service?: string;
  /** Bucket start range [fromS, toS), epoch seconds. */
  fromS: number;
  toS: number;
  granularity: 'hour' | 'day';
}

/** A GET /reports/traffic row as ClickHouse returns it: the bucket start in epoch seconds (UTC hour or day). */
export type TrafficRow = Omit<TrafficReportRow, 'bucket'> & { bucket: number };

const COUNTERS = ['requests', 'status_2xx', 'status_3xx', 'status_4xx', 'status_5xx', 'bytes_in', 'bytes_out'] as const;
const BUCKET_SECONDS = { hour: 3600, day: 86_400 } as const;

/**
 * Over traffic_hourly / traffic_daily. Each (bucket, service, source) key's
 * rows are cumulative and identical per source_offset, so the inner GROUP BY
 * takes the newest row per key (argMax) — a duplicate insert, merged or not,
 * contributes once — and the outer GROUP BY sums keys into the bucket.
 */
export function trafficSql(query: TrafficQuery): string {
  const table = query.granularity === 'hour' ? 'traffic_hourly' : 'traffic_daily';
  const newest = [...COUNTERS, 'latency_buckets'].map((c) => `argMax(${c}, source_offset) AS ${c}`).join(',\n            ');
  const summed = COUNTERS.map((c) => `sum(${c}) AS ${c}`).join(',\n        ');
  const inner = `SELECT bucket, service, source,
            ${newest}
        FROM ${table}
        WHERE ${filters(query, 'bucket')}
        GROUP BY bucket, service, source`;
  const merged = `SELECT bucket,
        ${summed},
        sumForEach(latency_buckets) AS latency_buckets
    FROM (${inner})
    GROUP BY bucket`;
  return withPercentiles(merged);
}

/**
 * The same report from access_events. FINAL collapses repeated event_ids
 * (identical sorting keys) before counting, merged or not; this is the shape a
 * replay uses, and what the aggregate report is checked against.
 */
export function rawTrafficSql(query: TrafficQuery): string {
  const step = BUCKET_SECONDS[query.granularity];
  const boundsUs = LATENCY_BUCKETS_S.map((s) => Math.round(s * 1e6));
  // Slot k (1-based) counts total_us <= boundsUs[k]; the last slot is +Inf.
  // multiIf rather than a lambda: 18.16 loses a column captured by a lambda
  // in a query that also has a WHERE ("Unknown identifier: total_us").
  const slot = `multiIf(${boundsUs.map((b, k) => `total_us <= ${b}, ${k + 1}`).join(', ')}, ${boundsUs.length + 1})`;
  const slots = [...boundsUs, Infinity].map((_, k) => `countIf(${slot} = ${k + 1})`);
  const merged = `SELECT toDateTime(intDiv(toUInt32(ts), ${step}) * ${step}) AS bucket,
        count() AS requests,
        countIf(status >= 200 AND status < 300) AS status_2xx,
        countIf(status >= 300 AND status < 400) AS status_3xx,
        countIf(status >= 400 AND status < 500) AS status_4xx,
        countIf(status >= 500 AND status < 600) AS status_5xx,
        sum(bytes_in) AS bytes_in,
        sum(bytes_out) AS bytes_out,
        [${slots.join(', ')}] AS latency_buckets
    FROM access_events FINAL
    WHERE ${filters(query, 'ts')}
    GROUP BY bucket`;
  return withPercentiles(merged);
}

export async function queryTraffic(client: ClickHouseClient, sql: string): Promise<TrafficRow[]> {
  const rows = await client.query<Record<string, number | string>>(sql);
  return rows.map((row) => {
    const out: Record<string, number> = {};
    for (const [key, value] of Object.entries(row)) out[key] = Number(value);
    return out as unknown as TrafficRow;
  });
}

function filters(query: TrafficQuery, timeColumn: string): string {
  const parts = [
    `app_id = ${quoteString(query.appId)}`,
    `${timeColumn} >= ${dateTimeFromEpochS(query.fromS)}`,
    `${timeColumn} < ${dateTimeFromEpochS(query.toS)}`,
  ];
  if (query.service !== undefined) parts.push(`service = ${quoteString(query.service)}`);
  return parts.join(' AND ');
}

/**
 * Wraps a query yielding (bucket, counters, latency_buckets) with the report
 * columns. Percentiles interpolate linearly inside the bucket the rank falls
 * in, exactly as Prometheus' histogram_quantile does (first bucket from 0;
 * the +Inf bucket answers the highest finite bound), so reports and Grafana
 * panels over the gateway's histogram agree.
 */
function withPercentiles(merged: string): string {
  const boundsMs = LATENCY_BUCKETS_S.map((s) => s * 1000);
  const quantiles = [
    [0.5, 'p50'],
    [0.95, 'p95'],
    [0.99, 'p99'],
  ] as const;
  // i_<q> is the 1-based slot the rank falls in; latency_below[i] counts the
  // requests in lower slots (a 0 pushed in front, so slot 1 needs no branch).
  // These lambdas capture latency_total, so this level must stay free of a
  // WHERE: 18.16 loses captured columns in a query with one.
  const indexes = quantiles.map(([q, name]) => `arrayFirstIndex(c -> c >= ${q} * latency_total, latency_cumulative) AS i_${name}`);
  const values = quantiles.map(([q, name]) => {
    const i = `i_${name}`;
    const within = `(${q} * latency_total - latency_below[${i}]) / latency_buckets[${i}]`;
    return `if(latency_total = 0, 0, round(latency_lower_ms[${i}] + (latency_upper_ms[${i}] - latency_lower_ms[${i}]) * ${within}, 3)) AS latency_${name}_ms`;
  });
  return `SELECT toUInt32(bucket) AS bucket,
    ${COUNTERS.join(', ')},
    ${values.join(',\n    ')}
FROM
(
    SELECT *,
        [0, ${boundsMs.join(', ')}] AS latency_lower_ms,
        [${boundsMs.join(', ')}, ${boundsMs[boundsMs.length - 1]}] AS latency_upper_ms,
        arraySum(latency_buckets) AS latency_total,
        arrayCumSum(latency_buckets) AS latency_cumulative,
        arrayPushFront(latency_cumulative, 0) AS latency_below,
        ${indexes.join(',\n        ')}
    FROM (${merged})
)
ORDER BY bucket`;
}
