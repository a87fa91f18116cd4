-- The sync pipeline: SYNC_TELEMETRY → sync.telemetry.
--
-- The workflow audit trail (run starts, step completions, retries, failures, completions). Same
-- SQL subset and rules as commerce_telemetry.sql. Examples:
--   ... WHERE event_type <> 'started'                    -- only outcomes
--   SELECT * EXCLUDE (watermark) FROM sync_telemetry     -- keep cursors out of the lake
INSERT INTO sync.telemetry
SELECT *
FROM sync_telemetry
