//! Strata's lake (layer 2): the three telemetry streams as Apache Iceberg tables that DuckDB,
//! Spark, Trino or PyIceberg can read, written exactly once.
//!
//! - [`LakeTable`]: `commerce.telemetry`, `publication.telemetry`, `sync.telemetry` and a
//!   `<namespace>.rejected` dead-letter table each; partitioned by day, zstd Parquet.
//! - [`LakeConfig`]: an embedded catalog (SQLite, [`SqliteCatalog`]) and local warehouse under the
//!   data directory by default; an Iceberg REST catalog and S3-compatible storage otherwise.
//! - [`Lake`]: opens the catalog, creates the tables ([`Lake::ensure_tables`]), writes batches of
//!   log deliveries ([`Lake::write_deliveries`]) or dead letters, and reads tables back
//!   ([`Lake::describe`], [`Lake::scan_stats`]).
//! - Exactly once ([`offsets`]): each commit carries `strata.commit-id` = `<stream>:<lane>:
//!   <first>-<last>` and the lane's offsets in its snapshot summary; a retried batch is recognized
//!   and skipped, and [`Lake::committed_offset`] tells a restarted pipeline where to resume.

mod archive;
mod catalog;
mod config;
mod convert;
mod error;
mod inspect;
pub mod offsets;
mod replace;
mod spec;
mod table_def;
mod writer;

use std::{collections::BTreeMap, sync::Arc};

pub use archive::{Archive, ArchiveReader};
pub use catalog::{NamespacePropertiesChange, SqliteCatalog, ensure_tables, open_catalog};
pub use config::{
    CATALOG_NAME, CatalogConfig, LakeConfig, RestCatalogConfig, S3Config, Secret, StorageConfig,
    WriteOptions,
};
pub use convert::{EventRow, RejectedRecord, events_batch, rejected_batch};
pub use error::{LakeError, Result};
pub use iceberg;
use iceberg::{Catalog, TableIdent, table::Table};
pub use inspect::{
    ColumnInfo, ColumnSum, FileInfo, ScanStats, SnapshotFiles, SnapshotInfo, TableDescription,
    TableSummary, describe, list_tables, live_files, scan_stats, snapshot_files, summarize,
};
pub use offsets::{CommitRange, DEFAULT_LANE};
pub use replace::{ReplaceReport, epoch_day};
pub use spec::{
    Column, LakeTable, MONEY_PRECISION, MONEY_SCALE, col, columns_schema, day_partition, long,
    money, string, table_properties,
};
use strata_events::{Delivery, Event, Offset, StreamName};
pub use table_def::{TableDef, ensure_table};
pub use writer::{
    AppendOutcome, CommitReport, TableWriter, WrittenFile, conform, writer_properties,
};

/// An open lake: its catalog and how it writes.
#[derive(Clone)]
pub struct Lake {
    catalog: Arc<dyn Catalog>,
    /// The same catalog, when it is the embedded one.
    embedded: Option<SqliteCatalog>,
    config: LakeConfig,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Lake {
    /// Opens the catalog and storage of `config`. Does not create tables: call
    /// [`Lake::ensure_tables`] once at startup.
    pub async fn open(config: LakeConfig) -> Result<Lake> {
        let (catalog, embedded) = catalog::open_catalog_parts(&config).await?;
        Ok(Lake {
            catalog,
            embedded,
            config,
        })
    }

    /// The catalog, for anything this API does not cover.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The embedded catalog, when the lake has one (not with a REST catalog): what Strata serves
    /// over the Iceberg REST protocol.
    pub fn embedded_catalog(&self) -> Option<&SqliteCatalog> {
        self.embedded.as_ref()
    }

    /// The configuration the lake was opened with.
    pub fn config(&self) -> &LakeConfig {
        &self.config
    }

    /// The warehouse's storage for files that are not table data (ingest archives).
    pub fn archive(&self) -> Result<Archive> {
        Archive::open(&self.config)
    }

    /// Creates the namespaces and tables that are missing; returns those created.
    pub async fn ensure_tables(&self) -> Result<Vec<LakeTable>> {
        ensure_tables(self.catalog.as_ref()).await
    }

    /// Creates the namespace and table of `def` if missing; true if it created the table.
    pub async fn ensure_table(&self, def: &TableDef) -> Result<bool> {
        ensure_table(self.catalog.as_ref(), def).await
    }

    /// Commits `updates` to table `ident` if every requirement holds: through the embedded
    /// catalog, or as a REST commit request. A lost race is the retryable
    /// [`iceberg::ErrorKind::CatalogCommitConflicts`].
    pub async fn commit_updates(
        &self,
        ident: &TableIdent,
        requirements: Vec<iceberg::TableRequirement>,
        updates: Vec<iceberg::TableUpdate>,
    ) -> Result<()> {
        match (&self.embedded, &self.config.catalog) {
            (Some(embedded), _) => {
                embedded.commit_table(ident, &requirements, updates).await?;
                Ok(())
            }
            (None, CatalogConfig::Rest(rest)) => {
                catalog::rest_commit::commit(rest, ident, &requirements, &updates).await
            }
            (None, CatalogConfig::Embedded { .. }) => Err(LakeError::Config(
                "the embedded catalog is configured but not open".to_owned(),
            )),
        }
    }

    /// A writer of `table`.
    pub fn writer(&self, table: LakeTable) -> TableWriter {
        TableWriter::new(
            Arc::clone(&self.catalog),
            table.ident(),
            self.config.write.clone(),
        )
    }

    /// Loads a table by identifier.
    pub async fn load(&self, ident: &TableIdent) -> Result<Table> {
        Ok(self.catalog.load_table(ident).await?)
    }

    /// Writes log deliveries of `stream` (one lane) to `<stream>.telemetry`, exactly once: the
    /// commit covers offsets `min..=max` of the deliveries, and a range the table already holds
    /// is skipped. Acknowledge the offsets to the log only after this returns `Ok`.
    pub async fn write_deliveries(
        &self,
        stream: StreamName,
        lane: &str,
        deliveries: &[Delivery],
    ) -> Result<AppendOutcome> {
        let (Some(first), Some(last)) = (
            deliveries.iter().map(|d| d.offset).min(),
            deliveries.iter().map(|d| d.offset).max(),
        ) else {
            return Ok(AppendOutcome::Empty);
        };
        let range = CommitRange::new(stream, lane, first, last)?;
        let rows: Vec<EventRow<'_>> = deliveries
            .iter()
            .map(|d| (Some(d.offset), &d.event))
            .collect();
        self.writer(LakeTable::Telemetry(stream))
            .append_with(Some(range), |target| events_batch(stream, &rows, target))
            .await
    }

    /// Writes events of `stream` to `<stream>.telemetry` with an explicit commit range (or none,
    /// for events that did not come through a log: then a retry writes them again).
    pub async fn write_events(
        &self,
        stream: StreamName,
        events: &[Event],
        range: Option<CommitRange>,
    ) -> Result<AppendOutcome> {
        let rows: Vec<EventRow<'_>> = events.iter().map(|e| (None, e)).collect();
        self.writer(LakeTable::Telemetry(stream))
            .append_with(range, |target| events_batch(stream, &rows, target))
            .await
    }

    /// Writes dead letters of `stream` to `<stream>.rejected`. With a lane, rows must all carry
    /// offsets and the commit is exactly once like [`Lake::write_deliveries`].
    pub async fn write_rejected(
        &self,
        stream: StreamName,
        lane: Option<&str>,
        rows: &[RejectedRecord],
    ) -> Result<AppendOutcome> {
        if rows.is_empty() {
            return Ok(AppendOutcome::Empty);
        }
        let range = match lane {
            Some(lane) => {
                let offsets: Option<Vec<Offset>> = rows.iter().map(|r| r.offset).collect();
                let offsets = offsets.ok_or_else(|| {
                    LakeError::Config(
                        "an exactly-once dead-letter write needs an offset on every row".to_owned(),
                    )
                })?;
                let first = offsets.iter().copied().min().unwrap_or(0);
                let last = offsets.iter().copied().max().unwrap_or(0);
                Some(CommitRange::new(stream, lane, first, last)?)
            }
            None => None,
        };
        self.writer(LakeTable::Rejected(stream))
            .append_with(range, |target| rejected_batch(stream, rows, target))
            .await
    }

    /// The committed offset of every lane of `table`, read from its snapshot summaries.
    pub async fn committed_offsets(&self, table: LakeTable) -> Result<BTreeMap<String, Offset>> {
        let loaded = self.catalog.load_table(&table.ident()).await?;
        Ok(offsets::committed_offsets(loaded.metadata()))
    }

    /// The committed offset of one lane of `<stream>.telemetry` (0 if none): where a restarted
    /// pipeline resumes, whatever the log's consumer offset says.
    pub async fn committed_offset(&self, stream: StreamName, lane: &str) -> Result<Offset> {
        Ok(self
            .committed_offsets(LakeTable::Telemetry(stream))
            .await?
            .get(lane)
            .copied()
            .unwrap_or(0))
    }

    /// Every table in the catalog.
    pub async fn list_tables(&self) -> Result<Vec<TableIdent>> {
        list_tables(self.catalog.as_ref()).await
    }

    /// Describes a table (schema, partition spec, snapshots, files, totals).
    pub async fn describe(&self, ident: &TableIdent) -> Result<TableDescription> {
        describe(&self.load(ident).await?).await
    }

    /// A table's current snapshot, rows, files and bytes (what `strata lake tables` lists).
    pub async fn summarize(&self, ident: &TableIdent) -> Result<TableSummary> {
        summarize(&self.load(ident).await?).await
    }

    /// Row count (and a column's sum) of a table's current snapshot, through the Iceberg scan.
    pub async fn scan_stats(
        &self,
        ident: &TableIdent,
        sum_column: Option<&str>,
    ) -> Result<ScanStats> {
        scan_stats(&self.load(ident).await?, sum_column).await
    }
}
