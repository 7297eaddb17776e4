-- Durations in 64 bits: a UInt32 of microseconds holds 71.6 minutes, and a
-- WebSocket or TCP connection (or a long streamed response) that lasted
-- longer wrapped round in total_us (2 hours read back as 48 minutes, on 18.16
-- and current releases alike), so replays, trace examples and reports from
-- raw events took it for a short one. Rows written before keep what they
-- hold. MODIFY COLUMN to the type a column already has changes nothing, so a
-- re-run is safe.
ALTER TABLE access_events
    MODIFY COLUMN total_us UInt64,
    MODIFY COLUMN upstream_us UInt64,
    MODIFY COLUMN gateway_us UInt64
;
