//! Back-pressure on telemetry ingest: when the lake's pipeline falls too far behind a stream
//! (storage or catalog down, or a burst bigger than it can take), new batches get 503 with
//! Retry-After instead of growing the log without bound. Nothing is lost: a refused batch was
//! never appended, and everything already accepted stays in the durable log until committed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use strata_events::{EventLog, StreamName};

use crate::error::Problem;

/// How long a measured backlog is reused, so a burst of requests costs one stats query.
const REFRESH: Duration = Duration::from_millis(500);

/// The ingest bound.
#[derive(Debug)]
pub struct Backlog {
    /// Most unacknowledged events a stream may hold before ingest is refused; 0: no bound.
    limit: u64,
    /// The consumer whose acknowledgement counts (the lake pipelines').
    consumer: String,
    measured: Mutex<[Option<(Instant, u64)>; 3]>,
}

impl Backlog {
    /// A bound of `limit` events behind `consumer` (0 turns the check off).
    pub fn new(limit: u64, consumer: impl Into<String>) -> Self {
        Self {
            limit,
            consumer: consumer.into(),
            measured: Mutex::new([None; 3]),
        }
    }

    /// No bound.
    pub fn unbounded() -> Self {
        Self::new(0, "lake")
    }

    /// The configured bound (0: none).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Refuses with 503 when `stream` already holds `limit` or more events its consumer has not
    /// acknowledged. A stream nobody consumes yet counts from offset 0.
    pub async fn check(&self, log: &dyn EventLog, stream: StreamName) -> Result<(), Problem> {
        if self.limit == 0 {
            return Ok(());
        }
        let slot = stream_slot(stream);
        let cached = self
            .measured
            .lock()
            .ok()
            .and_then(|m| m[slot])
            .filter(|(at, _)| at.elapsed() < REFRESH);
        let behind = match cached {
            Some((_, behind)) => behind,
            None => {
                let stats = log.stats(stream).await.map_err(|e| {
                    tracing::error!(error = %e, stream = stream.wire_name(), "event log stats failed");
                    Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the event log is unavailable; nothing from this batch was accepted, retry it",
                    )
                })?;
                let acked = stats
                    .consumers
                    .iter()
                    .find(|c| c.name == self.consumer)
                    .map_or(0, |c| c.committed);
                let behind = stats.head_offset.saturating_sub(acked);
                if let Ok(mut m) = self.measured.lock() {
                    m[slot] = Some((Instant::now(), behind));
                }
                behind
            }
        };
        if behind >= self.limit {
            tracing::warn!(
                stream = stream.wire_name(),
                behind,
                limit = self.limit,
                "ingest refused: the lake pipeline is too far behind"
            );
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{} holds {behind} events not yet committed to the lake (the bound is {}); \
                     nothing from this batch was accepted: retry after the pipeline catches up \
                     (is the lake's storage or catalog reachable? see /api/health)",
                    stream.wire_name(),
                    self.limit
                ),
            )
            .retry_after(Duration::from_secs(5)));
        }
        Ok(())
    }
}

impl Backlog {
    /// Counts `n` events just appended to `stream` into the cached measurement, so requests
    /// within one refresh period cannot overshoot the bound by more than one batch.
    pub fn appended(&self, stream: StreamName, n: usize) {
        if self.limit == 0 {
            return;
        }
        if let Ok(mut m) = self.measured.lock()
            && let Some((_, behind)) = &mut m[stream_slot(stream)]
        {
            *behind = behind.saturating_add(n as u64);
        }
    }
}

fn stream_slot(stream: StreamName) -> usize {
    match stream {
        StreamName::Commerce => 0,
        StreamName::Publication => 1,
        StreamName::Sync => 2,
    }
}
