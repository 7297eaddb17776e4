-- The day twin of traffic_hourly (same columns and rules; bucket is the UTC
-- day start). Kept as its own cumulative rows rather than summed from the
-- hours at read time so billing's per-day question reads 1/24th the rows.
CREATE TABLE IF NOT EXISTS traffic_daily
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
