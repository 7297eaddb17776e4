/**
 * Tables of the single-node aggregate store (SQLite via node:sqlite). The
 * aggregate columns mirror ClickHouse's traffic_hourly / traffic_daily
 * (migrations/README.md); the arrays are JSON text, slot by slot like
 * TrafficCounters. Created idempotently at every open.
 */
export const TRAFFIC_TABLES = { hour: 'traffic_hourly', day: 'traffic_daily' } as const;

function trafficTable(name: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${name} (
  app_id TEXT NOT NULL,
  service TEXT NOT NULL,
  bucket_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  status_2xx INTEGER NOT NULL,
  status_3xx INTEGER NOT NULL,
  status_4xx INTEGER NOT NULL,
  status_5xx INTEGER NOT NULL,
  billable INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  rejections TEXT NOT NULL,
  latency TEXT NOT NULL,
  PRIMARY KEY (app_id, service, bucket_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${name}_app_bucket ON ${name} (app_id, bucket_ms);
CREATE INDEX IF NOT EXISTS ${name}_bucket ON ${name} (bucket_ms);`;
}

export const SCHEMA_SQL = `
${trafficTable(TRAFFIC_TABLES.hour)}
${trafficTable(TRAFFIC_TABLES.day)}
-- Where each segment log is consumed up to: the reader position after the last
-- record whose counts are in the tables above, written in the same transaction.
CREATE TABLE IF NOT EXISTS consumer_offsets (
  source TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  position INTEGER NOT NULL,
  reason TEXT NOT NULL,
  raw BLOB NOT NULL,
  raw_bytes INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  UNIQUE (source, position)
);`;

/** Adds counters on conflict; add_arrays is registered by the store (element-wise sum of JSON arrays). */
export function upsertTrafficSql(table: string): string {
  return `
INSERT INTO ${table} (app_id, service, bucket_ms, requests, status_2xx, status_3xx, status_4xx, status_5xx,
  billable, bytes_in, bytes_out, rejections, latency)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app_id, service, bucket_ms) DO UPDATE SET
  requests = requests + excluded.requests,
  status_2xx = status_2xx + excluded.status_2xx,
  status_3xx = status_3xx + excluded.status_3xx,
  status_4xx = status_4xx + excluded.status_4xx,
  status_5xx = status_5xx + excluded.status_5xx,
  billable = billable + excluded.billable,
  bytes_in = bytes_in + excluded.bytes_in,
  bytes_out = bytes_out + excluded.bytes_out,
  rejections = add_arrays(rejections, excluded.rejections),
  latency = add_arrays(latency, excluded.latency)`;
}
