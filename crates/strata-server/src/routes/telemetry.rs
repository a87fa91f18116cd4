//! `POST /v1/telemetry/{stream}`: partners' (and Strata's own) event batches. Every event is
//! validated against the stream's schema; the accepted ones are appended durably before the
//! answer, which lists each event as accepted or rejected with the reason: never
//! accept-and-drop.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use strata_events::{
    BatchError, BatchFormat, EventId, Limits, Rejected, StreamName, validate_batch,
};

use super::resources::query_pairs;
use crate::auth::{Verb, authorize_module};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Largest batch accepted (the original's limit).
pub const MAX_BATCH_BYTES: usize = 5 << 20;

/// Which schema module's scope a stream's writers need.
pub(crate) fn module_of_stream(stream: StreamName) -> &'static str {
    match stream {
        StreamName::Commerce => "order",
        StreamName::Publication => "publisher",
        StreamName::Sync => "governance",
    }
}

pub async fn ingest(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let stream = StreamName::from_slug(&slug).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            format!("no telemetry stream `{slug}` (commerce, publication, sync)"),
        )
    })?;
    if let Some((k, _)) = query_pairs(q.as_deref()).first() {
        return Err(Problem::bad_request(format!(
            "unknown query parameter `{k}`"
        )));
    }
    authorize_module(&s, &headers, module_of_stream(stream), Verb::Write).await?;
    s.backlog.check(s.events.as_ref(), stream).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = BatchFormat::from_content_type(content_type).ok_or_else(|| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a JSON array (application/json) or NDJSON (application/x-ndjson)",
        )
    })?;
    let limits = Limits {
        max_batch_bytes: MAX_BATCH_BYTES,
        ..Limits::default()
    };
    let outcome = validate_batch(stream, &body, format, chrono::Utc::now(), &limits).map_err(
        |e| match e {
            BatchError::TooLarge { .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
            other => Problem::bad_request(other.to_string()),
        },
    )?;
    let indexes: Vec<usize> = outcome.accepted.iter().map(|a| a.index).collect();
    let rejected = outcome.rejected;
    let events: Vec<_> = outcome.accepted.into_iter().map(|a| a.event).collect();
    let receipt = if events.is_empty() {
        None
    } else {
        let receipt = s.events.append(stream, events).await.map_err(|e| {
            tracing::error!(error = %e, stream = stream.wire_name(), "event log append failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event log is unavailable; nothing from this batch was accepted, retry it",
            )
        })?;
        s.backlog.appended(stream, receipt.appended());
        Some(receipt)
    };
    let accepted: Vec<_> = indexes
        .iter()
        .zip(receipt.iter().flat_map(|r| r.entries.iter()))
        .map(|(&index, entry)| AcceptedEvent {
            index,
            event_id: &entry.event_id,
            offset: entry.offset,
            duplicate: entry.duplicate,
        })
        .collect();
    let body = IngestAnswer {
        stream: stream.wire_name(),
        accepted_count: accepted.len(),
        rejected_count: rejected.len(),
        accepted,
        rejected: &rejected,
    };
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// The answer to an ingest: every event of the batch, accepted (where it is in the log) or
/// rejected (why). Typed rather than built as a `Value`, since a batch may hold 10,000 events.
#[derive(Serialize)]
struct IngestAnswer<'a> {
    stream: &'static str,
    accepted_count: usize,
    rejected_count: usize,
    accepted: Vec<AcceptedEvent<'a>>,
    rejected: &'a [Rejected],
}

/// One accepted event of [`IngestAnswer`].
#[derive(Serialize)]
struct AcceptedEvent<'a> {
    index: usize,
    event_id: &'a EventId,
    offset: u64,
    duplicate: bool,
}
