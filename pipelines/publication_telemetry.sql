-- The publication pipeline: PUBLICATION_TELEMETRY → publication.telemetry.
--
-- Partner engagement events (clicks, impressions, views, engagements, conversions). Same SQL
-- subset and rules as commerce_telemetry.sql. Examples:
--   ... WHERE event_type <> 'impression'                 -- keep impressions out of the lake
--   ... WHERE url IS NULL OR url NOT LIKE '%/preview/%'  -- drop preview traffic
INSERT INTO publication.telemetry
SELECT *
FROM publication_telemetry
