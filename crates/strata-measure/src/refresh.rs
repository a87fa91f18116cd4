//! Running the measurements: which days to recompute, in what order, with progress.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::Path,
    sync::Arc,
};

use arrow_array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::NaiveDate;
use iceberg::TableIdent;
use serde::Serialize;
use strata_events::StreamName;
use strata_lake::{Lake, LakeTable, ReplaceReport, epoch_day};
use strata_query::{QueryEngine, QueryOptions, duckdb::params};
use tracing::info;

use crate::{
    error::{MeasureError, Result},
    performance,
    products::ProductDim,
    sales,
    spec::AppliedSpec,
    tables,
    write::{DayJob, Rows, replace_days_with},
    zone::ReportingZone,
};

/// Snapshot summary key: the `commerce.telemetry` snapshot the sales are complete up to.
pub const PROP_SOURCE_SNAPSHOT: &str = "strata.source-snapshot";
/// Snapshot summary key: the reporting time zone the days are counted in.
pub const PROP_TIME_ZONE: &str = "strata.time-zone";
/// Snapshot summary key: the spec versions replicated (`uid:version,…`).
pub const PROP_SPEC_VERSIONS: &str = "strata.spec-versions";

/// Days per commit when many days are recomputed: each commit replaces its days atomically and
/// moves the progress bar.
pub const DAYS_PER_COMMIT: usize = 31;

/// How far a long job has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `sales` or `performance`.
    pub stage: &'static str,
    /// Days done.
    pub done: u64,
    /// Days to do.
    pub total: u64,
}

/// Which sales days to recompute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SalesScope {
    /// The days the commerce events committed since the last refresh can fall on (all days on
    /// the first run, or after the time zone changed).
    Changed,
    /// Every day with events.
    All,
}

/// What a sales refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalesReport {
    /// Days recomputed.
    pub days: usize,
    /// Rows written.
    pub rows: u64,
    /// Rows the recomputed days held before.
    pub replaced_rows: u64,
    /// The `commerce.telemetry` snapshot the sales are now complete up to.
    pub source_snapshot: Option<i64>,
    /// Commits made.
    pub commits: usize,
}

/// What a performance refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PerformanceReport {
    /// As-of days computed.
    pub days: usize,
    /// Rows written.
    pub rows: u64,
    /// Rows the days held before.
    pub replaced_rows: u64,
    /// Commits made.
    pub commits: usize,
}

/// The measurement jobs over one lake, counting days in one reporting zone.
pub struct Measurements {
    lake: Lake,
    engine: QueryEngine,
    zone: ReportingZone,
}

impl std::fmt::Debug for Measurements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measurements")
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

impl Measurements {
    /// Creates the measurement tables if missing and opens a DuckDB engine of its own (jobs hold
    /// their connection for as long as they run). `data_dir` holds the engine's file cache.
    pub async fn open(lake: Lake, data_dir: &Path, zone: ReportingZone) -> Result<Self> {
        lake.ensure_tables().await?;
        for def in [
            tables::objective_spec(),
            tables::sales(),
            tables::performance(),
        ] {
            lake.ensure_table(&def).await?;
        }
        let engine = QueryEngine::open(lake.clone(), QueryOptions::under(data_dir)).await?;
        Ok(Self { lake, engine, zone })
    }

    /// The reporting zone.
    pub fn zone(&self) -> ReportingZone {
        self.zone
    }

    /// The engine the jobs run on (a query over the same views sees what they wrote).
    pub fn engine(&self) -> &QueryEngine {
        &self.engine
    }

    /// Writes every spec version (plus the built-in version 0) to
    /// `configuration.objective_spec`, unless it already holds exactly those.
    pub async fn replicate_spec(&self, versions: &[AppliedSpec]) -> Result<Option<ReplaceReport>> {
        replicate_spec(&self.lake, versions).await
    }

    /// Recomputes the sales of the days `scope` asks for.
    pub async fn refresh_sales(
        &self,
        scope: SalesScope,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<SalesReport> {
        let commerce = LakeTable::Telemetry(StreamName::Commerce).ident();
        let sales_ident = tables::sales().ident();
        let commerce_table = self.lake.load(&commerce).await?;
        let Some(source) = commerce_table.metadata().current_snapshot_id() else {
            return Ok(SalesReport::default());
        };
        let sales_table = self.lake.load(&sales_ident).await?;
        let summary = sales_table
            .metadata()
            .current_snapshot()
            .map(|s| s.summary().additional_properties.clone())
            .unwrap_or_default();
        let previous = summary
            .get(PROP_SOURCE_SNAPSHOT)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|id| commerce_table.metadata().snapshot_by_id(*id).is_some());
        let same_zone = summary.get(PROP_TIME_ZONE).map(String::as_str) == Some(self.zone.name());
        let days: BTreeSet<NaiveDate> = match (scope, previous, same_zone) {
            (SalesScope::Changed, Some(prev), true) if prev == source => BTreeSet::new(),
            (SalesScope::Changed, Some(prev), true) => {
                let before: BTreeSet<String> = strata_lake::snapshot_files(&commerce_table, prev)
                    .await?
                    .data
                    .into_iter()
                    .map(|f| f.path)
                    .collect();
                strata_lake::snapshot_files(&commerce_table, source)
                    .await?
                    .data
                    .into_iter()
                    .filter(|f| !before.contains(&f.path))
                    .filter_map(|f| partition_date(&f.partition))
                    .flat_map(sales::local_days_of_utc_day)
                    .collect()
            }
            _ => {
                let mut days = self
                    .days_of(
                        &sales::event_days_sql(self.zone),
                        std::slice::from_ref(&commerce),
                    )
                    .await?;
                days.extend(
                    self.days_of(
                        "SELECT DISTINCT CAST(day AS VARCHAR) FROM measurement.sales",
                        std::slice::from_ref(&sales_ident),
                    )
                    .await?,
                );
                days
            }
        };
        let mut report = SalesReport {
            days: days.len(),
            source_snapshot: Some(source),
            ..SalesReport::default()
        };
        if days.is_empty() {
            return Ok(report);
        }
        let chunks = chunk(&days, DAYS_PER_COMMIT);
        let total = days.len() as u64;
        let mut done = 0u64;
        progress(Progress {
            stage: "sales",
            done,
            total,
        });
        let last = chunks.len() - 1;
        for (i, days) in chunks.into_iter().enumerate() {
            // Only the last commit says the sales are complete up to `source`: a run that stops
            // half-way leaves the previous mark, so the next run recomputes what it had to.
            let mut props =
                HashMap::from([(PROP_TIME_ZONE.to_owned(), self.zone.name().to_owned())]);
            let mark = if i == last {
                Some(source)
            } else {
                previous.filter(|_| same_zone)
            };
            if let Some(mark) = mark {
                props.insert(PROP_SOURCE_SNAPSHOT.to_owned(), mark.to_string());
            }
            let (written, _) = replace_days_with(
                &self.engine,
                &self.lake,
                DayJob {
                    reads: std::slice::from_ref(&commerce),
                    rows: Rows::Compute(sales::select(self.zone, &days)),
                    target: &sales_ident,
                    days: &days,
                    properties: props,
                },
            )
            .await?;
            report.rows += written.added_rows;
            report.replaced_rows += written.removed_rows;
            report.commits += usize::from(written.snapshot_id.is_some());
            done += days.len() as u64;
            progress(Progress {
                stage: "sales",
                done,
                total,
            });
        }
        info!(
            days = report.days,
            rows = report.rows,
            source_snapshot = source,
            "sales refreshed"
        );
        Ok(report)
    }

    /// Computes performance for every as-of day in `[from, to]` from the sales as they stand,
    /// with each day's spec the one in effect at its end.
    pub async fn refresh_performance(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        products: &[ProductDim],
        versions: &[AppliedSpec],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<PerformanceReport> {
        if from > to {
            return Err(MeasureError::Invalid(format!(
                "the range {from}..{to} is empty: --from must not be after --to"
            )));
        }
        let days: BTreeSet<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        let specs: BTreeMap<NaiveDate, AppliedSpec> = days
            .iter()
            .map(|d| (*d, AppliedSpec::in_effect(versions, self.zone.end_of(*d))))
            .collect();
        let zone = self.zone;
        let product_rows: Vec<(String, String, bool, i32)> = products
            .iter()
            .map(|p| {
                (
                    p.uid.clone(),
                    p.title.clone(),
                    p.is_active,
                    epoch_day(p.launch_day(zone)),
                )
            })
            .collect();
        let spec_sql = performance::create_specs(&performance::spec_rows(&specs));
        let sales_ident = tables::sales().ident();
        let perf_ident = tables::performance().ident();
        let compute = performance::select(from, to);
        let total = days.len() as u64;
        progress(Progress {
            stage: "performance",
            done: 0,
            total,
        });
        // One computation for the whole range, then one commit per chunk of days.
        self.engine
            .run_job(std::slice::from_ref(&sales_ident), move |conn| {
                load_products(conn, &product_rows)?;
                conn.execute_batch(&spec_sql)?;
                conn.execute_batch(&format!("CREATE OR REPLACE TABLE m_perf AS {compute};"))?;
                Ok(())
            })
            .await?;
        let mut report = PerformanceReport {
            days: days.len(),
            ..PerformanceReport::default()
        };
        let mut done = 0u64;
        for chunk_days in chunk(&days, DAYS_PER_COMMIT) {
            let (Some(first), Some(last)) = (chunk_days.first(), chunk_days.last()) else {
                continue;
            };
            let (written, _) = replace_days_with(
                &self.engine,
                &self.lake,
                DayJob {
                    reads: &[],
                    rows: Rows::Stored(format!(
                        "SELECT * FROM m_perf WHERE as_of_day BETWEEN DATE '{first}' AND DATE '{last}' ORDER BY as_of_day, product_uid"
                    )),
                    target: &perf_ident,
                    days: &chunk_days,
                    properties: HashMap::from([(PROP_TIME_ZONE.to_owned(), zone.name().to_owned())]),
                },
            )
            .await?;
            report.rows += written.added_rows;
            report.replaced_rows += written.removed_rows;
            report.commits += usize::from(written.snapshot_id.is_some());
            done += chunk_days.len() as u64;
            progress(Progress {
                stage: "performance",
                done,
                total,
            });
        }
        self.engine
            .run_job(&[], |conn| {
                conn.execute_batch("DROP TABLE IF EXISTS m_perf;")?;
                Ok(())
            })
            .await?;
        info!(days = report.days, rows = report.rows, %from, %to, "performance refreshed");
        Ok(report)
    }

    /// The dates a one-column query of `YYYY-MM-DD` text returns.
    async fn days_of(&self, sql: &str, reads: &[TableIdent]) -> Result<BTreeSet<NaiveDate>> {
        let sql = sql.to_owned();
        let (days, _) = self
            .engine
            .run_job(reads, move |conn| {
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                let mut days = Vec::new();
                for row in rows {
                    days.push(row?);
                }
                Ok(days)
            })
            .await?;
        Ok(days
            .iter()
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .collect())
    }
}

/// The product dimension as the DuckDB table the performance query joins.
fn load_products(
    conn: &strata_query::duckdb::Connection,
    rows: &[(String, String, bool, i32)],
) -> strata_query::Result<()> {
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TABLE {} (uid VARCHAR, title VARCHAR, is_active BOOLEAN, launch_epoch INTEGER);",
        performance::PRODUCTS
    ))?;
    let mut appender = conn.appender(performance::PRODUCTS)?;
    for (uid, title, active, launch) in rows {
        appender.append_row(params![uid, title, active, launch])?;
    }
    appender.flush()?;
    Ok(())
}

/// `occurred_ts_day=2026-11-28` → the date.
fn partition_date(partition: &str) -> Option<NaiveDate> {
    let value = partition.rsplit('=').next()?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()
}

fn chunk(days: &BTreeSet<NaiveDate>, size: usize) -> Vec<BTreeSet<NaiveDate>> {
    let days: Vec<NaiveDate> = days.iter().copied().collect();
    days.chunks(size.max(1))
        .map(|c| c.iter().copied().collect())
        .collect()
}

/// The rows of `configuration.objective_spec`.
fn spec_batch(versions: &[AppliedSpec]) -> Result<RecordBatch> {
    let strings = |f: &dyn Fn(&AppliedSpec) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            versions.iter().map(f).collect::<Vec<_>>(),
        ))
    };
    let longs = |f: &dyn Fn(&AppliedSpec) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from(versions.iter().map(f).collect::<Vec<_>>()))
    };
    let ts: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(
            versions
                .iter()
                .map(|v| v.effective_ts.timestamp_micros())
                .collect::<Vec<_>>(),
        )
        .with_timezone("+00:00"),
    );
    let schema = Schema::new(vec![
        Field::new("spec_uid", DataType::Utf8, false),
        Field::new("version", DataType::Int32, false),
        Field::new(
            "effective_ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            false,
        ),
        Field::new("top_riser_7_day_threshold", DataType::Int64, false),
        Field::new("top_riser_14_day_threshold", DataType::Int64, false),
        Field::new("winner_30_day_threshold", DataType::Int64, false),
        Field::new("banana_count", DataType::Int64, false),
        Field::new("precedence", DataType::Utf8, false),
        Field::new("spec", DataType::Utf8, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            strings(&|v| v.uid.clone()),
            Arc::new(Int32Array::from(
                versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            )),
            ts,
            longs(&|v| v.top_riser_7_day_threshold),
            longs(&|v| v.top_riser_14_day_threshold),
            longs(&|v| v.winner_30_day_threshold),
            longs(&|v| v.banana_count),
            strings(&|v| v.precedence.join(",")),
            strings(&|v| v.to_json()),
        ],
    )
    .map_err(|e| MeasureError::Invalid(format!("spec rows: {e}")))
}

/// Writes every spec version (plus the built-in version 0) to `configuration.objective_spec`,
/// unless it already holds exactly those. Called by every refresh, and by the server right after
/// a spec `PUT` so the lake has the new version before the next refresh. Creates the table if
/// missing.
pub async fn replicate_spec(
    lake: &Lake,
    versions: &[AppliedSpec],
) -> Result<Option<ReplaceReport>> {
    let mut all = vec![AppliedSpec::defaults()];
    all.extend(versions.iter().filter(|v| v.version != 0).cloned());
    all.sort_by_key(|v| v.version);
    let fingerprint = all
        .iter()
        .map(|v| format!("{}:{}", v.uid, v.version))
        .collect::<Vec<_>>()
        .join(",");
    lake.ensure_table(&tables::objective_spec()).await?;
    let ident = tables::objective_spec().ident();
    let table = lake.load(&ident).await?;
    let current = table.metadata().current_snapshot().and_then(|s| {
        s.summary()
            .additional_properties
            .get(PROP_SPEC_VERSIONS)
            .cloned()
    });
    if current.as_deref() == Some(fingerprint.as_str()) {
        return Ok(None);
    }
    let days: BTreeSet<NaiveDate> = all.iter().map(|v| v.effective_ts.date_naive()).collect();
    let batch = spec_batch(&all)?;
    let report = lake
        .replace_days(
            &ident,
            &days,
            futures_util::stream::iter(vec![Ok(batch)]),
            HashMap::from([(PROP_SPEC_VERSIONS.to_owned(), fingerprint)]),
        )
        .await?;
    Ok(Some(report))
}
