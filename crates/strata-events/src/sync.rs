//! `SYNC_TELEMETRY`: the audit trail of pipeline workflows (the daily Shopify sync and others).
//!
//! One event per workflow transition. The transition (the outcome) is the event type, so a query for
//! failures is `WHERE event_type = 'failed'` and no event can disagree with itself.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, ser::SerializeMap};

use crate::{
    EventBody, StreamName,
    envelope::{WireHead, envelope_serde, rfc3339, serialize_opt},
    rules::non_empty,
    value::{EventId, EventSource},
};

/// What happened to a workflow run; the event type of a sync event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    /// The run (or a new attempt of it) started.
    Started,
    /// One step of the run finished.
    StepCompleted,
    /// A step failed and will be retried.
    Retried,
    /// The run failed for good.
    Failed,
    /// The run finished.
    Completed,
}

impl SyncOutcome {
    /// Every outcome's wire name.
    pub const NAMES: &'static [&'static str] = &[
        "started",
        "step_completed",
        "retried",
        "failed",
        "completed",
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::StepCompleted => "step_completed",
            Self::Retried => "retried",
            Self::Failed => "failed",
            Self::Completed => "completed",
        }
    }
}

/// The body of a sync event.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncBody {
    /// The workflow run (instance) id.
    pub run_id: String,
    /// The workflow, e.g. `daily_shopify_sync`.
    pub workflow: String,
    /// The step concerned, for step-level outcomes.
    pub step: Option<String>,
    /// Attempt number of the run or step, from 1.
    pub attempt: u32,
    /// What happened (the event type).
    pub outcome: SyncOutcome,
    /// Records read, written, skipped, … by name.
    pub record_counts: BTreeMap<String, i64>,
    /// The watermark (cursor) position after this transition, when the workflow keeps one.
    pub watermark: Option<String>,
    /// Wall time of the step or run so far, in milliseconds.
    pub duration_ms: u64,
    /// The error, for retries and failures.
    pub error: Option<String>,
}

impl EventBody for SyncBody {
    const STREAM: StreamName = StreamName::Sync;
    fn event_type(&self) -> &'static str {
        self.outcome.as_str()
    }
}

/// A `SYNC_TELEMETRY` event on the wire: one flat object per event, the shape of a row of
/// `sync.telemetry`. The event type is the outcome of the transition.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "SYNC_TELEMETRY event")]
pub(crate) struct SyncWire {
    /// Idempotency key, `evt_` + ULID. Optional on input: the ingest endpoint mints one if absent.
    event_id: Option<EventId>,
    /// What happened to the run: the outcome.
    event_type: SyncOutcome,
    /// When it happened, RFC 3339.
    #[serde(deserialize_with = "rfc3339::deserialize")]
    #[schemars(with = "DateTime<Utc>")]
    occurred_ts: DateTime<Utc>,
    /// Version of this schema the event follows; 1 when absent.
    schema_version: Option<u32>,
    /// Who emitted the event, e.g. `strata-sync`.
    source: EventSource,
    /// The workflow run (instance) id.
    #[schemars(length(min = 1))]
    run_id: String,
    /// The workflow, e.g. `daily_shopify_sync`.
    #[schemars(length(min = 1))]
    workflow: String,
    /// The step concerned, for step-level outcomes.
    step: Option<String>,
    /// Attempt number of the run or step, from 1.
    #[schemars(range(min = 1))]
    attempt: u32,
    /// Records read, written, skipped, … by name.
    #[serde(default)]
    record_counts: BTreeMap<String, i64>,
    /// The watermark (cursor) position after this transition, when the workflow keeps one.
    watermark: Option<String>,
    /// Wall time of the step or run so far, in milliseconds.
    duration_ms: u64,
    /// The error, for retries and failures.
    error: Option<String>,
}

impl SyncBody {
    pub(crate) fn from_wire(w: SyncWire) -> Result<(WireHead, Self), String> {
        non_empty(&w.run_id, "run_id")?;
        non_empty(&w.workflow, "workflow")?;
        if let Some(step) = &w.step {
            non_empty(step, "step")?;
        }
        if w.attempt == 0 {
            return Err("field `attempt` counts from 1, got 0".to_owned());
        }
        let head = WireHead {
            event_id: w.event_id,
            occurred_ts: w.occurred_ts,
            schema_version: w.schema_version,
            source: w.source,
        };
        let body = SyncBody {
            run_id: w.run_id,
            workflow: w.workflow,
            step: w.step,
            attempt: w.attempt,
            outcome: w.event_type,
            record_counts: w.record_counts,
            watermark: w.watermark,
            duration_ms: w.duration_ms,
            error: w.error,
        };
        Ok((head, body))
    }

    pub(crate) fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("run_id", &self.run_id)?;
        map.serialize_entry("workflow", &self.workflow)?;
        serialize_opt(map, "step", &self.step)?;
        map.serialize_entry("attempt", &self.attempt)?;
        map.serialize_entry("record_counts", &self.record_counts)?;
        serialize_opt(map, "watermark", &self.watermark)?;
        map.serialize_entry("duration_ms", &self.duration_ms)?;
        serialize_opt(map, "error", &self.error)
    }
}

envelope_serde!(SyncBody, SyncWire);
