//! `strata seed`: the deterministic synthetic store, with a progress bar.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{Duration, NaiveDate, Utc};
use strata_domain::Database;
use strata_domain::seed::{SeedConfig, SeedReport, seed};

use super::connect;
use crate::cli::{GlobalOpts, SeedArgs};
use crate::progress;

pub async fn run(global: &GlobalOpts, args: SeedArgs) -> Result<ExitCode> {
    let db = connect(global).await?;
    let result = seed_store(&db, &args).await;
    db.shutdown().await?;
    let report = result?;
    print_report(&report);
    Ok(ExitCode::SUCCESS)
}

pub fn config_of(args: &SeedArgs) -> Result<SeedConfig> {
    let end_date = match &args.end_date {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--end-date {d:?} is not a date like 2026-06-30"))?,
        None => (Utc::now() - Duration::days(1)).date_naive(),
    };
    if args.products == 0 || args.days == 0 {
        bail!("--products and --days must be at least 1");
    }
    Ok(SeedConfig {
        products: args.products,
        days: args.days,
        seed: args.seed,
        end_date,
    })
}

/// Seed on an open database; Ctrl-C rolls everything back.
pub async fn seed_store(db: &Database, args: &SeedArgs) -> Result<SeedReport> {
    let config = config_of(args)?;
    let schema = strata_schema::embedded().context("the schema built into this binary")?;
    let show = !args.no_progress && std::io::stderr().is_terminal();
    let bar = progress::bar(u64::from(config.days), show);
    bar.set_message("seeding days");
    let on_progress = {
        let bar = bar.clone();
        move |done: u64, _total: u64, rows: u64| {
            bar.set_position(done);
            bar.set_message(format!("seeding: {rows} rows"));
        }
    };
    tracing::info!(
        products = config.products,
        days = config.days,
        seed = config.seed,
        end_date = %config.end_date,
        "seeding"
    );
    let report = tokio::select! {
        r = seed(db, &schema, &config, &on_progress) => r.context("strata seed (nothing was written)")?,
        _ = tokio::signal::ctrl_c() => {
            bar.abandon_with_message("interrupted");
            bail!("interrupted: the seed transaction was rolled back, nothing was written");
        }
    };
    bar.finish_and_clear();
    Ok(report)
}

pub fn print_report(report: &SeedReport) {
    println!(
        "seed: {} rows in {} tables ({} orders) in {:.1} s, {:.0} rows/s",
        report.total_rows(),
        report.rows_by_table.len(),
        report.orders,
        report.elapsed.as_secs_f64(),
        report.rows_per_second()
    );
}
