//! `strata bench`: the layer-1 performance targets, measured on fresh databases so runs are
//! comparable. Results are printed as Markdown rows for docs/benchmarks.md.

mod api;
mod harness;
mod ingest;
mod measure;
mod workflow;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use strata_domain::{Database, DbConfig};
use strata_schema::SchemaSource;

use super::{schema, seed};
use crate::cli::{BenchArgs, BenchCommand, GlobalOpts};

pub async fn run(global: &GlobalOpts, cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Apply(args) => apply(global, &args).await,
        BenchCommand::Seed(args) => seed_bench(global, &args).await,
        BenchCommand::Api(args) => api::run(global, &args).await,
        BenchCommand::Ingest(args) => ingest::run(global, &args).await,
        BenchCommand::Measurements(args) => measure::run(global, &args).await,
        BenchCommand::Workflows(args) => workflow::run(&args).await,
    }
}

/// A throwaway database: a new database on the server of `--database-url`, or a new embedded
/// data directory. Dropped afterwards.
struct Scratch {
    /// Shared with the in-process server of `bench api`; closed by `drop_it` once it is the
    /// only owner again.
    db: Arc<Database>,
    /// The scratch database's URL (server only).
    url: Option<String>,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

async fn scratch(global: &GlobalOpts, label: &str) -> Result<Scratch> {
    match &global.database_url {
        Some(admin) => {
            let name = format!("strata_bench_{label}_{}", std::process::id());
            let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
                .await
                .context("connect to --database-url to create a scratch database")?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .await?;
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await?;
            strata_domain::db::parse_url(admin)?;
            let url = scratch_url(admin, &name);
            let db = Database::connect(&DbConfig::new(Some(url.clone()), &global.data_dir)).await?;
            Ok(Scratch {
                db: Arc::new(db),
                url: Some(url),
                admin_url: Some(admin.clone()),
                name,
                _dir: None,
            })
        }
        None => {
            let dir = tempfile::tempdir().context("create a scratch data directory")?;
            let db = Database::connect(&DbConfig::new(None, dir.path())).await?;
            Ok(Scratch {
                db: Arc::new(db),
                url: None,
                admin_url: None,
                name: String::new(),
                _dir: Some(dir),
            })
        }
    }
}

/// The admin URL with its database name replaced.
fn scratch_url(admin: &str, name: &str) -> String {
    match url::Url::parse(admin) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => format!("{admin} dbname={name}"),
    }
}

impl Scratch {
    async fn drop_it(self) -> Result<()> {
        match Arc::try_unwrap(self.db) {
            Ok(db) => db.shutdown().await?,
            Err(_) => tracing::warn!("scratch database still in use; its pool closes on drop"),
        }
        if let Some(admin) = self.admin_url {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await?;
        }
        Ok(())
    }
}

fn engine_label(global: &GlobalOpts) -> &'static str {
    if global.database_url.is_some() {
        "PostgreSQL server"
    } else {
        "embedded (PGlite)"
    }
}

async fn apply(global: &GlobalOpts, args: &BenchArgs) -> Result<ExitCode> {
    let mut times = Vec::new();
    for i in 0..args.runs.max(1) {
        let s = scratch(global, "apply").await?;
        let started = Instant::now();
        let report = schema::apply_schema(&s.db, &SchemaSource::embedded()).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        s.drop_it().await?;
        report?;
        eprintln!("run {}: {ms:.0} ms", i + 1);
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "| schema apply, 153 tables, fresh database | {} | median {median:.0} ms over {} runs (min {:.0}, max {:.0}) |",
        engine_label(global),
        times.len(),
        times[0],
        times[times.len() - 1]
    );
    Ok(ExitCode::SUCCESS)
}

async fn seed_bench(global: &GlobalOpts, args: &BenchArgs) -> Result<ExitCode> {
    let s = scratch(global, "seed").await?;
    let result = async {
        schema::apply_schema(&s.db, &SchemaSource::embedded()).await?;
        seed::seed_store(&s.db, &args.seed).await
    }
    .await;
    s.drop_it().await?;
    let report = result?;
    println!(
        "| seed {} products x {} days ({} orders, {} rows) | {} | {:.1} s, {:.0} rows/s |",
        args.seed.products,
        args.seed.days,
        report.orders,
        report.total_rows(),
        engine_label(global),
        report.elapsed.as_secs_f64(),
        report.rows_per_second()
    );
    Ok(ExitCode::SUCCESS)
}
