//! `strata refresh measurements`: the sales and performance measurements, with a progress bar.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use strata_measure::{AsOf, Measurements, Progress, ReportingZone, SalesScope, TierSummary};

use crate::cli::{GlobalOpts, RefreshCommand, RefreshMeasurementsArgs};

pub async fn run(global: &GlobalOpts, cmd: RefreshCommand) -> Result<ExitCode> {
    match cmd {
        RefreshCommand::Measurements(args) => measurements(global, args).await,
    }
}

async fn measurements(global: &GlobalOpts, args: RefreshMeasurementsArgs) -> Result<ExitCode> {
    let zone: ReportingZone = match args.time_zone.parse() {
        Ok(z) => z,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let as_of = match (args.as_of, args.from, args.to) {
        (Some(d), _, _) => AsOf::Day(d),
        (None, Some(from), Some(to)) if from <= to => AsOf::Range(from, to),
        (None, Some(from), Some(to)) => {
            eprintln!("error: --from {from} is after --to {to}");
            return Ok(ExitCode::from(2));
        }
        _ => AsOf::Day(zone.today()),
    };
    let db = super::connect(global).await?;
    let result = run_refresh(global, &db, zone, as_of, &args).await;
    db.shutdown().await?;
    result
}

async fn run_refresh(
    global: &GlobalOpts,
    db: &strata_domain::Database,
    zone: ReportingZone,
    as_of: AsOf,
    args: &RefreshMeasurementsArgs,
) -> Result<ExitCode> {
    let lake = super::lake::open(global).await?;
    let m = Measurements::open(lake, &global.data_dir, zone)
        .await
        .context("open the measurement tables")?;
    let scope = if args.full_sales {
        SalesScope::All
    } else {
        SalesScope::Changed
    };
    let show = std::io::stderr().is_terminal() && !global.quiet && !args.json;
    let bar = crate::progress::bar(0, show);
    let mut on_progress = |p: Progress| {
        bar.set_message(p.stage);
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let report = strata_measure::refresh(db, &m, as_of, scope, &mut on_progress)
        .await
        .context("refresh the measurements (is the schema applied? `strata demo` or `strata schema apply`)")?;
    bar.finish_and_clear();
    let (_, last) = as_of.bounds();
    let summary = strata_measure::tier_summary(&m, last, 3).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "time_zone": zone.name(),
                "report": report,
                "classification": summary,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "measurement.sales: {} day(s) recomputed, {} rows (replacing {}), complete up to commerce.telemetry snapshot {}",
        report.sales.days,
        report.sales.rows,
        report.sales.replaced_rows,
        report
            .sales
            .source_snapshot
            .map(|s| s.to_string())
            .unwrap_or_else(|| "- (no commerce events yet)".to_owned())
    );
    println!(
        "measurement.performance: {} as-of day(s), {} rows for {} products (replacing {}), days in {}",
        report.performance.days,
        report.performance.rows,
        report.products,
        report.performance.replaced_rows,
        zone
    );
    print_tiers(&summary);
    Ok(ExitCode::SUCCESS)
}

/// The classification of one as-of day: counts per tier and each tier's leaders.
pub fn print_tiers(summary: &TierSummary) {
    println!("\nClassification as of {}:", summary.as_of_day);
    for (tier, n) in &summary.counts {
        println!("  {tier:<18} {n:>6} products");
        for (_, title, last30, total) in summary.top.iter().filter(|t| &t.0 == tier) {
            println!("      {title:<40} {last30:>6} units last 30 days, {total:>7} since launch");
        }
    }
}
