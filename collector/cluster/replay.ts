/**
 * `tollgate-collector replay --from TIME`: rebuilds traffic_hourly and
 * traffic_daily from access_events for every bucket at or after the start of
 * TIME's UTC day, counting each source's deduplicated raw events in offset
 * order through the live collector's own SourceTotals. Why the rows carry the
 * version they do: migrations/README.md, "Replay". Run it with the cluster
 * collectors stopped; they hold running totals in memory.
 */
import type { AccessEvent, ErrorClass, Protocol } from '../../shared/access-event.ts';
import type { ClickHouseClient } from '../clickhouse/http-client.ts';
import { dateTimeFromEpochS, identifier, quoteString } from '../clickhouse/sql.ts';
import { DAY_S, SourceTotals } from './source-totals.ts';
import type { AggregateRow } from './source-totals.ts';

export interface ReplayOptions {
  /** Any instant of the first day to rebuild, epoch ms; the whole UTC day is rebuilt. */
  fromMs: number;
  database: string;
  /** Raw events read and aggregate rows written per request (default 10000). */
  batchSize?: number;
  /** How long to wait for the DELETE of the superseded rows (default 300000). */
  mutationTimeoutMs?: number;
}

export interface ReplayResult {
  fromS: number;
  events: number;
  sources: number;
  hourlyRows: number;
  dailyRows: number;
}

const TABLES = ['traffic_hourly', 'traffic_daily'] as const;

export async function replay(client: ClickHouseClient, options: ReplayOptions): Promise<ReplayResult> {
  const db = client.withDatabase(identifier(options.database));
  const batchSize = options.batchSize ?? 10_000;
  const fromS = Math.floor(options.fromMs / 1000 / DAY_S) * DAY_S;
  const sources = await db.query<{ source: string }>(
    `SELECT DISTINCT source FROM access_events WHERE ts >= ${dateTimeFromEpochS(fromS)} ORDER BY source`,
  );

  // Everything is computed before anything is deleted: a failed read leaves the tables as they were.
  const hourly: AggregateRow[] = [];
  const daily: AggregateRow[] = [];
  let events = 0;
  for (const { source } of sources) {
    const counted = await countSource(db, source, fromS, batchSize);
    events += counted.events;
    for (const row of counted.rows.hourly) hourly.push({ ...row, source_offset: counted.lastOffset });
    for (const row of counted.rows.daily) daily.push({ ...row, source_offset: counted.lastOffset });
  }

  // A mutation applies only to parts that exist when it is submitted, so the
  // rows inserted right after it survive it while every older row of the range goes.
  for (const table of TABLES) await db.exec(`ALTER TABLE ${table} DELETE WHERE bucket >= ${dateTimeFromEpochS(fromS)}`);
  for (const [table, rows] of [
    ['traffic_hourly', hourly],
    ['traffic_daily', daily],
  ] as const) {
    for (let i = 0; i < rows.length; i += batchSize)
      await db.insert(table, rows.slice(i, i + batchSize) as unknown as Record<string, unknown>[]);
  }
  await waitForMutations(db, options.database, options.mutationTimeoutMs ?? 300_000);
  return { fromS, events, sources: sources.length, hourlyRows: hourly.length, dailyRows: daily.length };
}

/** Counts one source's raw events from fromS on, in offset order, as the live collector did. */
async function countSource(db: ClickHouseClient, source: string, fromS: number, batchSize: number) {
  // No lateness and no dedup window: SourceTotals was never loaded, so every
  // bucket is open, and FINAL already dropped repeated event_ids. dedupOffsets
  // 0 also keeps its seen-set at one entry however long the replay.
  const totals = new SourceTotals(source, { latenessMs: Number.POSITIVE_INFINITY, dedupOffsets: 0 });
  let lastOffset = -1;
  let events = 0;
  for (;;) {
    const page = await db.query<
      Record<string, unknown>
    >(`SELECT event_id, toUInt32(ts) AS ts_s, ts_ms, node, app_id, service, route, method,
    status, upstream_status, total_us, upstream_us, gateway_us, bytes_in, bytes_out, client_ip, target, error_class,
    trace_id, protocol, tls_version, grpc_status, grpc_method, messages_in, messages_out, close_code, close_reason,
    interim, source_offset
FROM access_events FINAL
WHERE source = ${quoteString(source)} AND ts >= ${dateTimeFromEpochS(fromS)} AND source_offset > ${lastOffset}
ORDER BY source_offset
LIMIT ${batchSize}`);
    for (const row of page) {
      lastOffset = Number(row.source_offset);
      totals.count(eventOf(row), lastOffset, Date.now());
      events++;
    }
    if (page.length < batchSize) break;
  }
  return { rows: totals.dirtyRows(), lastOffset, events };
}

/** The inverse of the collector's rawRow(). */
function eventOf(row: Record<string, unknown>): AccessEvent {
  return {
    id: String(row.event_id),
    startMs: Number(row.ts_s) * 1000 + Number(row.ts_ms),
    node: String(row.node),
    appId: String(row.app_id),
    service: String(row.service),
    route: String(row.route),
    method: String(row.method),
    status: Number(row.status),
    upstreamStatus: Number(row.upstream_status),
    totalUs: Number(row.total_us),
    upstreamUs: Number(row.upstream_us),
    gatewayUs: Number(row.gateway_us),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    clientIp: String(row.client_ip),
    target: String(row.target),
    errorClass: String(row.error_class) as ErrorClass,
    traceId: String(row.trace_id),
    protocol: String(row.protocol) as Protocol,
    tlsVersion: String(row.tls_version),
    grpcStatus: Number(row.grpc_status),
    grpcMethod: String(row.grpc_method),
    messagesIn: Number(row.messages_in),
    messagesOut: Number(row.messages_out),
    closeCode: Number(row.close_code),
    closeReason: String(row.close_reason),
    interim: Number(row.interim) === 1,
  };
}

async function waitForMutations(db: ClickHouseClient, database: string, timeoutMs: number): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    const [{ pending }] = await db.query<{ pending: number }>(`SELECT count() AS pending FROM system.mutations
WHERE database = ${quoteString(database)} AND table IN ('traffic_hourly', 'traffic_daily') AND is_done = 0`);
    if (Number(pending) === 0) return;
    if (Date.now() > deadlineMs)
      throw new Error(
        `replay: the DELETE of superseded aggregate rows is still running after ${timeoutMs} ms (see system.mutations)`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `replay --from TIME` from argv and TOLLGATE_CLICKHOUSE_* settings; returns the exit code. */
export async function replayCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  client: (url: string) => ClickHouseClient,
): Promise<number> {
  const fromMs = parseFromArg(args);
  if (typeof fromMs === 'string') {
    console.error(`tollgate-collector replay: ${fromMs}`);
    return 2;
  }
  const database = env.TOLLGATE_CLICKHOUSE_DATABASE || 'tollgate';
  const result = await replay(client(env.TOLLGATE_CLICKHOUSE_URL || 'http://127.0.0.1:8123'), { fromMs, database });
  console.log(
    `tollgate-collector replay: rebuilt ${result.hourlyRows} hourly and ${result.dailyRows} daily rows from ` +
      `${result.events} events of ${result.sources} sources since ${new Date(result.fromS * 1000).toISOString()}`,
  );
  return 0;
}

/** Epoch ms of `--from TIME` (ISO 8601 with a date), or the error to print. */
export function parseFromArg(args: readonly string[]): number | string {
  const usage = 'usage: tollgate-collector replay --from TIME (ISO 8601, e.g. 2026-11-20 or 2026-11-20T13:00:00Z)';
  const at = args.indexOf('--from');
  const text = at >= 0 ? args[at + 1] : args.find((a) => a.startsWith('--from='))?.slice('--from='.length);
  if (text === undefined || text === '') return `--from is required; ${usage}`;
  // Date.parse alone accepts "1" or "March 3"; require an ISO date first.
  const iso = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  // A time without a zone is UTC, as a bare date is, never the host's zone.
  const ms = iso ? Date.parse(iso[1] && !iso[2] ? `${text}Z` : text) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) return `--from ${JSON.stringify(text)} is not an ISO 8601 time; ${usage}`;
  return ms;
}
