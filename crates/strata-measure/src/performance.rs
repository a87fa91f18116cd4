//! `measurement.performance`: per product and as-of day, from `measurement.sales`.
//!
//! Each product gets one row per day from its launch day (or 89 days before the first as-of day,
//! whichever is later) through the last as-of day: a dense series, zero on days without sales, so
//! every window is a frame of rows. The last 7, 30 and 90 days are `ROWS n PRECEDING`; the
//! aggregate is the sales since launch before the series starts plus the running sum; the first 7
//! and 14 days are the running sum until the window closes and its total after. Starting the series
//! at most 89 days back makes one as-of day cost 90 rows per product instead of one per day since
//! launch. Days before launch are never counted by any window. The banana rank is taken per as-of day over
//! the products launched by then; the nominal classification is the first flag set in the
//! precedence of the spec in effect at the end of the as-of day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::{spec::AppliedSpec, write::literal};

/// Name of the DuckDB table holding the product dimension (see [`crate::refresh`]).
pub(crate) const PRODUCTS: &str = "m_product";
/// Days before the first as-of day the dense series starts (the longest trailing window is 90).
const LOOKBACK: u32 = 89;

/// Name of the DuckDB table holding the spec of each as-of day.
pub(crate) const SPECS: &str = "m_spec";

/// `VALUES` rows of the spec in effect for each as-of day.
pub(crate) fn spec_rows(specs: &BTreeMap<NaiveDate, AppliedSpec>) -> String {
    specs
        .iter()
        .map(|(day, s)| {
            let tier = |i: usize| literal(s.precedence.get(i).map(String::as_str).unwrap_or(""));
            format!(
                "(DATE '{day}', {}, {}, {}, {}, {}, {}, {}, {}, {})",
                s.version,
                s.top_riser_7_day_threshold,
                s.top_riser_14_day_threshold,
                s.winner_30_day_threshold,
                s.banana_count,
                tier(0),
                tier(1),
                tier(2),
                tier(3),
            )
        })
        .collect::<Vec<_>>()
        .join(",\n")
}

/// SQL creating the spec table from [`spec_rows`].
pub(crate) fn create_specs(rows: &str) -> String {
    format!(
        "CREATE OR REPLACE TABLE {SPECS} (as_of_day DATE, version INTEGER, t7 BIGINT, t14 BIGINT,
             t30 BIGINT, banana_count BIGINT, p1 VARCHAR, p2 VARCHAR, p3 VARCHAR, p4 VARCHAR);
         INSERT INTO {SPECS} VALUES {rows};"
    )
}

/// The SELECT computing every product's row for each as-of day in `[from, to]`, ordered by
/// day and product.
pub(crate) fn select(from: NaiveDate, to: NaiveDate) -> String {
    let flag = |p: &str| {
        format!(
            "CASE {p} WHEN 'winner' THEN is_winner WHEN 'top_riser' THEN is_top_riser
                      WHEN 'archive_candidate' THEN is_archive WHEN 'banana' THEN is_banana
                      ELSE false END"
        )
    };
    let classification = format!(
        "CASE WHEN {} THEN p1 WHEN {} THEN p2 WHEN {} THEN p3 WHEN {} THEN p4 ELSE 'none' END",
        flag("p1"),
        flag("p2"),
        flag("p3"),
        flag("p4")
    );
    format!(
        "WITH p AS (
            SELECT uid, title, is_active, DATE '1970-01-01' + launch_epoch AS launch
            FROM {PRODUCTS} WHERE DATE '1970-01-01' + launch_epoch <= DATE '{to}'
        ),
        daily AS (
            SELECT product_uid, day, sum(units) AS units
            FROM measurement.sales WHERE day <= DATE '{to}'
            GROUP BY product_uid, day
        ),
        base AS (
            SELECT p.uid, sum(d.units) AS units
            FROM p JOIN daily d ON d.product_uid = p.uid
            WHERE d.day >= p.launch AND d.day < DATE '{from}' - {LOOKBACK}
            GROUP BY p.uid
        ),
        firsts AS (
            SELECT p.uid,
                   coalesce(sum(d.units) FILTER (WHERE d.day BETWEEN p.launch AND p.launch + 6), 0) AS f7,
                   coalesce(sum(d.units) FILTER (WHERE d.day BETWEEN p.launch AND p.launch + 13), 0) AS f14
            FROM p LEFT JOIN daily d ON d.product_uid = p.uid
            GROUP BY p.uid
        ),
        grid AS (
            SELECT uid, launch,
                   CAST(unnest(generate_series(
                       CAST(greatest(launch, DATE '{from}' - {LOOKBACK}) AS TIMESTAMP),
                       TIMESTAMP '{to}', INTERVAL 1 DAY)) AS DATE) AS day
            FROM p
        ),
        series AS (
            SELECT g.uid, g.launch, g.day, CAST(coalesce(d.units, 0) AS BIGINT) AS units
            FROM grid g LEFT JOIN daily d ON d.product_uid = g.uid AND d.day = g.day
        ),
        win AS (
            SELECT s.uid, s.launch, s.day,
                   coalesce(b.units, 0)
                     + sum(s.units) OVER (PARTITION BY s.uid ORDER BY s.day
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
                   sum(s.units) OVER (PARTITION BY s.uid ORDER BY s.day
                                      ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS l7,
                   sum(s.units) OVER (PARTITION BY s.uid ORDER BY s.day
                                      ROWS BETWEEN 29 PRECEDING AND CURRENT ROW) AS l30,
                   sum(s.units) OVER (PARTITION BY s.uid ORDER BY s.day
                                      ROWS BETWEEN 89 PRECEDING AND CURRENT ROW) AS l90
            FROM series s LEFT JOIN base b ON b.uid = s.uid
        ),
        m AS (
            SELECT w.day AS as_of_day, w.uid AS product_uid, p.title AS product_title,
                   w.launch AS launch_day, CAST(w.day - w.launch AS INTEGER) AS days_since_launch,
                   p.is_active,
                   CAST(CASE WHEN w.day < w.launch + 6 THEN w.cum ELSE f.f7 END AS BIGINT) AS f7,
                   CAST(CASE WHEN w.day < w.launch + 13 THEN w.cum ELSE f.f14 END AS BIGINT) AS f14,
                   CAST(w.l7 AS BIGINT) AS l7, CAST(w.l30 AS BIGINT) AS l30,
                   CAST(w.l90 AS BIGINT) AS l90, CAST(w.cum AS BIGINT) AS agg,
                   s.version, s.t7, s.t14, s.t30, s.banana_count, s.p1, s.p2, s.p3, s.p4
            FROM win w
            JOIN p ON p.uid = w.uid
            JOIN firsts f ON f.uid = w.uid
            JOIN {SPECS} s ON s.as_of_day = w.day
            WHERE w.day >= DATE '{from}'
        ),
        flags AS (
            SELECT *,
                   (f7 >= t7 OR f14 >= t14) AS is_top_riser,
                   l30 >= t30 AS is_winner,
                   row_number() OVER (PARTITION BY as_of_day ORDER BY agg, product_uid)
                       <= banana_count AS is_banana,
                   (NOT is_active AND l30 = 0) AS is_archive
            FROM m
        )
        SELECT as_of_day, product_uid, product_title, launch_day, days_since_launch, is_active,
               f7 AS sales_first_7_days, f14 AS sales_first_14_days,
               l7 AS sales_last_7_days, l30 AS sales_last_30_days, l90 AS sales_last_90_days,
               agg AS aggregate_measurement_value,
               is_top_riser, is_winner, is_banana, is_archive,
               {classification} AS nominal_classification,
               version AS spec_version
        FROM flags
        ORDER BY as_of_day, product_uid"
    )
}
