-- The commerce pipeline: COMMERCE_TELEMETRY → commerce.telemetry.
--
-- Evaluated per event by strata-pipeline (a checked subset of SQL: field references, -> / ->>,
-- CAST / TRY_CAST / ::, comparisons, AND / OR / NOT, IN, BETWEEN, LIKE, IS NULL, + - * / %, ||,
-- lower / upper / length / coalesce). The result must still be a commerce event: the lake derives
-- its typed columns and its `payload` column from it. Events the WHERE turns away are counted as
-- filtered; events the transform fails on go to commerce.rejected with the reason.
--
-- Edit, then restart the pipeline (or reload it): buffered events are transformed with the new
-- definition, and nothing is acknowledged before its commit. Examples:
--   SELECT * EXCLUDE (customer_email) FROM commerce_telemetry          -- keep no e-mail addresses
--   ... WHERE event_type IN ('order_created', 'payment_captured')      -- only some event types
--   ... WHERE CAST(total AS DECIMAL(20,4)) > 0                          -- drop zero-value orders
INSERT INTO commerce.telemetry
SELECT *
FROM commerce_telemetry
