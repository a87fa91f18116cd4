//! The staff analytics (issue 5, item 7): performance metrics, commerce figures and tag analytics
//! read from the lake's measurements (`measurement.performance`, `measurement.sales`, computed by
//! `strata_measure`) with DuckDB, joined with PostgreSQL for tags and categories.
//!
//! Answers must stay fast (p99 under 200 ms on the demo store) while DuckDB runs one query at a
//! time on one connection, so the rows of an as-of day of `measurement.performance` are loaded
//! once per snapshot of that table and kept in memory: lists, filters, sorts, pages and summaries
//! are then plain Rust over those rows. A refresh commits a new snapshot, which drops the cache.
//! The commerce figures of a range are cached the same way, keyed by `measurement.sales`'s
//! snapshot.

pub mod catalog;
pub mod commerce;
mod convert;
pub mod performance;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use strata_lake::Lake;
use strata_query::{QueryEngine, QueryError};

pub use commerce::{CommerceRange, Overview, TopBy, TopProducts};
pub use performance::{PerfDay, PerfRow, Tier};

/// What can go wrong answering an analytics request.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The request names something that is not there (a day without measurements, a product).
    #[error("{0}")]
    NotFound(String),
    /// The lake failed (catalog or storage).
    #[error("lake: {0}")]
    Lake(#[from] strata_lake::LakeError),
    /// DuckDB failed on Strata's own SQL.
    #[error("query: {0}")]
    Query(#[from] QueryError),
    /// A result had an unexpected shape (a column missing or of another type).
    #[error("unexpected result: {0}")]
    Shape(String),
}

/// The module's result type.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;

/// Analytics over one lake, with the caches that keep answers fast.
pub struct Analytics {
    engine: Arc<QueryEngine>,
    perf: tokio::sync::Mutex<performance::Cache>,
    sales: tokio::sync::Mutex<commerce::Cache>,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics").finish_non_exhaustive()
    }
}

impl Analytics {
    /// Analytics over the lake `engine` reads. Creates the measurement tables if missing (empty:
    /// nothing measured yet), as `strata refresh measurements` would, so every endpoint has a
    /// table to read.
    pub async fn open(engine: Arc<QueryEngine>) -> Result<Self> {
        for def in [
            strata_measure::tables::sales(),
            strata_measure::tables::performance(),
        ] {
            engine.lake().ensure_table(&def).await?;
        }
        Ok(Self {
            engine,
            perf: tokio::sync::Mutex::default(),
            sales: tokio::sync::Mutex::default(),
        })
    }

    /// Loads the last measured day, so the first request after start-up does not pay for
    /// DuckDB's first views (a few hundred ms); failures are only logged.
    pub async fn warm(&self) {
        if let Err(e) = self.performance(None).await {
            tracing::warn!(error = %e, "warming the performance cache failed");
        }
    }

    fn lake(&self) -> &Lake {
        self.engine.lake()
    }

    /// The current snapshot of a measurement table and its summary properties (`None`: nothing
    /// written yet).
    async fn snapshot(
        &self,
        def: strata_lake::TableDef,
    ) -> Result<Option<(i64, HashMap<String, String>)>> {
        let table = self.lake().load(&def.ident()).await?;
        Ok(table
            .metadata()
            .current_snapshot()
            .map(|s| (s.snapshot_id(), s.summary().additional_properties.clone())))
    }
}

/// `YYYY-MM-DD` with a year from 1000 to 9999 (what the OpenAPI document's date parameters
/// allow), or why not.
pub fn parse_day(name: &str, text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| text.len() == 10 && (1000..=9999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| format!("`{name}` must be a date like 2026-11-28, not {text:?}"))
}

/// The pattern of [`parse_day`]'s dates, for the OpenAPI document.
pub const DAY_PATTERN: &str = "^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$";
