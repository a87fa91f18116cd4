//! Appends to a lake table, exactly once per commit range.
//!
//! One append: reload the table; if its snapshots already hold the range (same commit id, or the
//! lane's committed offset is past it) report [`AppendOutcome::AlreadyCommitted`]; drop rows of a
//! partly committed range; split the rows by day; write Parquet files under names no other job
//! can produce (a UUIDv7 per job: iceberg-rust's default names restart at `00000` per writer and
//! the local store truncates on create, so two jobs could overwrite each other's committed
//! files); then fast-append them with the range in the snapshot summary. A conflicting commit
//! (another writer got in first) is retried on the reloaded table, re-checking the commit id
//! first, so a race between two processes holding the same batch still commits it once.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use arrow_array::{Array, BooleanArray, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use iceberg::{
    Catalog, ErrorKind, Namespace, NamespaceIdent, TableCommit, TableCreation, TableIdent,
    arrow::{RecordBatchPartitionSplitter, schema_to_arrow_schema},
    spec::{DataFile, DataFileFormat, TableMetadata},
    table::Table,
    transaction::{ApplyTransactionAction, Transaction},
    writer::{
        base_writer::data_file_writer::DataFileWriterBuilder,
        file_writer::{
            ParquetWriterBuilder,
            location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator},
            rolling_writer::RollingFileWriterBuilder,
        },
        partitioning::{PartitioningWriter, fanout_writer::FanoutWriter},
    },
};
use parquet::{
    basic::{Compression, GzipLevel, ZstdLevel},
    file::properties::WriterProperties,
};
use serde::Serialize;
use strata_events::Offset;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::{
    config::WriteOptions,
    error::{LakeError, Result},
    offsets::{self, CommitRange},
};

/// What an append did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AppendOutcome {
    /// A new snapshot holds the rows.
    Committed(CommitReport),
    /// The range was already in the table; nothing was written. Safe to acknowledge the offsets.
    AlreadyCommitted {
        /// The commit id asked for.
        commit_id: String,
        /// The snapshot carrying that id, when it is still in the metadata (it is not when an
        /// overlapping range of the lane was committed instead, or it expired).
        snapshot_id: Option<i64>,
        /// The lane's committed offset in the table.
        committed_offset: Offset,
    },
    /// There were no rows to write and nothing was committed.
    Empty,
}

impl AppendOutcome {
    /// The report of a new commit, if there was one.
    pub fn committed(&self) -> Option<&CommitReport> {
        match self {
            Self::Committed(r) => Some(r),
            _ => None,
        }
    }
}

/// A new snapshot's content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitReport {
    /// The table, e.g. `commerce.telemetry`.
    pub table: String,
    /// The commit id in the snapshot summary, when the append had a range.
    pub commit_id: Option<String>,
    /// The new snapshot.
    pub snapshot_id: i64,
    /// The data files added.
    pub files: Vec<WrittenFile>,
    /// Rows added.
    pub rows: u64,
    /// Bytes of Parquet added.
    pub bytes: u64,
    /// Rows dropped because their offsets were already committed.
    pub skipped_rows: u64,
    /// Commit attempts (1 unless other writers committed first).
    pub attempts: u32,
    /// Time spent writing Parquet.
    pub write_ms: u64,
    /// Time spent committing (including retries).
    pub commit_ms: u64,
}

/// One data file of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenFile {
    /// Full location, e.g. `file:///…/data/occurred_ts_day=2025-03-14/0193…-00000.parquet`.
    pub path: String,
    /// Partition, e.g. `occurred_ts_day=2025-03-14`.
    pub partition: String,
    /// Rows.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// Appends record batches to one table.
#[derive(Clone)]
pub struct TableWriter {
    catalog: Arc<dyn Catalog>,
    ident: TableIdent,
    options: WriteOptions,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("ident", &self.ident)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl TableWriter {
    /// A writer of `ident` through `catalog`.
    pub fn new(catalog: Arc<dyn Catalog>, ident: TableIdent, options: WriteOptions) -> Self {
        Self {
            catalog,
            ident,
            options,
        }
    }

    /// The table written.
    pub fn ident(&self) -> &TableIdent {
        &self.ident
    }

    /// Appends `batch` (columns matched to the table's by name) as one snapshot. With a `range`,
    /// the append is exactly once: see the module docs.
    pub async fn append(
        &self,
        batch: RecordBatch,
        range: Option<CommitRange>,
    ) -> Result<AppendOutcome> {
        self.append_with(range, move |target| conform(&batch, target))
            .await
    }

    /// Appends the batch `build` makes in the layout of the table's current schema (its Arrow
    /// form, with field ids), which is only known once the table is loaded.
    pub async fn append_with(
        &self,
        range: Option<CommitRange>,
        build: impl FnOnce(&SchemaRef) -> Result<RecordBatch>,
    ) -> Result<AppendOutcome> {
        let table = self.catalog.load_table(&self.ident).await?;
        let mut range = range;
        let mut skip_below: Option<Offset> = None;
        if let Some(r) = &range {
            match check_committed(table.metadata(), r) {
                Committed::All(outcome) => {
                    debug!(table = %self.ident, commit_id = %r.commit_id(), "already committed");
                    return Ok(outcome);
                }
                Committed::Upto(done) => {
                    skip_below = Some(done);
                    range = Some(r.starting_at(done + 1));
                }
                Committed::None => {}
            }
        }
        let target = Arc::new(schema_to_arrow_schema(table.metadata().current_schema())?);
        let mut batch = build(&target)?;
        let mut skipped_rows = 0u64;
        if let (Some(done), Some(r)) = (skip_below, &range) {
            let before = batch.num_rows();
            batch = drop_committed(&batch, done).ok_or_else(|| LakeError::RangeOverlap {
                lane: r.lane().to_owned(),
                first: r.first(),
                last: r.last(),
                committed: done,
            })??;
            skipped_rows = (before - batch.num_rows()) as u64;
            info!(table = %self.ident, lane = r.lane(), committed = done, skipped_rows,
                "dropped rows of offsets already committed");
        }
        if batch.num_rows() == 0 {
            return Ok(match range {
                Some(r) if skipped_rows > 0 => AppendOutcome::AlreadyCommitted {
                    commit_id: r.commit_id(),
                    snapshot_id: None,
                    committed_offset: skip_below.unwrap_or(0),
                },
                _ => AppendOutcome::Empty,
            });
        }

        let started = Instant::now();
        let files = write_data_files(&table, &batch, self.options.target_file_size_bytes).await?;
        let write_ms = started.elapsed().as_millis() as u64;
        let written: Vec<WrittenFile> = files
            .iter()
            .map(|f| WrittenFile {
                path: f.file_path().to_owned(),
                partition: table
                    .metadata()
                    .default_partition_spec()
                    .partition_to_path(f.partition(), table.metadata().current_schema().clone()),
                rows: f.record_count(),
                bytes: f.file_size_in_bytes(),
            })
            .collect();

        let started = Instant::now();
        let (snapshot_id, attempts) = match self.commit(table, files, range.as_ref()).await {
            Ok(Ok(done)) => done,
            Ok(Err(outcome)) => {
                self.delete_orphans(&written).await;
                return Ok(outcome);
            }
            Err(e) => {
                if matches!(
                    e,
                    LakeError::CommitConflict { .. } | LakeError::RangeOverlap { .. }
                ) {
                    // Not committed for sure: the files are referenced by nothing.
                    self.delete_orphans(&written).await;
                }
                return Err(e);
            }
        };
        let report = CommitReport {
            table: self.ident.to_string(),
            commit_id: range.as_ref().map(CommitRange::commit_id),
            snapshot_id,
            rows: written.iter().map(|f| f.rows).sum(),
            bytes: written.iter().map(|f| f.bytes).sum(),
            files: written,
            skipped_rows,
            attempts,
            write_ms,
            commit_ms: started.elapsed().as_millis() as u64,
        };
        info!(
            table = %report.table,
            commit_id = report.commit_id.as_deref().unwrap_or("-"),
            snapshot_id = report.snapshot_id,
            files = report.files.len(),
            rows = report.rows,
            bytes = report.bytes,
            attempts = report.attempts,
            "committed"
        );
        Ok(AppendOutcome::Committed(report))
    }

    /// Commits `files` with the range's summary, retrying conflicts on the reloaded table.
    /// `Ok(Err(outcome))`: the range turned out to be committed by someone else meanwhile.
    async fn commit(
        &self,
        mut table: Table,
        files: Vec<DataFile>,
        range: Option<&CommitRange>,
    ) -> Result<std::result::Result<(i64, u32), AppendOutcome>> {
        let max = self.options.max_commit_attempts.max(1);
        for attempt in 1..=max {
            if attempt > 1 {
                tokio::time::sleep(backoff(attempt)).await;
                table = self.catalog.load_table(&self.ident).await?;
                if let Some(r) = range {
                    match check_committed(table.metadata(), r) {
                        Committed::All(outcome) => return Ok(Err(outcome)),
                        Committed::Upto(done) => {
                            return Err(LakeError::RangeOverlap {
                                lane: r.lane().to_owned(),
                                first: r.first(),
                                last: r.last(),
                                committed: done,
                            });
                        }
                        Committed::None => {}
                    }
                }
            }
            let summary = range
                .map(|r| r.summary(&offsets::committed_offsets(table.metadata())))
                .unwrap_or_default();
            let tx = Transaction::new(&table);
            let tx = tx
                .fast_append()
                // Names are unique per job; checking would read every manifest on each commit.
                .with_check_duplicate(false)
                .add_data_files(files.clone())
                .set_snapshot_properties(summary)
                .apply(tx)?;
            // Commit against exactly the table checked above: iceberg-rust's commit reloads the
            // table and silently rebases onto a newer snapshot, which would skip that check.
            // Pinned, a newer snapshot fails the snapshot requirement instead, and this loop
            // re-checks before retrying.
            let pinned = Pinned {
                inner: self.catalog.as_ref(),
                table: table.clone(),
            };
            match tx.commit(&pinned).await {
                Ok(updated) => {
                    let id = updated.metadata().current_snapshot_id().ok_or_else(|| {
                        LakeError::Iceberg(iceberg::Error::new(
                            ErrorKind::Unexpected,
                            "the commit left the table without a current snapshot",
                        ))
                    })?;
                    return Ok(Ok((id, attempt)));
                }
                Err(e) if e.kind() == ErrorKind::CatalogCommitConflicts => {
                    debug!(table = %self.ident, attempt, error = %e, "commit conflict; retrying");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(LakeError::CommitConflict {
            commit_id: range
                .map(CommitRange::commit_id)
                .unwrap_or_else(|| "(no range)".to_owned()),
            attempts: max,
        })
    }

    async fn delete_orphans(&self, files: &[WrittenFile]) {
        let Ok(table) = self.catalog.load_table(&self.ident).await else {
            return;
        };
        for f in files {
            if let Err(e) = table.file_io().delete(&f.path).await {
                warn!(path = %f.path, error = %e, "could not delete an uncommitted data file");
            }
        }
    }
}

/// A catalog that hands out one fixed version of one table and passes everything else through,
/// so a transaction commits on the version the writer checked (see [`TableWriter::append`]).
struct Pinned<'a> {
    inner: &'a dyn Catalog,
    table: Table,
}

impl std::fmt::Debug for Pinned<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinned")
            .field("table", self.table.identifier())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Catalog for Pinned<'_> {
    async fn list_namespaces(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> iceberg::Result<Vec<NamespaceIdent>> {
        self.inner.list_namespaces(parent).await
    }

    async fn create_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> iceberg::Result<Namespace> {
        self.inner.create_namespace(namespace, properties).await
    }

    async fn get_namespace(&self, namespace: &NamespaceIdent) -> iceberg::Result<Namespace> {
        self.inner.get_namespace(namespace).await
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> iceberg::Result<bool> {
        self.inner.namespace_exists(namespace).await
    }

    async fn update_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> iceberg::Result<()> {
        self.inner.update_namespace(namespace, properties).await
    }

    async fn drop_namespace(&self, namespace: &NamespaceIdent) -> iceberg::Result<()> {
        self.inner.drop_namespace(namespace).await
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> iceberg::Result<Vec<TableIdent>> {
        self.inner.list_tables(namespace).await
    }

    async fn create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> iceberg::Result<Table> {
        self.inner.create_table(namespace, creation).await
    }

    async fn load_table(&self, table: &TableIdent) -> iceberg::Result<Table> {
        if table == self.table.identifier() {
            Ok(self.table.clone())
        } else {
            self.inner.load_table(table).await
        }
    }

    async fn drop_table(&self, table: &TableIdent) -> iceberg::Result<()> {
        self.inner.drop_table(table).await
    }

    async fn purge_table(&self, table: &TableIdent) -> iceberg::Result<()> {
        self.inner.purge_table(table).await
    }

    async fn table_exists(&self, table: &TableIdent) -> iceberg::Result<bool> {
        self.inner.table_exists(table).await
    }

    async fn rename_table(&self, src: &TableIdent, dest: &TableIdent) -> iceberg::Result<()> {
        self.inner.rename_table(src, dest).await
    }

    async fn register_table(
        &self,
        table: &TableIdent,
        metadata_location: String,
    ) -> iceberg::Result<Table> {
        self.inner.register_table(table, metadata_location).await
    }

    async fn update_table(&self, commit: TableCommit) -> iceberg::Result<Table> {
        self.inner.update_table(commit).await
    }
}

/// How much of a range the table already holds.
enum Committed {
    /// All of it: the outcome to report.
    All(AppendOutcome),
    /// Offsets up to and including this one (inside the range).
    Upto(Offset),
    /// None of it.
    None,
}

fn check_committed(metadata: &TableMetadata, range: &CommitRange) -> Committed {
    let commit_id = range.commit_id();
    let done = offsets::committed_offsets(metadata)
        .get(range.lane())
        .copied()
        .unwrap_or(0);
    if let Some(snapshot_id) = offsets::find_commit(metadata, &commit_id) {
        return Committed::All(AppendOutcome::AlreadyCommitted {
            commit_id,
            snapshot_id: Some(snapshot_id),
            committed_offset: done,
        });
    }
    if range.last() <= done {
        Committed::All(AppendOutcome::AlreadyCommitted {
            commit_id,
            snapshot_id: None,
            committed_offset: done,
        })
    } else if range.first() <= done {
        Committed::Upto(done)
    } else {
        Committed::None
    }
}

/// The rows whose `stream_offset` is past `done`; `None` when the batch has no such column.
fn drop_committed(batch: &RecordBatch, done: Offset) -> Option<Result<RecordBatch>> {
    let column = batch.column_by_name("stream_offset")?;
    let offsets = column.as_any().downcast_ref::<Int64Array>()?;
    let done = i64::try_from(done).unwrap_or(i64::MAX);
    let keep: BooleanArray = offsets
        .iter()
        .map(|o| Some(o.is_none_or(|o| o > done)))
        .collect();
    Some(arrow_select::filter::filter_record_batch(batch, &keep).map_err(LakeError::from))
}

/// 25 ms doubling per attempt up to 2 s, with jitter so racing writers spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 25u64.saturating_mul(1 << attempt.min(7)).min(2_000);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    ) % base.max(1);
    Duration::from_millis(base / 2 + jitter / 2)
}

/// Matches `batch`'s columns to `target` by name (an engine's output carries no field ids),
/// casting where only the representation differs.
pub fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| (f.name().clone(), Arc::clone(c)))
        .collect::<Vec<_>>();
    crate::convert::layout_named(columns, target, batch.num_rows())
}

/// Parquet writer settings from the table's `write.parquet.*` properties (iceberg-rust 0.10
/// ignores the codec property, so the lake reads it itself). Default: zstd level 3.
pub fn writer_properties(
    props: &std::collections::HashMap<String, String>,
) -> Result<WriterProperties> {
    let codec = props
        .get("write.parquet.compression-codec")
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_else(|| "zstd".to_owned());
    let level = props
        .get("write.parquet.compression-level")
        .map(|s| {
            s.parse::<i32>().map_err(|_| {
                LakeError::Config(format!(
                    "write.parquet.compression-level `{s}` is not a number"
                ))
            })
        })
        .transpose()?;
    let compression = match codec.as_str() {
        "zstd" => Compression::ZSTD(ZstdLevel::try_new(level.unwrap_or(3))?),
        "gzip" => Compression::GZIP(GzipLevel::try_new(
            u32::try_from(level.unwrap_or(6)).unwrap_or(6),
        )?),
        "snappy" => Compression::SNAPPY,
        "lz4" => Compression::LZ4_RAW,
        "uncompressed" | "none" => Compression::UNCOMPRESSED,
        other => {
            return Err(LakeError::Config(format!(
                "write.parquet.compression-codec `{other}` is not one of zstd, gzip, snappy, lz4, uncompressed"
            )));
        }
    };
    Ok(WriterProperties::builder()
        .set_compression(compression)
        .build())
}

/// Splits `batch` by partition and writes it as Parquet data files named `<uuidv7>-NNNNN.parquet`.
async fn write_data_files(
    table: &Table,
    batch: &RecordBatch,
    target_file_size: usize,
) -> Result<Vec<DataFile>> {
    let mut sink = FileSink::new(table, target_file_size)?;
    sink.write(batch).await?;
    sink.close().await
}

type Fanout = FanoutWriter<
    DataFileWriterBuilder<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>,
>;

/// Writes batches, split by partition, as Parquet data files of one table named
/// `<uuidv7>-NNNNN.parquet` (unique per sink), rolling at the target size. Batches must have the
/// table's Arrow layout (see [`conform`]).
pub(crate) struct FileSink {
    splitter: RecordBatchPartitionSplitter,
    fanout: Fanout,
}

impl FileSink {
    pub(crate) fn new(table: &Table, target_file_size: usize) -> Result<Self> {
        let metadata = table.metadata();
        let schema = metadata.current_schema().clone();
        let spec = metadata.default_partition_spec().clone();
        let splitter =
            RecordBatchPartitionSplitter::try_new_with_computed_values(schema.clone(), spec)?;
        let parquet = ParquetWriterBuilder::new(writer_properties(metadata.properties())?, schema);
        let names = DefaultFileNameGenerator::new(
            Uuid::now_v7().to_string(),
            None,
            DataFileFormat::Parquet,
        );
        let rolling = RollingFileWriterBuilder::new(
            parquet,
            target_file_size,
            table.file_io().clone(),
            DefaultLocationGenerator::new(metadata)?,
            names,
        );
        Ok(Self {
            splitter,
            fanout: FanoutWriter::new(DataFileWriterBuilder::new(rolling)),
        })
    }

    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        for (key, part) in self.splitter.split(batch)? {
            self.fanout.write(key, part).await?;
        }
        Ok(())
    }

    /// Closes every open file; the data files written, sorted by path (so reports and tests
    /// read the same every run).
    pub(crate) async fn close(self) -> Result<Vec<DataFile>> {
        let mut files: Vec<DataFile> = self.fanout.close().await?;
        files.sort_by(|a, b| a.file_path().cmp(b.file_path()));
        Ok(files)
    }
}
