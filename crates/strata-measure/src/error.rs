//! What can go wrong computing the measurements.

/// Errors of the measurement jobs.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The lake failed (catalog, storage, commit).
    #[error("lake: {0}")]
    Lake(#[from] strata_lake::LakeError),
    /// DuckDB failed.
    #[error("query: {0}")]
    Query(#[from] strata_query::QueryError),
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Db(String),
    /// The input asked for something impossible (a bad time zone, an empty range).
    #[error("{0}")]
    Invalid(String),
    /// A background task failed.
    #[error("task failed: {0}")]
    Task(String),
}

impl From<strata_domain::db::DbError> for MeasureError {
    fn from(e: strata_domain::db::DbError) -> Self {
        Self::Db(e.to_string())
    }
}

impl From<tokio_postgres::Error> for MeasureError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(strata_domain::db::pg_reason(&e))
    }
}

impl From<duckdb_error::Error> for MeasureError {
    fn from(e: duckdb_error::Error) -> Self {
        Self::Query(strata_query::QueryError::from(e))
    }
}

use strata_query::duckdb as duckdb_error;

/// The crate's result type.
pub type Result<T, E = MeasureError> = std::result::Result<T, E>;
