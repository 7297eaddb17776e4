-- Requests per protocol and gRPC calls per status, beside the other counters
-- of traffic_hourly (same cumulative rules). protocols is indexed like
-- PROTOCOLS (shared/access-event.ts) with slot 0, http/1.1, left 0: HTTP/1.1
-- is what is left of requests, so rows written before this column (an empty
-- array, every request HTTP/1.1) read right as they are. grpc_statuses has a
-- slot per gRPC code 0..16.
ALTER TABLE traffic_hourly
    ADD COLUMN protocols Array(UInt64) DEFAULT emptyArrayUInt64(),
    ADD COLUMN grpc_statuses Array(UInt64) DEFAULT emptyArrayUInt64()
;
