-- Per (hour, app, service, source) traffic, for exact counts under
-- at-least-once delivery without insert_deduplication_token (18.16).
-- A row holds CUMULATIVE totals of every event of its key counted from
-- `source` (one ordered log: a Kafka topic-partition or an embedded segment
-- log) up to and including `source_offset`. A row is therefore a pure function
-- of (key, source_offset): a retried or redelivered write produces the same
-- row, ReplacingMergeTree(source_offset) keeps only the newest per key, and
-- readers take argMax(..., source_offset) per key before summing over
-- services and sources, which is exact before and after merges.
-- Full reasoning in migrations/README.md.
CREATE TABLE IF NOT EXISTS traffic_hourly
(
    bucket DateTime,
    app_id String,
    service String,
    source String,
    source_offset UInt64,
    requests UInt64,
    status_2xx UInt64,
    status_3xx UInt64,
    status_4xx UInt64,
    status_5xx UInt64,
    billable UInt64,
    rejections Array(UInt64),
    bytes_in UInt64,
    bytes_out UInt64,
    latency_buckets Array(UInt64)
)
ENGINE = ReplacingMergeTree(source_offset)
PARTITION BY toYYYYMM(bucket)
ORDER BY (app_id, service, bucket, source)
;
