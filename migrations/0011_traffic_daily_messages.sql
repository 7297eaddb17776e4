-- As 0010, for the daily table: messages each way per aggregate row; rows
-- written before count 0.
ALTER TABLE traffic_daily
    ADD COLUMN messages_in UInt64 DEFAULT 0,
    ADD COLUMN messages_out UInt64 DEFAULT 0
;
