-- The protocol fields of access event v2 (shared/access-event-format.ts).
-- Rows written before get the defaults a v1 record decodes to: plaintext
-- HTTP/1.1, not a gRPC call. grpc_status is Int64 because an upstream may
-- send any number; -1 means not gRPC. One ALTER, so a re-run after a failure
-- repeats nothing that succeeded (18.16 has no ADD COLUMN IF NOT EXISTS).
ALTER TABLE access_events
    ADD COLUMN protocol String DEFAULT 'http/1.1',
    ADD COLUMN tls_version String DEFAULT '',
    ADD COLUMN grpc_status Int64 DEFAULT -1,
    ADD COLUMN grpc_method String DEFAULT '',
    ADD COLUMN messages_in UInt64 DEFAULT 0,
    ADD COLUMN messages_out UInt64 DEFAULT 0
;
