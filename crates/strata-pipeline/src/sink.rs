//! The sink step: a transformed batch into the stream's Iceberg tables, exactly once.
//!
//! Dead letters are committed before the telemetry rows, and a restarted pipeline resumes after
//! the telemetry table's committed offset. That order is what makes the resume point safe: every
//! offset at or below the telemetry table's committed offset belongs to a batch whose dead
//! letters were committed first. (The other order could commit a batch's telemetry rows, die, and
//! resume past its dead letters.) Both writes carry the batch's offsets, so a batch replayed
//! after a crash is recognized by each table and skipped there.
//!
//! The replay relies on the transform classifying the batch the same way again. One case does
//! not: the process dies between the two commits *and* the definition is edited before the
//! restart so that an event of that one batch moves from passed to rejected: its dead letter
//! can fall inside the offsets already committed to the dead-letter table and be skipped (the
//! reverse move puts an event in both tables). Recording the definition's hash in the commit
//! would close it; the lake's commit API has no room for it yet.

use serde::Serialize;
use strata_events::{Offset, StreamName};
use strata_lake::{AppendOutcome, Lake, LakeError, LakeTable};

use crate::transform::Transformed;

/// Writes one stream's batches.
#[derive(Debug, Clone)]
pub struct LakeSink {
    lake: Lake,
    stream: StreamName,
    lane: String,
}

/// How far a batch's write got, so a retry after a transient failure skips finished steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// The dead letters are committed (or there were none).
    pub rejected_done: bool,
}

/// What one batch's write did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SinkReport {
    /// Rows newly committed to `<namespace>.telemetry`.
    pub rows_out: u64,
    /// Rows newly committed to `<namespace>.rejected`.
    pub rows_rejected: u64,
    /// New snapshots (0 to 2).
    pub commits: u64,
    /// Bytes of Parquet written.
    pub bytes: u64,
    /// Data files written.
    pub files: u64,
    /// Time spent in Parquet writing and commits, as the lake reports it.
    pub write_ms: u64,
    /// True when part of the batch was already in the lake (a replay after a crash).
    pub replayed: bool,
}

impl LakeSink {
    /// A sink for `stream` on `lane`.
    pub fn new(lake: Lake, stream: StreamName, lane: &str) -> LakeSink {
        LakeSink {
            lake,
            stream,
            lane: lane.to_owned(),
        }
    }

    /// The lake.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The telemetry table's committed offset on this lane: where a restarted pipeline resumes.
    pub async fn committed_offset(&self) -> Result<Offset, LakeError> {
        self.lake.committed_offset(self.stream, &self.lane).await
    }

    /// Writes `batch`: dead letters, then telemetry rows. Safe to call again after an error; with
    /// `progress` carried over, finished steps are skipped.
    pub async fn write(
        &self,
        batch: &Transformed,
        progress: &mut Progress,
    ) -> Result<SinkReport, LakeError> {
        let mut report = SinkReport::default();
        if !progress.rejected_done {
            let outcome = self
                .lake
                .write_rejected(self.stream, Some(&self.lane), &batch.rejected)
                .await?;
            account(&outcome, &mut report, false);
            progress.rejected_done = true;
        }
        let outcome = self
            .lake
            .write_deliveries(self.stream, &self.lane, &batch.passed)
            .await?;
        account(&outcome, &mut report, true);
        Ok(report)
    }

    /// The tables this sink writes.
    pub fn tables(&self) -> [LakeTable; 2] {
        [
            LakeTable::Telemetry(self.stream),
            LakeTable::Rejected(self.stream),
        ]
    }
}

fn account(outcome: &AppendOutcome, report: &mut SinkReport, telemetry: bool) {
    match outcome {
        AppendOutcome::Committed(c) => {
            if telemetry {
                report.rows_out += c.rows;
            } else {
                report.rows_rejected += c.rows;
            }
            report.commits += 1;
            report.bytes += c.bytes;
            report.files += c.files.len() as u64;
            report.write_ms += c.write_ms + c.commit_ms;
            report.replayed |= c.skipped_rows > 0;
        }
        AppendOutcome::AlreadyCommitted { .. } => report.replayed = true,
        AppendOutcome::Empty => {}
    }
}
