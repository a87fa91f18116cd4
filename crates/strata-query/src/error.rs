//! Errors of the query layer, phrased for the person who wrote the SQL.

/// What can go wrong answering a query.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// DuckDB refused or failed the statement (syntax, binding, a type error, a sandbox refusal).
    #[error("{0}")]
    Sql(String),
    /// The SQL names a lake table with a snapshot selector that does not resolve.
    #[error("{0}")]
    Snapshot(String),
    /// The statement is not a read-only query ([`crate::readonly::check`]): it would write,
    /// attach, install or load, change a setting, or read something other than lake tables.
    #[error("{0}")]
    Refused(String),
    /// The SQL reads a relation that is not a lake table (nor a name the query defines).
    #[error("{0}")]
    NotLakeTable(String),
    /// The query ran past its time limit and DuckDB was interrupted.
    #[error("the query did not finish within its time limit of {} ms and was stopped", .0.as_millis())]
    Timeout(std::time::Duration),
    /// A table's snapshot has delete files, which this reader does not apply.
    #[error(
        "{table} snapshot {snapshot_id} has {count} delete file(s); Strata's writers never write them and this reader refuses to ignore them: read it with an engine that applies Iceberg deletes, or rewrite the table"
    )]
    DeleteFiles {
        /// The table.
        table: String,
        /// The snapshot.
        snapshot_id: i64,
        /// How many delete files.
        count: usize,
    },
    /// The lake (catalog or storage) failed.
    #[error("lake: {0}")]
    Lake(#[from] strata_lake::LakeError),
    /// Iceberg metadata could not be read.
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
    /// A local file (the cache of remote data files) could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The blocking task running DuckDB failed.
    #[error("query task failed: {0}")]
    Task(String),
}

impl From<duckdb::Error> for QueryError {
    fn from(e: duckdb::Error) -> Self {
        Self::Sql(e.to_string())
    }
}

impl QueryError {
    /// True when the fault is in the query (its text, a table or snapshot it names), not in
    /// Strata or its storage: the HTTP layer answers 400 for these.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Self::Sql(_)
                | Self::Snapshot(_)
                | Self::Refused(_)
                | Self::NotLakeTable(_)
                | Self::Timeout(_)
                | Self::DeleteFiles { .. }
        )
    }
}

/// The crate's result type.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
