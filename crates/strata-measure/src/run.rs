//! One refresh end to end, as `strata refresh measurements`, the demo and the daily sync run it.

use chrono::NaiveDate;
use serde::Serialize;
use strata_domain::Database;
use strata_query::arrow::{array::AsArray, compute::cast, datatypes::DataType};

use crate::{
    error::Result,
    products::load_products,
    refresh::{Measurements, PerformanceReport, Progress, SalesReport, SalesScope},
    spec::load_spec_versions,
};

/// Which as-of days to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// One day.
    Day(NaiveDate),
    /// Every day from the first through the last.
    Range(NaiveDate, NaiveDate),
}

impl AsOf {
    /// The first and last day.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        match self {
            Self::Day(d) => (d, d),
            Self::Range(a, b) => (a, b),
        }
    }
}

/// What one refresh did.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    /// Spec versions in effect for the run (0 = the defaults only).
    pub spec_versions: usize,
    /// The sales part.
    pub sales: SalesReport,
    /// The performance part.
    pub performance: PerformanceReport,
    /// Products measured.
    pub products: usize,
}

/// Replicates the spec, brings the sales up to date (`scope`), then computes performance for
/// `as_of`.
pub async fn refresh(
    db: &Database,
    m: &Measurements,
    as_of: AsOf,
    scope: SalesScope,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<RefreshReport> {
    let versions = load_spec_versions(db).await?;
    m.replicate_spec(&versions).await?;
    let sales = m.refresh_sales(scope, progress).await?;
    let products = load_products(db).await?;
    let (from, to) = as_of.bounds();
    let performance = m
        .refresh_performance(from, to, &products, &versions, progress)
        .await?;
    Ok(RefreshReport {
        spec_versions: versions.len(),
        sales,
        performance,
        products: products.len(),
    })
}

/// Products per tier on one as-of day, and the leaders of each tier.
#[derive(Debug, Clone, Serialize)]
pub struct TierSummary {
    /// The day.
    pub as_of_day: NaiveDate,
    /// (tier, products), in the order tiers are listed: winner, top_riser, archive_candidate,
    /// banana, none.
    pub counts: Vec<(String, i64)>,
    /// (tier, title, units last 30 days, aggregate units), up to `top` per tier.
    pub top: Vec<(String, String, i64, i64)>,
}

/// The classification of `as_of_day` as it stands in `measurement.performance`.
pub async fn tier_summary(
    m: &Measurements,
    as_of_day: NaiveDate,
    top: usize,
) -> Result<TierSummary> {
    let counts = m
        .engine()
        .query(&format!(
            "SELECT nominal_classification, count(*) AS n FROM measurement.performance
             WHERE as_of_day = DATE '{as_of_day}' GROUP BY nominal_classification
             ORDER BY list_position(['winner', 'top_riser', 'archive_candidate', 'banana', 'none'],
                                    nominal_classification)"
        ))
        .await?;
    let leaders = m
        .engine()
        .query(&format!(
            "SELECT nominal_classification, product_title, sales_last_30_days,
                    aggregate_measurement_value
             FROM measurement.performance WHERE as_of_day = DATE '{as_of_day}'
             QUALIFY row_number() OVER (
                 PARTITION BY nominal_classification
                 ORDER BY CASE WHEN nominal_classification IN ('banana', 'archive_candidate')
                               THEN aggregate_measurement_value ELSE -sales_last_30_days END,
                          product_uid) <= {top}
             ORDER BY list_position(['winner', 'top_riser', 'archive_candidate', 'banana', 'none'],
                                    nominal_classification),
                      CASE WHEN nominal_classification IN ('banana', 'archive_candidate')
                           THEN aggregate_measurement_value ELSE -sales_last_30_days END,
                      product_uid"
        ))
        .await?;
    let text = |b: &strata_query::arrow::array::RecordBatch, c: usize, r: usize| -> String {
        cast(b.column(c), &DataType::Utf8)
            .ok()
            .map(|a| a.as_string::<i32>().value(r).to_owned())
            .unwrap_or_default()
    };
    let mut summary = TierSummary {
        as_of_day,
        counts: Vec::new(),
        top: Vec::new(),
    };
    for b in &counts.batches {
        for r in 0..b.num_rows() {
            summary
                .counts
                .push((text(b, 0, r), text(b, 1, r).parse().unwrap_or(0)));
        }
    }
    for b in &leaders.batches {
        for r in 0..b.num_rows() {
            summary.top.push((
                text(b, 0, r),
                text(b, 1, r),
                text(b, 2, r).parse().unwrap_or(0),
                text(b, 3, r).parse().unwrap_or(0),
            ));
        }
    }
    Ok(summary)
}
