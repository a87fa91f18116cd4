//! Step `refresh-measurements`: waits until the commerce pipeline has landed the ingest's events
//! in the lake, then runs the measurement refresh (the same code as `refresh_measurements`).
//!
//! The measurements read `commerce.telemetry` in the lake, not the event log, and the pipelines
//! (run by `strata serve`, `strata pipeline run`, or `strata sync shopify` itself) land the log
//! there a few seconds behind. Refreshing before they have would compute the days from
//! yesterday's events and the run would report success on stale numbers. So the step first
//! waits until the lake's committed offset of the commerce stream (lane
//! [`strata_lake::DEFAULT_LANE`]) reaches the log's head as the ingest left it; if that does not
//! happen within the landing timeout, the attempt fails and is retried (the run errors in the
//! end, the watermark unmoved, and the next run ingests the same orders again, unchanged).
//!
//! The refresh itself is the plain one of `refresh_measurements`: sales for the days the new
//! events can fall on ([`strata_measure::SalesScope::Changed`]), performance as of today in the
//! reporting time zone.

use std::time::{Duration, Instant};

use serde_json::Value;
use strata_events::StreamName;
use strata_lake::DEFAULT_LANE;
use strata_workflow::{Attempt, StepError};

use super::error::DailySyncError;
use crate::env::SyncEnv;
use crate::refresh::{RefreshParams, refresh_once};

/// How often the lake's committed offset is read while waiting.
const LANDING_POLL: Duration = Duration::from_millis(250);

/// Waits until the lake holds the commerce stream up to `target`, for at most `timeout`.
pub(crate) async fn await_landing(
    env: &SyncEnv,
    target: u64,
    timeout: Duration,
) -> Result<(), DailySyncError> {
    let started = Instant::now();
    let mut logged = false;
    loop {
        // A lake without the table yet (no pipeline ever ran) counts as nothing landed.
        let landed = match env
            .lake
            .committed_offset(StreamName::Commerce, DEFAULT_LANE)
            .await
        {
            Ok(offset) => offset,
            Err(e) => {
                tracing::debug!(error = %e, "the commerce table's committed offset is not readable yet");
                0
            }
        };
        if landed >= target {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(DailySyncError::NotLanded {
                landed,
                target,
                waited_secs: started.elapsed().as_secs(),
            });
        }
        if !logged {
            tracing::info!(
                landed,
                target,
                "waiting for the commerce pipeline to land the ingested events in the lake"
            );
            logged = true;
        }
        tokio::time::sleep(LANDING_POLL).await;
    }
}

/// The step's body: landing, then the refresh.
pub(crate) async fn refresh(
    env: &SyncEnv,
    target: u64,
    timeout: Duration,
    attempt: &Attempt,
) -> Result<Value, StepError> {
    await_landing(env, target, timeout)
        .await
        .map_err(DailySyncError::into_step)?;
    refresh_once(env, &RefreshParams::default(), attempt).await
}
