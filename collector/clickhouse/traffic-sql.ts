/**
 * The one rule for reading the traffic aggregate tables (traffic_hourly,
 * traffic_daily; migrations/README.md). The reports API, the collector's
 * restart and the Grafana dashboards all read through newestPerKey, so they
 * count the same rows; dashboards/tenant-traffic.test.ts checks that the
 * panels and the reports API give the same numbers.
 */

/** A key's rows are cumulative, versioned by source_offset; protocol and grpc_slot are its TrafficClass. */
export const AGGREGATE_KEY = ['bucket', 'app_id', 'service', 'source', 'protocol', 'grpc_slot'] as const;

/** The aggregate table of a report granularity. */
export function trafficTable(granularity: 'hour' | 'day'): string {
  return granularity === 'hour' ? 'traffic_hourly' : 'traffic_daily';
}

/**
 * The newest row of every (bucket, app, service, source, class) key matching
 * `where`: it counts every event of the key once, whether older versions
 * and duplicate inserts are merged away or not. Callers sum keys afterwards.
 *
 * LIMIT 1 BY after ORDER BY picks the row argMax(…, source_offset) would, at
 * about half the time on 18.16 (argMax keeps a state per column, arrays
 * included): a 30-day hourly report for one app in
 * test/bench/analytics/report.bench.ts.
 */
export function newestPerKey(table: string, columns: readonly string[], where: readonly string[]): string {
  const key = AGGREGATE_KEY.join(', ');
  return `SELECT ${key}, ${columns.join(', ')}
FROM ${table}
WHERE ${where.join('\n  AND ')}
ORDER BY ${key}, source_offset DESC
LIMIT 1 BY ${key}`;
}
