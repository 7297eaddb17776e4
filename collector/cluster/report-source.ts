/**
 * The reports API in cluster mode: traffic and billing from the ClickHouse
 * aggregate tables, live stats from the Redis live counters. Like the
 * embedded source it returns stored counters (merged histograms included) and
 * leaves quantiles to collector/reports, so both modes give the same numbers.
 */
import type { Redis } from 'ioredis';
import { ClickHouseError, ClickHouseUnreachableError, type ClickHouseClient } from '../clickhouse/http-client.ts';
import { dateTimeFromEpochS, quoteString } from '../clickhouse/sql.ts';
import { newestPerKey, trafficTable } from '../clickhouse/traffic-sql.ts';
import {
  ReportsUnavailableError,
  type BucketTraffic,
  type ClassFilter,
  type DailyAppRow,
  type DailySelection,
  type ExampleSelection,
  type LiveSnapshot,
  type RecentEvent,
  type RecentSelection,
  type ReportSource,
  type TrafficSelection,
} from '../reports/source.ts';
import { grpcSlotOf } from '../aggregate/traffic.ts';
import { EXAMPLE_KINDS, type TraceExample } from '../aggregate/trace-examples.ts';
import { DEFAULT_LIVE_PREFIX } from './live-counters.ts';
import { readLiveStats } from './live-stats.ts';
import { AGGREGATE_COLUMNS, fromColumns } from './traffic-counters.ts';

export interface ClickHouseReportSourceOptions {
  /** Client whose default database holds the migrated aggregate tables. */
  clickhouse: ClickHouseClient;
  /** Connection owned by the caller; a client that is not ready gives a degraded live answer at once. */
  redis: Redis;
  /** Key prefix of the live counters (default 'tollgate:live:'). */
  livePrefix?: string;
  /** Longest wait for Redis in live() before answering degraded (default 500). */
  liveTimeoutMs?: number;
  now?: () => number;
}

// sumForEach sums arrays of different lengths slot by slot (18.16 too): rows from before a column was added
// hold an empty array.
const ARRAYS: ReadonlySet<string> = new Set(['rejections', 'latency_buckets', 'protocols', 'grpc_statuses']);
/** ClickHouse error codes of a database or table that is not there: 81 UNKNOWN_DATABASE, 60 UNKNOWN_TABLE. */
const NOT_MIGRATED: ReadonlySet<number> = new Set([60, 81]);
/** How far back GET /events/recent looks in ClickHouse. */
const RECENT_WINDOW_S = 600;

export class ClickHouseReportSource implements ReportSource {
  readonly #clickhouse: ClickHouseClient;
  readonly #redis: Redis;
  readonly #livePrefix: string;
  readonly #liveTimeoutMs: number;
  readonly #now: () => number;

  constructor(options: ClickHouseReportSourceOptions) {
    this.#clickhouse = options.clickhouse;
    this.#redis = options.redis;
    this.#livePrefix = options.livePrefix ?? DEFAULT_LIVE_PREFIX;
    this.#liveTimeoutMs = options.liveTimeoutMs ?? 500;
    this.#now = options.now ?? Date.now;
  }

  async traffic(q: TrafficSelection): Promise<BucketTraffic[]> {
    return this.#answer(() => aggregateTraffic(this.#clickhouse, q));
  }

  async dailyApps(q: DailySelection): Promise<DailyAppRow[]> {
    return this.#answer(async () => {
      const rows = await this.#clickhouse.query<{
        bucket: number;
        app_id: string;
        requests: number;
        billable: number;
        protocols: number[];
      }>(
        `SELECT toUInt32(bucket) AS bucket, app_id, sum(requests) AS requests, sum(billable) AS billable,
  sumForEach(protocols) AS protocols
FROM (${newestPerKey('traffic_daily', ['requests', 'billable', 'protocols'], [...rangeFilter(q), ...classFilter(q)])})
GROUP BY bucket, app_id
ORDER BY bucket, app_id`,
      );
      return rows.map((r) => ({
        dayStartMs: Number(r.bucket) * 1000,
        appId: r.app_id,
        requests: Number(r.requests),
        billable: Number(r.billable),
        protocols: r.protocols.map(Number),
      }));
    });
  }

  /** A store that cannot answer (unreachable, or not migrated) is ReportsUnavailableError; anything else is a bug and
   * passes. */
  async #answer<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof ClickHouseError && error.code !== undefined && NOT_MIGRATED.has(error.code)) {
        throw new ReportsUnavailableError(
          'The reports database is not set up: run `npm run migrate` against this ClickHouse.',
          { cause: error },
        );
      }
      if (error instanceof ClickHouseUnreachableError)
        throw new ReportsUnavailableError('ClickHouse cannot be reached or did not answer in time.', { cause: error });
      throw error;
    }
  }

  /**
   * The newest raw events of the last ten minutes (so the read stays within today's partition and a small range of
   * its sort order's time), newest first; interim events are not requests and are left out.
   */
  async recentEvents(q: RecentSelection): Promise<RecentEvent[]> {
    const sinceS = Math.floor(this.#now() / 1000) - RECENT_WINDOW_S;
    const where = [`ts >= ${dateTimeFromEpochS(sinceS)}`, 'interim = 0'];
    if (q.appId !== undefined) where.push(`app_id = ${quoteString(q.appId)}`);
    if (q.service !== undefined) where.push(`service = ${quoteString(q.service)}`);
    if (q.statusFrom !== undefined) where.push(`status >= ${Math.trunc(q.statusFrom)}`);
    if (q.statusTo !== undefined) where.push(`status <= ${Math.trunc(q.statusTo)}`);
    return this.#answer(async () => {
      const rows = await this.#clickhouse.query<Record<string, string | number>>(
        `SELECT event_id, toUInt32(ts) AS ts_s, ts_ms, app_id, service, route, method, status, protocol, total_us,
  client_ip, target, error_class, grpc_status, bytes_in, bytes_out, trace_id
FROM access_events
WHERE ${where.join(' AND ')}
ORDER BY ts DESC, ts_ms DESC
LIMIT ${Math.max(1, Math.min(500, Math.trunc(q.limit)))}`,
      );
      return rows.map((r) => ({
        id: String(r.event_id),
        time: new Date(Number(r.ts_s) * 1000 + Number(r.ts_ms)).toISOString(),
        app_id: String(r.app_id),
        service: String(r.service),
        route: String(r.route),
        method: String(r.method),
        status: Number(r.status),
        protocol: String(r.protocol),
        total_ms: Math.round(Number(r.total_us) / 100) / 10,
        client_ip: String(r.client_ip),
        target: String(r.target),
        error_class: String(r.error_class),
        grpc_status: Number(r.grpc_status) < 0 ? null : Number(r.grpc_status),
        bytes_in: Number(r.bytes_in),
        bytes_out: Number(r.bytes_out),
        trace_id: String(r.trace_id),
      }));
    });
  }

  /**
   * From the raw events (kept TOLLGATE_CLICKHOUSE_RETENTION_DAYS): per hour, app and service, the slowest traced
   * request below 500 and at 500 or above, as the embedded store keeps them. Hours are whole UTC hours of epoch
   * seconds, so an hour is in the window when its start is, whatever the server's time zone.
   */
  async traceExamples(q: ExampleSelection): Promise<TraceExample[]> {
    const ceilHourS = (ms: number) => Math.ceil(ms / 3_600_000) * 3600;
    const where = [
      `ts >= ${dateTimeFromEpochS(ceilHourS(q.fromMs))}`,
      `ts < ${dateTimeFromEpochS(ceilHourS(q.toMs))}`,
      'interim = 0',
      "trace_id != ''",
    ];
    if (q.appId !== undefined) where.push(`app_id = ${quoteString(q.appId)}`);
    if (q.service !== undefined) where.push(`service = ${quoteString(q.service)}`);
    return this.#answer(async () => {
      const rows = await this.#clickhouse.query<Record<string, string | number>>(
        `SELECT intDiv(toUInt32(ts), 3600) AS hour, app_id, service, status >= 500 AS is_error, trace_id, route, status,
  toUInt32(ts) AS ts_s, ts_ms, total_us
FROM access_events
WHERE ${where.join(' AND ')}
ORDER BY is_error DESC, total_us DESC, hour, app_id, service, ts, ts_ms
LIMIT 1 BY hour, app_id, service, is_error
LIMIT ${Math.max(1, Math.min(100, Math.trunc(q.limit)))}`,
      );
      return rows.map((r) => ({
        bucketStartMs: Number(r.hour) * 3_600_000,
        appId: String(r.app_id),
        service: String(r.service),
        kind: EXAMPLE_KINDS[Number(r.is_error)],
        traceId: String(r.trace_id),
        route: String(r.route),
        status: Number(r.status),
        startMs: Number(r.ts_s) * 1000 + Number(r.ts_ms),
        totalUs: Number(r.total_us),
      }));
    });
  }

  /** Never throws: an absent or slow Redis answers `degraded` with the reason within liveTimeoutMs. */
  async live(): Promise<LiveSnapshot> {
    return readLiveStats(this.#redis, this.#livePrefix, this.#now(), this.#liveTimeoutMs);
  }
}

/**
 * Stored counters per bucket of the aggregate tables, any number of rows per
 * bucket: what GET /reports/traffic is made of in cluster mode.
 */
export async function aggregateTraffic(clickhouse: ClickHouseClient, q: TrafficSelection): Promise<BucketTraffic[]> {
  const where = [...rangeFilter(q), ...classFilter(q)];
  if (q.appId !== undefined) where.push(`app_id = ${quoteString(q.appId)}`);
  if (q.service !== undefined) where.push(`service = ${quoteString(q.service)}`);
  // sumForEach merges histograms of different lengths (a bucket appended later) slot by slot.
  const summed = AGGREGATE_COLUMNS.map((c) => `${ARRAYS.has(c) ? 'sumForEach' : 'sum'}(${c}) AS ${c}`);
  const rows = await clickhouse.query<Record<string, unknown>>(`SELECT toUInt32(bucket) AS bucket,
    ${summed.join(',\n    ')}
FROM (${newestPerKey(trafficTable(q.granularity), AGGREGATE_COLUMNS, where)})
GROUP BY bucket
ORDER BY bucket`);
  return rows.map((r) => ({ bucketStartMs: Number(r.bucket) * 1000, counters: fromColumns(r) }));
}

/** Bucket starts in [fromMs, toMs); bucket starts are whole seconds, so rounding the bounds up keeps the range exact.
 * */
function rangeFilter({ fromMs, toMs }: { fromMs: number; toMs: number }): string[] {
  const fromS = Math.max(0, Math.ceil(fromMs / 1000));
  const toS = Math.max(0, Math.ceil(toMs / 1000));
  return [`bucket >= ${dateTimeFromEpochS(fromS)}`, `bucket < ${dateTimeFromEpochS(toS)}`];
}

/** ClassFilter as conditions on the aggregate key (migrations/0007_traffic_hourly_by_class.sql). */
function classFilter(q: ClassFilter): string[] {
  const where: string[] = [];
  if (q.protocol !== undefined) where.push(`protocol = ${quoteString(q.protocol)}`);
  if (q.grpcStatus !== undefined) where.push(`grpc_slot = ${grpcSlotOf(q.grpcStatus)}`);
  return where;
}
