//! The lake's errors: one enum, so callers (the pipeline, `strata lake`) can tell a retryable
//! storage or catalog outage from bad input or a bug.

use std::path::PathBuf;

/// Everything that can go wrong in the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The Iceberg library failed: catalog, metadata, manifests, storage or Parquet writing.
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
    /// Building or reading Arrow data failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Reading Parquet metadata failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// The embedded catalog database (SQLite) failed.
    #[error("catalog database {}: {source}", path.display())]
    CatalogDb {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A local file or directory could not be created or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The lake configuration is unusable (a bad URL, a missing setting).
    #[error("lake configuration: {0}")]
    Config(String),
    /// A lane name that cannot appear in a commit id.
    #[error(
        "invalid lane `{0}`: 1 to 64 characters of A-Z, a-z, 0-9, `_`, `-` or `.` (it becomes part of the commit id)"
    )]
    InvalidLane(String),
    /// Events of one stream were handed to the writer of another.
    #[error("an event of {found} was given to the writer of {expected}")]
    WrongStream {
        /// The writer's stream.
        expected: strata_events::StreamName,
        /// The event's stream.
        found: strata_events::StreamName,
    },
    /// A commit range whose first offset is after its last.
    #[error("invalid commit range {first}-{last}: the first offset is after the last")]
    InvalidRange {
        /// First offset.
        first: u64,
        /// Last offset.
        last: u64,
    },
    /// Part of the range is already in the table and the rows cannot be told apart by offset.
    #[error(
        "commit range {first}-{last} of lane `{lane}` overlaps offsets already committed (up to {committed}) and the rows carry no `stream_offset` column to drop the committed ones"
    )]
    RangeOverlap {
        /// The lane.
        lane: String,
        /// First offset of the range.
        first: u64,
        /// Last offset of the range.
        last: u64,
        /// The lane's committed offset in the table.
        committed: u64,
    },
    /// Other writers kept committing first; the commit was retried until the limit.
    #[error("commit {commit_id} still conflicted after {attempts} attempts")]
    CommitConflict {
        /// The commit id.
        commit_id: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A value that does not fit its column (an amount, a counter).
    #[error("value out of range for column `{column}`: {detail}")]
    ValueOutOfRange {
        /// The column.
        column: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A column the caller named does not exist in the table.
    #[error("table {table} has no column `{column}`")]
    NoSuchColumn {
        /// The table.
        table: String,
        /// The column asked for.
        column: String,
    },
    /// A column whose type cannot be summed, or a table column the writer cannot fill.
    #[error("column `{column}`: {detail}")]
    UnsupportedColumn {
        /// The column.
        column: String,
        /// Why.
        detail: String,
    },
    /// A table name that is not `<namespace>.<table>`, or a table this lake does not know.
    #[error("unknown table `{0}`: expected `<namespace>.<table>`, e.g. `commerce.telemetry`")]
    UnknownTable(String),
    /// A snapshot id the table does not have (expired, or never existed).
    #[error(
        "table {table} has no snapshot {snapshot_id}: list its snapshots with `strata lake snapshots {table}`"
    )]
    NoSuchSnapshot {
        /// The table.
        table: String,
        /// The snapshot asked for.
        snapshot_id: i64,
    },
    /// A blocking task (SQLite access) panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),

    /// A day replacement was given a row of a day it does not replace.
    #[error(
        "a row for {day} was given to replace other days of {table}; every row must fall on a replaced day"
    )]
    OutsideReplacedDays {
        /// The table.
        table: String,
        /// The stray row's day.
        day: String,
    },

    /// The REST catalog refused or failed a commit Strata sent it directly.
    #[error("REST catalog commit to {table}: {detail}")]
    RestCommit {
        /// The table.
        table: String,
        /// What the catalog said.
        detail: String,
    },
}

impl LakeError {
    /// True when retrying later may succeed (storage, catalog or network trouble, conflicts), as
    /// opposed to input or configuration that will fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Iceberg(e) => matches!(
                e.kind(),
                iceberg::ErrorKind::Unexpected | iceberg::ErrorKind::CatalogCommitConflicts
            ),
            Self::CatalogDb { .. } | Self::Io { .. } | Self::CommitConflict { .. } => true,
            Self::Task(_) => true,
            _ => false,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = LakeError> = std::result::Result<T, E>;
