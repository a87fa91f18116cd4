//! `strata seed`: a realistic, deterministic synthetic store (catalog with variants, tags and
//! categories, regions, customers, orders with line items, tax lines and adjustments, payments,
//! fulfillments, returns, publishers with referrals and conversions).
//!
//! The same seed gives the same store row for row. Everything is written in one transaction
//! with COPY, so a failed or interrupted seed leaves nothing behind; a re-seed replaces exactly
//! the rows an earlier seed wrote (they carry the `strata.dev/seeded` label).

mod events;
mod ids;
mod rows;
mod store;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::NaiveDate;
use futures_util::SinkExt;
use strata_schema::Schema;

use crate::db::{Database, DbError, pg_reason};
pub use events::{REFERRAL_EVENT_SOURCE, ReferralEvents, referral_events};
pub use rows::SEED_LABEL;
use rows::TableRows;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedConfig {
    pub products: u32,
    pub days: u32,
    pub seed: u64,
    /// Last day of order history (UTC).
    pub end_date: NaiveDate,
}

/// Why seeding failed. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("writing {table}: {reason}")]
    Write { table: String, reason: String },
    #[error("the seed generator does not match the schema: {0}")]
    Model(String),
    #[error("the domain schema is not applied ({0} is missing); run `strata schema apply` first")]
    SchemaMissing(String),
    #[error("invalid seed settings: {0}")]
    Config(String),
}

/// Progress of a seed, reported as it goes.
pub trait SeedProgress: Send + Sync {
    /// `done` of `total` days generated; `rows` written so far.
    fn progress(&self, done: u64, total: u64, rows: u64);
}

impl<F: Fn(u64, u64, u64) + Send + Sync> SeedProgress for F {
    fn progress(&self, done: u64, total: u64, rows: u64) {
        self(done, total, rows)
    }
}

/// What a seed wrote.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub rows_by_table: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub orders: u64,
}

impl SeedReport {
    pub fn total_rows(&self) -> u64 {
        self.rows_by_table.values().sum()
    }

    pub fn rows_per_second(&self) -> f64 {
        self.total_rows() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Buffers above this size are sent with COPY before generation goes on.
const FLUSH_BYTES: usize = 4 << 20;

/// Generate the store and load it in one transaction.
pub async fn seed(
    db: &Database,
    schema: &Schema,
    config: &SeedConfig,
    progress: &dyn SeedProgress,
) -> Result<SeedReport, SeedError> {
    if config.products == 0 || config.days == 0 {
        return Err(SeedError::Config(
            "--products and --days must be at least 1".into(),
        ));
    }
    let started = Instant::now();
    let mut generator = store::Generator::new(schema, config)?;
    let mut client = db.client().await?;
    let target = db.target().to_string();
    let pg = |e: tokio_postgres::Error| SeedError::Db(DbError::from_pg(&target, e));

    let missing: Option<String> = client
        .query_one(
            "SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass('public.' || t) IS NULL LIMIT 1",
            &[&generator.table_names()],
        )
        .await
        .ok()
        .map(|r| r.get(0));
    if let Some(table) = missing {
        return Err(SeedError::SchemaMissing(table));
    }

    let tx = client.transaction().await.map_err(pg)?;
    // Replace what an earlier seed wrote; rows anyone else wrote are left alone.
    for table in generator.table_names() {
        tx.execute(
            &format!("DELETE FROM {table} WHERE labels @> jsonb_build_object($1::text, 'true')"),
            &[&SEED_LABEL],
        )
        .await
        .map_err(pg)?;
    }
    let total_days = u64::from(config.days);
    let mut written = 0u64;
    generator.reference_data()?;
    flush(&tx, generator.tables_mut(), 0).await?;
    for day in 0..config.days {
        generator.day(day)?;
        written = generator.rows_total();
        flush(&tx, generator.tables_mut(), FLUSH_BYTES).await?;
        progress.progress(u64::from(day) + 1, total_days, written);
    }
    flush(&tx, generator.tables_mut(), 0).await?;
    tx.commit().await.map_err(pg)?;
    progress.progress(total_days, total_days, written.max(generator.rows_total()));

    let report = SeedReport {
        rows_by_table: generator.counts(),
        elapsed: started.elapsed(),
        orders: generator.orders(),
    };
    // Fresh statistics for the planner; the embedded engine has no autovacuum.
    for table in generator.table_names() {
        if let Err(e) = client
            .batch_execute(&format!("VACUUM ANALYZE {table}"))
            .await
        {
            tracing::warn!(table, error = %pg_reason(&e), "VACUUM ANALYZE failed");
        }
    }
    Ok(report)
}

/// Send every buffer larger than `threshold` bytes (0: all non-empty ones) with COPY.
async fn flush(
    tx: &tokio_postgres::Transaction<'_>,
    tables: &mut [TableRows],
    threshold: usize,
) -> Result<(), SeedError> {
    for t in tables.iter_mut() {
        if t.buf.is_empty() || (threshold > 0 && t.buf.len() < threshold) {
            continue;
        }
        let err = |e: tokio_postgres::Error| SeedError::Write {
            table: t.table.clone(),
            reason: pg_reason(&e),
        };
        let sink = tx.copy_in(&t.copy_statement()).await.map_err(err)?;
        futures_util::pin_mut!(sink);
        let data = Bytes::from(std::mem::take(&mut t.buf));
        sink.send(data).await.map_err(err)?;
        sink.finish().await.map_err(err)?;
        t.buf = Vec::with_capacity(1 << 20);
    }
    Ok(())
}
