//! The demo's third part: the measurements over what the lake now holds, and the classification
//! staff act on.

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use strata_domain::Database;
use strata_measure::{AsOf, Measurements, ReportingZone, SalesScope};
use strata_query::arrow::{
    array::{Array, AsArray},
    compute::cast,
    datatypes::DataType,
};

use crate::cli::GlobalOpts;

/// As-of days the demo computes, ending on the last day with sales: a month of history.
const DAYS: i64 = 30;

pub async fn measure(global: &GlobalOpts, db: &Database) -> Result<()> {
    println!("\nMeasuring sales and performance (DuckDB over the lake)");
    let lake = crate::commands::lake::open(global).await?;
    let m = Measurements::open(lake, &global.data_dir, ReportingZone::default())
        .await
        .context("open the measurement tables")?;
    m.refresh_sales(SalesScope::Changed, &mut |_| {})
        .await
        .context("refresh measurement.sales")?;
    let last = last_sales_day(&m)
        .await?
        .unwrap_or_else(|| m.zone().today());
    let report = strata_measure::refresh(
        db,
        &m,
        AsOf::Range(last - Duration::days(DAYS - 1), last),
        SalesScope::Changed,
        &mut |_| {},
    )
    .await
    .context("refresh the measurements")?;
    println!(
        "  measurement.sales:       {} rows (product × day × currency)",
        count(&m, "measurement.sales").await?
    );
    println!(
        "  measurement.performance: {} rows ({} products × {} as-of days up to {last})",
        report.performance.rows, report.products, report.performance.days
    );
    let summary = strata_measure::tier_summary(&m, last, 3).await?;
    crate::commands::refresh::print_tiers(&summary);
    Ok(())
}

async fn last_sales_day(m: &Measurements) -> Result<Option<NaiveDate>> {
    let out = m
        .engine()
        .query("SELECT CAST(max(day) AS VARCHAR) FROM measurement.sales")
        .await?;
    Ok(out
        .batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| {
            let col = b.column(0).as_string::<i32>();
            (!col.is_null(0)).then(|| col.value(0).to_owned())
        })
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
}

async fn count(m: &Measurements, table: &str) -> Result<i64> {
    let out = m
        .engine()
        .query(&format!("SELECT count(*) FROM {table}"))
        .await?;
    let b = out
        .batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .context("a count")?;
    let col = cast(b.column(0), &DataType::Int64)?;
    Ok(col
        .as_primitive::<strata_query::arrow::datatypes::Int64Type>()
        .value(0))
}
