-- The connection fields of access event v3 (shared/access-event-format.ts): a
-- WebSocket close code, why a WebSocket or TCP connection ended, and whether
-- the event is an interim one of a connection still open (bytes and messages
-- only, no request: replay and reports must not count it as one). Rows written
-- before get what a v1 or v2 record decodes to. One ALTER, as 0004.
ALTER TABLE access_events
    ADD COLUMN close_code UInt16 DEFAULT 0,
    ADD COLUMN close_reason String DEFAULT '',
    ADD COLUMN interim UInt8 DEFAULT 0
;
