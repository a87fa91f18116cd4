//! `measurement.sales`: per product, day and currency, from the commerce telemetry.
//!
//! Orders count on the local day their `order_created` event occurred: units are the line
//! quantities, gross revenue the line subtotals, discounts the line discounts. Returns count on
//! the day of their `return_requested` event, each returned line mapped to its product through
//! the order lines the event carries.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};

use crate::{write::literal, zone::ReportingZone};

/// The JSON shape of the payload fields the sales need.
const PAYLOAD_SHAPE: &str = r#"{"lines":[{"line_item_uid":"VARCHAR","product_uid":"VARCHAR","quantity":"BIGINT","subtotal":"DECIMAL(20,4)","discount_total":"DECIMAL(20,4)"}],"returned_lines":[{"line_item_uid":"VARCHAR","quantity":"BIGINT"}]}"#;

/// The SELECT computing the sales rows of `days` from `commerce.telemetry`, ordered by day,
/// product and currency.
pub(crate) fn select(zone: ReportingZone, days: &BTreeSet<NaiveDate>) -> String {
    let epoch = NaiveDate::default();
    let (first, last) = (
        days.first().copied().unwrap_or(epoch),
        days.last().copied().unwrap_or(epoch),
    );
    // Instants that can fall on those local days (no zone is more than 14 h off UTC): a range
    // DuckDB prunes Parquet row groups and files with.
    let lo = zone.start_of(first) - Duration::hours(1);
    let hi = zone.end_of(last) + Duration::hours(1);
    let day_list = if days.is_empty() {
        "NULL".to_owned()
    } else {
        days.iter()
            .map(|d| format!("DATE '{d}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tz = literal(zone.name());
    let shape = literal(PAYLOAD_SHAPE);
    format!(
        "WITH ev AS (
            SELECT CAST(timezone({tz}, occurred_ts) AS DATE) AS day, event_type, order_uid,
                   currency_code, json_transform(payload, {shape}) AS j
            FROM commerce.telemetry
            WHERE event_type IN ('order_created', 'return_requested')
              AND occurred_ts >= TIMESTAMPTZ '{lo}' AND occurred_ts < TIMESTAMPTZ '{hi}'
        ),
        ev_days AS (SELECT * FROM ev WHERE day IN ({day_list})),
        ordered AS (
            SELECT day, order_uid, currency_code, unnest(j.lines) AS l
            FROM ev_days WHERE event_type = 'order_created'
        ),
        returned AS (
            SELECT day, currency_code, r,
                   list_filter(j.lines, x -> x.line_item_uid = r.line_item_uid)[1].product_uid AS product_uid
            FROM (SELECT day, currency_code, j, unnest(j.returned_lines) AS r
                  FROM ev_days WHERE event_type = 'return_requested')
        ),
        rows AS (
            SELECT day, l.product_uid AS product_uid, currency_code, order_uid,
                   l.quantity AS units, CAST(0 AS BIGINT) AS units_returned,
                   l.subtotal AS gross, l.discount_total AS discount
            FROM ordered WHERE l.product_uid IS NOT NULL
            UNION ALL
            SELECT day, product_uid, currency_code, NULL, CAST(0 AS BIGINT), r.quantity,
                   CAST(0 AS DECIMAL(20,4)), CAST(0 AS DECIMAL(20,4))
            FROM returned WHERE product_uid IS NOT NULL
        )
        SELECT day, product_uid, currency_code,
               CAST(count(DISTINCT order_uid) AS BIGINT) AS orders,
               CAST(sum(units) AS BIGINT) AS units,
               CAST(sum(units_returned) AS BIGINT) AS units_returned,
               CAST(sum(units) - sum(units_returned) AS BIGINT) AS units_net,
               CAST(sum(gross) AS DECIMAL(20,4)) AS gross_revenue,
               CAST(sum(discount) AS DECIMAL(20,4)) AS discounts,
               CAST(sum(gross) - sum(discount) AS DECIMAL(20,4)) AS net_revenue
        FROM rows
        GROUP BY day, product_uid, currency_code
        ORDER BY day, product_uid, currency_code",
        lo = lo.format("%Y-%m-%d %H:%M:%S+00"),
        hi = hi.format("%Y-%m-%d %H:%M:%S+00"),
    )
}

/// Every local day with commerce events.
pub(crate) fn event_days_sql(zone: ReportingZone) -> String {
    format!(
        "SELECT DISTINCT CAST(CAST(timezone({tz}, occurred_ts) AS DATE) AS VARCHAR) AS day
         FROM commerce.telemetry
         WHERE event_type IN ('order_created', 'return_requested')
         ORDER BY day",
        tz = literal(zone.name())
    )
}

/// The local days an event on UTC day `utc_day` can fall on.
pub(crate) fn local_days_of_utc_day(utc_day: NaiveDate) -> [NaiveDate; 3] {
    [
        utc_day.pred_opt().unwrap_or(utc_day),
        utc_day,
        utc_day.succ_opt().unwrap_or(utc_day),
    ]
}
