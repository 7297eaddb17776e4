/**
 * Tables of the single-node aggregate store (SQLite via node:sqlite). The
 * aggregate columns mirror ClickHouse's traffic_hourly / traffic_daily
 * (migrations/README.md); the arrays are JSON text, slot by slot like
 * TrafficCounters. Created idempotently at every open.
 */
export const TRAFFIC_TABLES = { hour: 'traffic_hourly', day: 'traffic_daily' } as const;

/** A traffic table as it is today (created when missing) and its indexes. */
export function trafficTable(name: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${name} (
  app_id TEXT NOT NULL,
  service TEXT NOT NULL,
  bucket_ms INTEGER NOT NULL,
  protocol TEXT NOT NULL,
  grpc_slot INTEGER NOT NULL,
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
  protocols TEXT NOT NULL DEFAULT '[]',
  grpc_statuses TEXT NOT NULL DEFAULT '[]',
  messages_in INTEGER NOT NULL DEFAULT 0,
  messages_out INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (app_id, service, bucket_ms, protocol, grpc_slot)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${name}_app_bucket ON ${name} (app_id, bucket_ms);
CREATE INDEX IF NOT EXISTS ${name}_bucket ON ${name} (bucket_ms);`;
}

/**
 * Columns added since a store file may have been created, with their definitions: the store adds each one a
 * table lacks at open (SQLite has no ADD COLUMN IF NOT EXISTS). An empty array reads as "every request HTTP/1.1,
 * no gRPC call", which is what a store written before them counted.
 */
export const ADDED_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['protocols', "TEXT NOT NULL DEFAULT '[]'"],
  ['grpc_statuses', "TEXT NOT NULL DEFAULT '[]'"],
  ['messages_in', 'INTEGER NOT NULL DEFAULT 0'],
  ['messages_out', 'INTEGER NOT NULL DEFAULT 0'],
];

/**
 * Rebuilds a traffic table made before rows were split by TrafficClass, whose primary key lacks it (SQLite cannot
 * change a key in place): its rows are kept with protocol '' and grpc_slot 0, "counted before the split". Run in
 * a transaction, the table's old columns all present (ADDED_COLUMNS applied first).
 */
export function splitByClassSql(name: string): string {
  const columns = `app_id, service, bucket_ms, requests, status_2xx, status_3xx, status_4xx, status_5xx, billable,
  bytes_in, bytes_out, rejections, latency, protocols, grpc_statuses`;
  return `
ALTER TABLE ${name} RENAME TO ${name}_before_classes;
DROP INDEX IF EXISTS ${name}_app_bucket;
DROP INDEX IF EXISTS ${name}_bucket;
${trafficTable(name)}
INSERT INTO ${name} (${columns}, protocol, grpc_slot) SELECT ${columns}, '', 0 FROM ${name}_before_classes;
DROP TABLE ${name}_before_classes;`;
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
);
-- Per hour, app and service, the slowest traced request below 500 and at 500 or above (aggregate/trace-examples.ts).
CREATE TABLE IF NOT EXISTS trace_examples (
  app_id TEXT NOT NULL,
  service TEXT NOT NULL,
  bucket_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  route TEXT NOT NULL,
  status INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  total_us INTEGER NOT NULL,
  PRIMARY KEY (app_id, service, bucket_ms, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS trace_examples_bucket ON trace_examples (bucket_ms);`;

/** Keeps the slower of the stored example and the new one. */
export const UPSERT_TRACE_EXAMPLE_SQL = `
INSERT INTO trace_examples (app_id, service, bucket_ms, kind, trace_id, route, status, start_ms, total_us)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app_id, service, bucket_ms, kind) DO UPDATE SET
  trace_id = excluded.trace_id, route = excluded.route, status = excluded.status, start_ms = excluded.start_ms,
  total_us = excluded.total_us
WHERE excluded.total_us > trace_examples.total_us`;

/** Adds counters on conflict; add_arrays is registered by the store (element-wise sum of JSON arrays). */
export function upsertTrafficSql(table: string): string {
  return `
INSERT INTO ${table} (app_id, service, bucket_ms, protocol, grpc_slot, requests, status_2xx, status_3xx, status_4xx,
  status_5xx, billable, bytes_in, bytes_out, rejections, latency, protocols, grpc_statuses, messages_in, messages_out)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app_id, service, bucket_ms, protocol, grpc_slot) DO UPDATE SET
  requests = requests + excluded.requests,
  status_2xx = status_2xx + excluded.status_2xx,
  status_3xx = status_3xx + excluded.status_3xx,
  status_4xx = status_4xx + excluded.status_4xx,
  status_5xx = status_5xx + excluded.status_5xx,
  billable = billable + excluded.billable,
  bytes_in = bytes_in + excluded.bytes_in,
  bytes_out = bytes_out + excluded.bytes_out,
  rejections = add_arrays(rejections, excluded.rejections),
  latency = add_arrays(latency, excluded.latency),
  protocols = add_arrays(protocols, excluded.protocols),
  grpc_statuses = add_arrays(grpc_statuses, excluded.grpc_statuses),
  messages_in = messages_in + excluded.messages_in,
  messages_out = messages_out + excluded.messages_out`;
}
