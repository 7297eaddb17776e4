// Analytics issue: "A 30-day hourly traffic report for one app over at least
// 10 million stored events answers in under 100 ms."
//
// Data (built once, kept in the bench-only database tollgate_bench_reports and
// reused while its completeness check passes): BENCH_REPORT_EVENTS (10,000,000)
// raw events over 30 days, 5 apps (skewed), 4 services, 4 sources (partitions),
// generated inside ClickHouse with INSERT … SELECT FROM numbers(); the hour and
// day aggregate rows are then built from them in SQL exactly as a replay
// writes them (per (bucket, app, service, source) the totals of every event,
// versioned by the source's last offset; migrations/README.md, Replay) —
// replay.ts itself pages every event through Node, minutes per million here.
// The build checks the aggregate report equals the raw-event report for the
// app measured, as the collector suites check the collector's rows.
//
// Timed: GET /reports/traffic?app=…&granularity=hour over the 30 days on a
// real gateway's admin listener (reports.clickhouse_url set), i.e. routes →
// ClickHouseReportSource → ClickHouse. 3 warm-up calls, then BENCH_REPORT_CALLS
// (20); median and p95. The same report from the raw events (rawReport) is
// timed beside it as the competitor the aggregates exist to beat.
import { ERROR_CLASSES } from '../../../shared/access-event.ts';
import { LATENCY_BUCKETS_S } from '../../../shared/latency-buckets.ts';
import { createClickHouseClient, type ClickHouseClient } from '../../../collector/clickhouse/http-client.ts';
import { migrate } from '../../../collector/clickhouse/migrate.ts';
import {
  aggregateReport,
  appTraffic,
  rawReport,
  totalRequests,
} from '../../../collector/clickhouse/test-clickhouse.ts';
import { startGateway } from '../../helpers/gateway.ts';
import { clickhouseUrl, median, passMiss, percentile, skipWithout } from './services.ts';

const DATABASE = 'tollgate_bench_reports';
const TARGET_MS = 100;
const DAY_S = 86_400;
const APPS = [
  'app_acme',
  'app_acme',
  'app_acme',
  'app_globex',
  'app_globex',
  'app_initech',
  'app_umbrella',
  'app_hooli',
];
const SERVICES = ['orders', 'payments', 'catalog-search', 'user-profile'];
const SOURCES = 4;
const MEASURED_APP = 'app_acme';

interface Dataset {
  events: number;
  fromS: number;
  toS: number;
}

export interface ReportBenchResult extends Dataset {
  built: boolean;
  buildS: number;
  appEvents: number;
  rows: number;
  calls: number;
  medianMs: number;
  p95Ms: number;
  rawMedianMs: number;
  pass: boolean;
}

const sqlList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`;

/** Raw events number [first, first + count) of `total`, spread evenly over [fromS, fromS + 30 days). */
function rawEventsSql(first: number, count: number, total: number, fromS: number): string {
  const spanS = 30 * DAY_S;
  // h drives every field; r (0..99) picks the outcome: 85% 2xx, then 404s, rate limits, 401s, 503s and timeouts.
  return `INSERT INTO access_events (event_id, ts, ts_ms, node, app_id, service, route, method, status,
    upstream_status, total_us, upstream_us, gateway_us, bytes_in, bytes_out, client_ip, target, error_class, trace_id,
    source, source_offset)
SELECT toString(generateUUIDv4()), toDateTime(${fromS} + intDiv(n * ${spanS}, ${total})), n % 1000,
    concat('gw-', toString(h % 4)), arrayElement(${sqlList(APPS)}, h % ${APPS.length} + 1),
    arrayElement(${sqlList(SERVICES)}, intDiv(h, 8) % ${SERVICES.length} + 1), '/v1/items', 'GET',
    multiIf(r < 85, 200, r < 90, 404, r < 95, 429, r < 97, 401, r < 99, 503, 504),
    multiIf(r < 85, 200, r < 90, 404, r < 97, 0, r < 99, 503, 0),
    gw + up, up, gw, intDiv(h, 977) % 2000, 100 + intDiv(h, 7919) % 60000,
    concat('10.0.', toString(intDiv(h, 13) % 256), '.', toString(intDiv(h, 17) % 256)), 'http://10.0.0.7:8080',
    multiIf(r < 90, 'none', r < 95, 'rate_limited', r < 97, 'unauthorized', r < 99, 'none', 'upstream_timeout'), '',
    concat('kafka:tollgate.access-events:', toString(n % ${SOURCES})), intDiv(n, ${SOURCES})
FROM (SELECT number + ${first} AS n, intHash64(number + ${first}) AS h, intDiv(h, 64) % 100 AS r,
    80 + h % 900 AS gw,
    if(r >= 90 AND r < 97, 0, if(r >= 99, 30000000, 800 + (intDiv(h, 3) % 1000) * (intDiv(h, 5) % 250))) AS up
    FROM numbers(${count}))`;
}

/** The rows replay() would write for the table: every key's totals, versioned by its source's last offset. */
function aggregateSql(table: 'traffic_hourly' | 'traffic_daily', lastOffsets: Map<string, number>): string {
  const step = table === 'traffic_hourly' ? 3600 : DAY_S;
  const boundsUs = LATENCY_BUCKETS_S.map((s) => Math.round(s * 1e6));
  const slot = `multiIf(${boundsUs.map((b, k) => `total_us <= ${b}, ${k + 1}`).join(', ')}, ${boundsUs.length + 1})`;
  const latency = [...boundsUs, Infinity].map((_, k) => `countIf(${slot} = ${k + 1})`);
  // Slot 0 ('none') stays 0, as in collector/aggregate/traffic.ts.
  const rejections = ERROR_CLASSES.map((c, i) => (i === 0 ? 'toUInt64(0)' : `countIf(error_class = '${c}')`));
  const sources = [...lastOffsets.keys()];
  return `INSERT INTO ${table} (bucket, app_id, service, source, source_offset, requests,
    status_2xx, status_3xx, status_4xx, status_5xx, billable, rejections, bytes_in, bytes_out, latency_buckets)
SELECT toDateTime(intDiv(toUInt32(ts), ${step}) * ${step}) AS bucket, app_id, service, source,
    transform(source, ${sqlList(sources)}, [${sources.map((s) => lastOffsets.get(s)).join(', ')}], toUInt64(0)),
    count(), countIf(status >= 200 AND status < 300), countIf(status >= 300 AND status < 400),
    countIf(status >= 400 AND status < 500), countIf(status >= 500 AND status < 600),
    countIf(error_class = 'none' AND upstream_status != 0 AND status < 500),
    [${rejections.join(', ')}], sum(bytes_in), sum(bytes_out), [${latency.join(', ')}]
FROM access_events
GROUP BY bucket, app_id, service, source`;
}

/** The stored dataset when every part of it is there, else undefined. */
async function completeDataset(db: ClickHouseClient, wantEvents: number): Promise<Dataset | undefined> {
  try {
    const [meta] = await db.query<{ events: number; from_s: number; to_s: number }>(
      'SELECT events, from_s, to_s FROM bench_dataset LIMIT 1',
    );
    if (!meta || Number(meta.events) < wantEvents) return undefined;
    const [{ n }] = await db.query<{ n: number }>('SELECT count() AS n FROM access_events');
    const events = Number(meta.events);
    if (
      Number(n) !== events ||
      (await totalRequests(db, 'traffic_hourly')) !== events ||
      (await totalRequests(db, 'traffic_daily')) !== events
    )
      return undefined;
    return { events, fromS: Number(meta.from_s), toS: Number(meta.to_s) };
  } catch {
    return undefined;
  }
}

async function build(
  server: ClickHouseClient,
  db: ClickHouseClient,
  events: number,
  log: (s: string) => void,
): Promise<Dataset> {
  await server.exec(`DROP DATABASE IF EXISTS ${DATABASE}`);
  await migrate({ client: server, database: DATABASE, retentionDays: 3650 });
  const fromS = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S - 30 * DAY_S;
  const chunk = 1_000_000;
  for (let first = 0; first < events; first += chunk) {
    await db.exec(rawEventsSql(first, Math.min(chunk, events - first), events, fromS));
    log(`raw events ${Math.min(first + chunk, events)} / ${events}`);
  }
  const lastOffsets = new Map<string, number>();
  for (const r of await db.query<{ source: string; last: number }>(
    'SELECT source, max(source_offset) AS last FROM access_events GROUP BY source ORDER BY source',
  )) {
    lastOffsets.set(r.source, Number(r.last));
  }
  for (const table of ['traffic_hourly', 'traffic_daily'] as const) {
    await db.exec(aggregateSql(table, lastOffsets));
    log(`${table} built`);
  }
  await db.exec('OPTIMIZE TABLE traffic_hourly FINAL').catch(() => {});
  const dataset = { events, fromS, toS: fromS + 30 * DAY_S };
  const query = appTraffic(MEASURED_APP, 'hour', dataset.fromS, dataset.toS);
  const [aggregate, raw] = [await aggregateReport(db, query), await rawReport(db, query)];
  if (JSON.stringify(aggregate) !== JSON.stringify(raw))
    throw new Error('the built aggregates do not give the raw-event report; not saving the dataset');
  log('aggregate report = raw-event report (checked)');
  await db.exec('CREATE TABLE bench_dataset (events UInt64, from_s UInt32, to_s UInt32) ENGINE = TinyLog');
  await db.exec(`INSERT INTO bench_dataset VALUES (${events}, ${dataset.fromS}, ${dataset.toS})`);
  return dataset;
}

export async function reportBench(): Promise<ReportBenchResult | undefined> {
  const name = 'report latency';
  if (await skipWithout(name, ['clickhouse'])) return undefined;
  const wantEvents = Number(process.env.BENCH_REPORT_EVENTS ?? 10_000_000);
  const calls = Number(process.env.BENCH_REPORT_CALLS ?? 20);
  const server = createClickHouseClient({ url: clickhouseUrl, timeoutMs: 600_000 });
  const db = server.withDatabase(DATABASE);
  const log = (s: string) => console.log(`  ${name}: ${s}`);
  const buildStart = performance.now();
  let dataset = await completeDataset(db, wantEvents);
  const built = dataset === undefined;
  if (dataset === undefined) {
    log(`building ${wantEvents} events in ${DATABASE} (once; reused by later runs)`);
    dataset = await build(server, db, wantEvents, log);
  } else log(`reusing ${dataset.events} events in ${DATABASE}`);
  const buildS = (performance.now() - buildStart) / 1000;
  const [{ n: appEvents }] = await db.query<{ n: number }>(
    `SELECT count() AS n FROM access_events WHERE app_id = '${MEASURED_APP}'`,
  );

  const gateway = await startGateway({
    services: [],
    events: { sink: 'none' },
    reports: { clickhouse_url: clickhouseUrl, clickhouse_database: DATABASE },
  });
  try {
    const from = new Date(dataset.fromS * 1000).toISOString();
    const to = new Date(dataset.toS * 1000).toISOString();
    const url = `${gateway.adminUrl}/reports/traffic?app=${MEASURED_APP}&granularity=hour&from=${from}&to=${to}`;
    let rows = 0;
    const call = async () => {
      const started = performance.now();
      const res = await fetch(url);
      const body = (await res.json()) as { rows?: unknown[] };
      if (res.status !== 200 || !body.rows)
        throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      rows = body.rows.length;
      return performance.now() - started;
    };
    for (let i = 0; i < 3; i++) await call();
    const times: number[] = [];
    for (let i = 0; i < calls; i++) times.push(await call());
    const rawTimes: number[] = [];
    const rawQuery = appTraffic(MEASURED_APP, 'hour', dataset.fromS, dataset.toS);
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await rawReport(db, rawQuery);
      rawTimes.push(performance.now() - started);
    }
    const medianMs = median(times);
    return {
      ...dataset,
      built,
      buildS,
      appEvents: Number(appEvents),
      rows,
      calls,
      medianMs,
      p95Ms: percentile(times, 95),
      rawMedianMs: median(rawTimes),
      pass: medianMs < TARGET_MS,
    };
  } finally {
    await gateway.close();
  }
}

export function printReport(r: ReportBenchResult): void {
  console.log(
    `\nReport latency: 30-day hourly traffic report for one app (${r.appEvents} of ${r.events} stored events), ` +
      `GET /reports/traffic on the admin listener → ClickHouse`,
  );
  console.log(
    `  dataset                         ${r.built ? `built in ${r.buildS.toFixed(0)} s` : 'reused'} (${DATABASE})`,
  );
  console.log(`  rows answered                   ${r.rows} hours`);
  console.log(
    `  ${r.calls} calls after 3 warm-up     median ${r.medianMs.toFixed(1)} ms, p95 ${r.p95Ms.toFixed(1)} ms`,
  );
  console.log(
    `  same report from raw events     median ${r.rawMedianMs.toFixed(0)} ms ` +
      `of 3 (ClickHouse query alone; ${(r.rawMedianMs / r.medianMs).toFixed(0)}x)`,
  );
  console.log(
    `  under ${TARGET_MS} ms (median): ${passMiss(r.pass)}; ` +
      `p95 under ${TARGET_MS} ms: ${passMiss(r.p95Ms < TARGET_MS)}`,
  );
}
