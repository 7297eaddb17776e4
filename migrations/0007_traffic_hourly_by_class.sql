-- Splits traffic_hourly's rows by traffic class, so reports and billing can be
-- filtered by protocol and gRPC status with every counter exact: the key
-- becomes (app_id, service, bucket, source, protocol, grpc_slot).
-- protocol is the client's protocol as in PROTOCOLS (shared/access-event.ts);
-- grpc_slot is grpc-status + 1 for a gRPC call and 0 otherwise. Rows written
-- before this migration read protocol '' and grpc_slot 0: their requests are
-- a mix, told apart only by their protocols and grpc_statuses counters;
-- filtered reports leave them out. MODIFY ORDER BY may only append columns
-- added in the same statement, without a default (18.16 and current).
ALTER TABLE traffic_hourly
    ADD COLUMN protocol String,
    ADD COLUMN grpc_slot UInt8,
    MODIFY ORDER BY (app_id, service, bucket, source, protocol, grpc_slot)
;
