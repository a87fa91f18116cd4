//! The audit trail: every run, step completion, retry and failure as a `SYNC_TELEMETRY` event.
//!
//! Events are first written to the store's outbox in the same operation as the state change they
//! report, then delivered by the engine to an [`AuditSink`] (the event log, and so
//! `sync.telemetry`). Delivery is at least once and idempotent on the event id, so a crash between
//! delivery and the outbox cleanup never doubles an event and never loses one.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use strata_events::{Envelope, Event, EventLog, EventSource, StreamName, SyncBody, SyncOutcome};

use crate::{model::Instance, store::AuditRecord};

/// Where audit events go.
#[async_trait]
pub trait AuditSink: Send + Sync + 'static {
    /// Delivers `events` (sync events as JSON); succeeds only once they are durable. Must be
    /// idempotent on the event id.
    async fn deliver(&self, events: Vec<Event>) -> Result<(), String>;
}

/// Delivers audit events to the `sync` stream of an [`EventLog`].
#[derive(Clone)]
pub struct EventLogSink(pub Arc<dyn EventLog>);

#[async_trait]
impl AuditSink for EventLogSink {
    async fn deliver(&self, events: Vec<Event>) -> Result<(), String> {
        self.0
            .append(StreamName::Sync, events)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The source of the engine's events.
pub(crate) const SOURCE: &str = "strata-workflow";

/// What one audit event says.
pub(crate) struct Audit<'a> {
    pub instance: &'a Instance,
    pub step: Option<&'a str>,
    pub attempt: u32,
    pub outcome: SyncOutcome,
    pub counts: BTreeMap<String, i64>,
    pub watermark: Option<String>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl Audit<'_> {
    /// A run-level event.
    pub fn run<'a>(instance: &'a Instance, outcome: SyncOutcome) -> Audit<'a> {
        Audit {
            instance,
            step: None,
            attempt: instance.generation + 1,
            outcome,
            counts: BTreeMap::new(),
            watermark: None,
            duration_ms: 0,
            error: None,
        }
    }

    /// The outbox record of this event at `now`.
    pub fn record(self, now: DateTime<Utc>) -> AuditRecord {
        let source = EventSource::parse(SOURCE).unwrap_or_else(|_| unreachable_source());
        let body = SyncBody {
            run_id: self.instance.id.to_string(),
            workflow: self.instance.workflow.clone(),
            step: self.step.map(str::to_owned),
            attempt: self.attempt.max(1),
            outcome: self.outcome,
            record_counts: self.counts,
            watermark: self.watermark,
            duration_ms: self.duration_ms,
            error: self.error.map(|e| truncate(&e, 4000)),
        };
        let event = Event::Sync(Envelope::new(source, now, body));
        let json = event.to_json().unwrap_or_else(|e| {
            // A sync body is strings and numbers; serialization cannot fail in practice. Keep
            // the trail honest anyway: record that the event could not be encoded.
            format!("{{\"encode_error\":{:?}}}", e.to_string())
        });
        AuditRecord {
            event_id: event.event_id().as_str().to_owned(),
            json,
        }
    }
}

#[cold]
fn unreachable_source() -> EventSource {
    // SOURCE is a constant that satisfies EventSource's rule (printable ASCII, no spaces).
    EventSource::parse("strata").expect("constant event source is valid")
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Parses outbox records back into events, skipping (and logging) any that do not parse.
pub(crate) fn decode(records: &[AuditRecord]) -> Vec<Event> {
    records
        .iter()
        .filter_map(|r| match Event::from_json(StreamName::Sync, r.json.as_bytes()) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::error!(event_id = %r.event_id, error = %e, "an audit record does not parse; it is dropped from the outbox");
                None
            }
        })
        .collect()
}
