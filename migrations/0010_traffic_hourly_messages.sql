-- Messages each way (WebSocket data messages, gRPC messages) per aggregate row,
-- from access events' messages_in / messages_out (interim events' included).
-- Rows written before count 0. One ALTER per file (18.16 has no ADD COLUMN IF
-- NOT EXISTS), as 0005.
ALTER TABLE traffic_hourly
    ADD COLUMN messages_in UInt64 DEFAULT 0,
    ADD COLUMN messages_out UInt64 DEFAULT 0
;
