//! Step `ingest-orders`: the archived JSONL, stream-parsed ([`OrdersReader`]) and applied in
//! batches of [`RECOMMENDED_BATCH`] through [`OrderIngest`]'s pipeline.
//!
//! Read from the archive, not from Shopify, so a retry or a replay after a crash parses the same
//! bytes. Idempotent on retry: the ingest upserts by Shopify id and skips unchanged orders, and
//! every event id is derived from its fact, so batches a failed attempt committed are found
//! unchanged and their events counted as duplicates.
//!
//! A malformed line is quarantined by the reader (its line number and why) and the run goes on;
//! the step's result lists the first [`MAX_REPORTED_QUARANTINED`] of them and counts them all.

use serde::{Deserialize, Serialize};
use strata_events::StreamName;
use strata_lake::Archive;
use strata_shopify::OrdersReader;
use strata_workflow::Attempt;
use tokio::io::BufReader;

use super::error::DailySyncError;
use crate::env::SyncEnv;
use crate::ingest::{IngestReport, OrderIngest, RECOMMENDED_BATCH};

/// Quarantined lines listed in the step's result (all are counted): the result must stay well
/// under the engine's 1 MiB per step.
pub const MAX_REPORTED_QUARANTINED: usize = 100;

/// Buffer of the archive reader.
const READ_BUFFER: usize = 1024 * 1024;

/// A line set aside instead of ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedLine {
    /// Its line number in the archived file, from 1.
    pub line_no: u64,
    /// Why.
    pub reason: String,
}

/// What step `ingest-orders` did: the ingest's report (flattened) and what the reader set aside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestOutcome {
    /// The summed report of every batch.
    #[serde(flatten)]
    pub report: IngestReport,
    /// Lines quarantined (malformed JSON, undecodable objects), all of them.
    pub quarantined_total: u64,
    /// The first [`MAX_REPORTED_QUARANTINED`] of them.
    pub quarantined: Vec<QuarantinedLine>,
    /// Lines in the archived file.
    pub lines: u64,
    /// Whether the file ended in the middle of a line (its last object is missing).
    pub truncated_tail: bool,
    /// The commerce stream's head offset once the events were appended: the refresh waits for
    /// the lake to hold the stream up to here.
    pub commerce_log_head: u64,
}

/// Ingests the archived result at `key` into the domain and the commerce stream.
pub(crate) async fn ingest(
    env: &SyncEnv,
    archive: &Archive,
    shop: &str,
    key: &str,
    attempt: &Attempt,
) -> Result<IngestOutcome, DailySyncError> {
    let ingest = OrderIngest::new(env.db.clone(), env.events.clone(), shop).await?;
    let file = archive
        .reader(key)
        .await
        .map_err(|source| DailySyncError::Archive {
            key: key.to_owned(),
            source: Box::new(source),
        })?;
    let mut reader = OrdersReader::new(BufReader::with_capacity(READ_BUFFER, file));
    let mut pipeline = ingest.pipeline();
    let mut batch = Vec::with_capacity(RECOMMENDED_BATCH);
    loop {
        let next = reader.next().await.map_err(|source| DailySyncError::Read {
            key: key.to_owned(),
            source,
        });
        let order = match next {
            Ok(Some(order)) => order,
            Ok(None) => break,
            Err(e) => {
                // Let the batches already handed over finish before giving up.
                if let Err(other) = pipeline.finish().await {
                    tracing::warn!(error = %other, "an ingest batch failed too while the read stopped");
                }
                return Err(e);
            }
        };
        batch.push(order);
        if batch.len() >= RECOMMENDED_BATCH {
            pipeline.push(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        pipeline.push(batch).await?;
    }
    let report = pipeline.finish().await?;
    let lines = reader.lines();
    let quarantined_total = lines.quarantined_total();
    let truncated_tail = lines.truncated_tail();
    let line_count = lines.lines_read();
    let quarantined: Vec<QuarantinedLine> = reader
        .take_quarantined()
        .into_iter()
        .take(MAX_REPORTED_QUARANTINED)
        .map(|q| QuarantinedLine {
            line_no: q.line_no,
            reason: q.reason,
        })
        .collect();
    if quarantined_total > 0 {
        tracing::warn!(
            archive = key,
            quarantined_total,
            first_line = quarantined.first().map(|q| q.line_no),
            "bulk result lines quarantined; the other orders were ingested"
        );
    }
    if truncated_tail {
        tracing::warn!(
            archive = key,
            "the bulk result ends in the middle of a line"
        );
    }
    let commerce_log_head = env.events.stats(StreamName::Commerce).await?.head_offset;
    let count = |name: &str, n: u64| attempt.count(name, i64::try_from(n).unwrap_or(i64::MAX));
    count("orders_new", report.orders_new);
    count("orders_changed", report.orders_changed);
    count("orders_unchanged", report.orders_unchanged);
    count("line_items", report.line_items);
    count("products_new", report.products_new);
    count("events_appended", report.events_appended);
    count("quarantined", quarantined_total);
    tracing::info!(
        archive = key,
        orders = report.orders(),
        new = report.orders_new,
        changed = report.orders_changed,
        unchanged = report.orders_unchanged,
        quarantined_total,
        "bulk result ingested"
    );
    Ok(IngestOutcome {
        report,
        quarantined_total,
        quarantined,
        lines: line_count,
        truncated_tail,
        commerce_log_head,
    })
}
