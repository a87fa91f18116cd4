//! Strata's query layer (layer 3): DuckDB, in process, over consistent snapshots of the lake.
//!
//! Each lake table becomes a DuckDB view named like the table (`commerce.telemetry`) over the
//! data files of one snapshot, resolved through the Iceberg catalog: readers see committed
//! snapshots only, never a half-written file, and no DuckDB extension is needed (nothing may be
//! downloaded at run time). A query may pin a table to a past snapshot with
//! `commerce.telemetry AT SNAPSHOT <id>` or `commerce.telemetry AS OF '<timestamp>'`.
//!
//! - [`QueryEngine`]: opens DuckDB in a sandbox that reads only the lake's files, and runs SQL.
//! - [`QueryOutput`]: the result as Arrow batches, with the snapshot each table was read at.
//! - [`QueryStream`]: the same, batch by batch as DuckDB produces them, within [`QueryLimits`].
//! - [`readonly::check`]: whether a SQL text is one read-only query, and the tables it reads.
//! - [`QueryEngine::run_job`]: a job of several statements over the same views (the
//!   measurements).

mod engine;
mod error;
mod files;
pub mod readonly;
mod travel;

pub use engine::{QueryEngine, QueryLimits, QueryOptions, QueryOutput, QueryStream, TableRead};
pub use error::{QueryError, Result};
pub use travel::SnapshotSelector;

/// DuckDB itself, for jobs ([`QueryEngine::run_job`]).
pub use duckdb;
/// The Arrow types results come in (DuckDB's arrow, the same crate as the lake's).
pub use duckdb::arrow;
