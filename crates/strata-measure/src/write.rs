//! Computing a table's rows in DuckDB and committing them as whole days of a lake table.
//!
//! The rows are materialized in DuckDB first, so a failing query fails before anything is
//! written; then they stream into the lake writer while DuckDB hands them out, and the stream
//! only ends cleanly once every row counted in DuckDB has been handed over. A stream that stops
//! early is an error, never a replacement with fewer rows.

use std::collections::{BTreeSet, HashMap};

use arrow_array::RecordBatch;
use chrono::NaiveDate;
use futures_util::Stream;
use iceberg::TableIdent;
use strata_lake::{Lake, LakeError, ReplaceReport};
use strata_query::{QueryEngine, QueryError, TableRead};
use tokio::sync::mpsc;

use crate::error::Result;

enum Msg {
    Batch(RecordBatch),
    Done,
}

/// The rows of a [`DayJob`].
pub(crate) enum Rows {
    /// A SELECT over the lake's views, materialized first so it fails before anything is written.
    Compute(String),
    /// A SELECT over a table the job computed earlier in DuckDB and does not change meanwhile:
    /// already materialized, so streamed as it is.
    Stored(String),
}

/// Rows to compute in DuckDB and the days of a lake table they replace.
pub(crate) struct DayJob<'a> {
    /// Lake tables the computation reads (their views are defined at current snapshots).
    pub reads: &'a [TableIdent],
    /// Where the rows come from, in the target table's columns.
    pub rows: Rows,
    /// The table written.
    pub target: &'a TableIdent,
    /// The days replaced; every row must fall on one of them.
    pub days: &'a BTreeSet<NaiveDate>,
    /// Snapshot summary properties of the commit.
    pub properties: HashMap<String, String>,
}

/// Replaces the job's days of its target with the job's rows (materialized first when they
/// are computed).
pub(crate) async fn replace_days_with(
    engine: &QueryEngine,
    lake: &Lake,
    job: DayJob<'_>,
) -> Result<(ReplaceReport, Vec<TableRead>)> {
    let DayJob {
        reads,
        rows,
        target,
        days,
        properties,
    } = job;
    let (tx, rx) = mpsc::channel::<Msg>(4);
    let job = engine.run_job(reads, move |conn| {
        let select = match rows {
            Rows::Compute(select) => {
                conn.execute_batch(&format!("CREATE OR REPLACE TEMP TABLE m_out AS {select};"))?;
                "SELECT * FROM m_out".to_owned()
            }
            Rows::Stored(select) => select,
        };
        let expected: i64 =
            conn.query_row(&format!("SELECT count(*) FROM ({select})"), [], |r| {
                r.get(0)
            })?;
        let mut stmt = conn.prepare(&select)?;
        let mut sent = 0i64;
        for batch in stmt.query_arrow([])? {
            sent += i64::try_from(batch.num_rows()).unwrap_or(i64::MAX);
            if tx.blocking_send(Msg::Batch(batch)).is_err() {
                return Err(QueryError::Task("the lake writer stopped reading".into()));
            }
        }
        if sent != expected {
            return Err(QueryError::Task(format!(
                "DuckDB handed over {sent} of {expected} rows"
            )));
        }
        let _ = tx.blocking_send(Msg::Done);
        conn.execute_batch("DROP TABLE IF EXISTS m_out;")?;
        Ok(sent)
    });
    let write = lake.replace_days(target, days, batches(rx), properties);
    let (job, write) = tokio::join!(job, write);
    // The job's error explains a writer that saw the stream break off.
    let (_, reads) = job?;
    Ok((write?, reads))
}

/// The batches until `Done`; the channel closing before it is an error.
fn batches(
    rx: mpsc::Receiver<Msg>,
) -> impl Stream<Item = strata_lake::Result<RecordBatch>> + Unpin {
    Box::pin(futures_util::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Msg::Batch(b)) => Some((Ok(b), Some(rx))),
            Some(Msg::Done) => None,
            None => Some((
                Err(LakeError::Task(
                    "the computation stopped before handing over every row".into(),
                )),
                None,
            )),
        }
    }))
}

/// A DuckDB string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
