import { newestPerKey } from '../../collector/clickhouse/traffic-sql.ts';
import { LATENCY_BUCKETS_S } from '../../shared/latency-buckets.ts';

/*
 * SQL for the tenant traffic dashboard over tollgate.traffic_hourly and
 * tollgate.traffic_daily (migrations/0002, 0003; read rules in
 * migrations/README.md). It must run on ClickHouse 18.16 and current
 * ClickHouse: no toStartOfInterval (so no $__timeInterval macro), no
 * DateTime64 (so no *_ms macros), and no lambda in a SELECT level that has a
 * WHERE (18.16 then loses the captured column), which is why the quantiles
 * are computed one level above the filtering.
 *
 * Output aliases are capitalised or back-quoted so they never shadow a column
 * at the level that sums it.
 */

/** `granularity` is a dashboard variable: hourly or daily. */
export const TRAFFIC_TABLE = 'tollgate.traffic_${granularity}';

/**
 * Buckets start on the UTC hour (or day), so the range start is rounded down
 * to the bucket that contains it; otherwise the first, partial bucket would vanish.
 */
const RANGE_AND_SELECTION = [
  `bucket >= if('\${granularity}' = 'daily', toStartOfDay($__fromTime, 'UTC'), toStartOfHour($__fromTime, 'UTC'))`,
  'bucket <= $__toTime',
  '$__conditionalAll(app_id IN (${app:singlequote}), $app)',
  '$__conditionalAll(service IN (${service:singlequote}), $service)',
];

const indent = (text: string, by: string) => text.replaceAll('\n', `\n${by}`);

/** The newest row of every (bucket, app, service, source) key in the range: the rule the reports API reads by too. */
function newestRows(columns: string[]): string {
  return newestPerKey(TRAFFIC_TABLE, columns, RANGE_AND_SELECTION);
}

/** Anonymous requests (no app yet) carry an empty app_id. */
const APP = "if(app_id = '', '(anonymous)', app_id)";

/** Per-app time series show the apps with the most requests in the range, so "All" stays readable. */
export const TOP_APPS = 10;

const TOP_APPS_FILTER = `app_id IN (
  SELECT app_id
  FROM (
    ${indent(newestRows(['requests']), '    ')}
  )
  GROUP BY app_id
  ORDER BY sum(requests) DESC
  LIMIT ${TOP_APPS}
)`;

/** One series per app (label `App`) of a sum over the newest rows. */
export function perAppSeriesSql(column: string, name: string): string {
  return `SELECT bucket AS time, ${APP} AS \`App\`, sum(${column}) AS \`${name}\`
FROM (
  ${indent(newestRows([column]), '  ')}
)
WHERE ${indent(TOP_APPS_FILTER, '  ')}
GROUP BY time, \`App\`
ORDER BY time`;
}

/** Several column sums over all selected apps and services, one series each. */
export function totalsSeriesSql(columns: Record<string, string>): string {
  const sums = Object.entries(columns)
    .map(([name, column]) => `sum(${column}) AS \`${name}\``)
    .join(', ');
  return `SELECT bucket AS time, ${sums}
FROM (
  ${indent(newestRows(Object.values(columns)), '  ')}
)
GROUP BY time
ORDER BY time`;
}

/**
 * Quantile q, in milliseconds, of a merged latency histogram `hist` (counts per
 * bucket of LATENCY_BUCKETS_S plus one +Inf slot), interpolated linearly inside
 * the bucket the rank falls in as Prometheus' histogram_quantile does (the
 * first bucket starts at 0; a rank in +Inf answers the highest finite bound),
 * so panels agree with the gateway's metric and the reports API. NULL when the
 * histogram is empty, which Grafana draws as a gap.
 */
export function latencyQuantileMsSql(q: number, hist: string): string {
  // Aliases are suffixed per quantile so several quantiles fit in one SELECT without redefining an alias.
  const n = `p${Math.round(q * 100)}`;
  const lower = `([0, ${LATENCY_BUCKETS_S.join(', ')}] AS lower_s_${n})`;
  const highest = LATENCY_BUCKETS_S[LATENCY_BUCKETS_S.length - 1];
  const upper = `([${LATENCY_BUCKETS_S.join(', ')}, ${highest}] AS upper_s_${n})`;
  const rank = `${q} * arraySum(${hist})`;
  const i = `(arrayFirstIndex(x -> x >= ${rank}, (arrayCumSum(${hist}) AS cum_${n})) AS i_${n})`;
  // Index 0 reads as 0 in ClickHouse: the cumulative count below the first bucket.
  const within = `(${rank} - cum_${n}[i_${n} - 1]) / ${hist}[i_${n}]`;
  const seconds = `${lower}[${i}] + (${upper}[i_${n}] - lower_s_${n}[i_${n}]) * ${within}`;
  return `if(arraySum(${hist}) = 0, NULL, round(1000 * (${seconds}), 3))`;
}

/** Per-app series of a latency quantile, from the histograms merged per bucket and app. */
export function perAppLatencySql(q: number): string {
  return `SELECT time, \`App\`, ${latencyQuantileMsSql(q, 'hist')} AS \`p${Math.round(q * 100)} ms\`
FROM (
  SELECT bucket AS time, ${APP} AS \`App\`, sumForEach(latency_buckets) AS hist
  FROM (
    ${indent(newestRows(['latency_buckets']), '    ')}
  )
  WHERE ${indent(TOP_APPS_FILTER, '    ')}
  GROUP BY time, \`App\`
)
ORDER BY time`;
}

const TABLE_COLUMNS = [
  'requests',
  'billable',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'bytes_in',
  'bytes_out',
  'messages_in',
  'messages_out',
  'latency_buckets',
];

/** The apps with the most requests in the range, with their status mix, bytes, messages and latency. */
export function topAppsSql(limit: number): string {
  return `SELECT
  \`App\`, \`Requests\`, \`Billable\`, \`2xx\`, \`3xx\`, \`4xx\`, \`5xx\`,
  if(\`Requests\` = 0, 0, \`5xx\` / \`Requests\`) AS \`5xx ratio\`,
  \`Bytes in\`, \`Bytes out\`, \`Messages in\`, \`Messages out\`,
  ${latencyQuantileMsSql(0.5, 'hist')} AS \`p50 ms\`,
  ${latencyQuantileMsSql(0.95, 'hist')} AS \`p95 ms\`,
  ${latencyQuantileMsSql(0.99, 'hist')} AS \`p99 ms\`
FROM (
  SELECT ${APP} AS \`App\`,
    sum(requests) AS \`Requests\`, sum(billable) AS \`Billable\`,
    sum(status_2xx) AS \`2xx\`, sum(status_3xx) AS \`3xx\`, sum(status_4xx) AS \`4xx\`, sum(status_5xx) AS \`5xx\`,
    sum(bytes_in) AS \`Bytes in\`, sum(bytes_out) AS \`Bytes out\`,
    sum(messages_in) AS \`Messages in\`, sum(messages_out) AS \`Messages out\`,
    sumForEach(latency_buckets) AS hist
  FROM (
    ${indent(newestRows(TABLE_COLUMNS), '    ')}
  )
  GROUP BY \`App\`
)
ORDER BY \`Requests\` DESC
LIMIT ${limit}`;
}

/** Values of a column seen in the range, for a template variable (daily table: fewer rows, same values). */
export function distinctValuesSql(column: string): string {
  return (
    `SELECT DISTINCT ${column} FROM tollgate.traffic_daily ` +
    `WHERE bucket >= toStartOfDay($__fromTime, 'UTC') AND bucket <= $__toTime AND ${column} != '' ORDER BY ${column}`
  );
}
