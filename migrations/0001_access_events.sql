-- Raw access events: one row per event the collector counted (migrations/README.md).
-- ReplacingMergeTree on the sorting key, which ends in event_id: a retried
-- insert of the same events collapses when parts merge, and readers that need
-- exact numbers before that read with FINAL (traffic-report.ts, replay).
-- source/source_offset say where in the ordered log the event was counted,
-- so a replay rebuilds aggregate rows identical to the collector's.
-- Partitioned by day: retention drops whole days, by TTL where the server
-- has it (19.6+) and by ALTER TABLE DROP PARTITION on 18.16 (retention.ts).
CREATE TABLE IF NOT EXISTS access_events
(
    event_id String,
    ts DateTime,
    ts_ms UInt16,
    node String,
    app_id String,
    service String,
    route String,
    method String,
    status UInt16,
    upstream_status UInt16,
    total_us UInt32,
    upstream_us UInt32,
    gateway_us UInt32,
    bytes_in UInt64,
    bytes_out UInt64,
    client_ip String,
    target String,
    error_class String,
    trace_id String,
    source String,
    source_offset UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(ts)
ORDER BY (app_id, service, ts, event_id)
-- if supports_ttl: TTL ts + toIntervalDay({{retention_days}})
;
