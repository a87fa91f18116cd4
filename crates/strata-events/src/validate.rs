//! Validation of untrusted batches for `POST /v1/telemetry/{stream}`.
//!
//! A batch is a JSON array of events or NDJSON (one event per line). Each event is checked on its
//! own: it is either accepted (and typed) or rejected with its position and a reason a partner can
//! act on; nothing is dropped silently. Only problems with the batch as a whole (too big, too many
//! events, an array that does not parse) refuse it entirely, as a [`BatchError`].

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Map, Value, value::RawValue};

use crate::{Event, SCHEMA_VERSION, StreamName, envelope::unsupported_version, value::EventId};

/// How the events of a batch are laid out in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchFormat {
    /// One JSON array of event objects (`application/json`).
    JsonArray,
    /// One event object per line; blank lines are skipped (`application/x-ndjson`).
    Ndjson,
}

impl BatchFormat {
    /// The format a `Content-Type` header names, if it names one we read. Parameters such as
    /// `charset` are ignored.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" => Some(Self::JsonArray),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines" => Some(Self::Ndjson),
            _ => None,
        }
    }
}

impl fmt::Display for BatchFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::JsonArray => "application/json",
            Self::Ndjson => "application/x-ndjson",
        })
    }
}

/// Bounds on one batch, so one request cannot exhaust the server or carry forged future data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How far `occurred_ts` may be ahead of the server clock (clock skew allowance).
    pub max_future: TimeDelta,
    /// Largest body accepted, in bytes.
    pub max_batch_bytes: usize,
    /// Most events accepted in one batch.
    pub max_events: usize,
}

impl Default for Limits {
    /// 5 minutes of clock skew, 5 MiB, 10,000 events.
    fn default() -> Self {
        Self {
            max_future: TimeDelta::minutes(5),
            max_batch_bytes: 5 * 1024 * 1024,
            max_events: 10_000,
        }
    }
}

/// Why a whole batch was refused; no event of it was looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum BatchError {
    /// The body is over [`Limits::max_batch_bytes`].
    #[error(
        "the batch is {size} bytes; at most {limit} bytes are accepted per request: split it into smaller batches"
    )]
    TooLarge {
        /// Size of the body.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body holds more than [`Limits::max_events`] events.
    #[error(
        "the batch holds {count} events; at most {limit} are accepted per request: split it into smaller batches"
    )]
    TooManyEvents {
        /// Events in the body.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A JSON array body does not parse, so its events cannot be told apart.
    #[error("the body is not valid JSON (line {line}, column {column}): {message}")]
    MalformedJson {
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A JSON body that is not an array.
    #[error(
        "the body must be a JSON array of event objects, found {found} (send NDJSON as application/x-ndjson)"
    )]
    NotAnArray {
        /// The JSON type found.
        found: &'static str,
    },
}

/// The class of problem that got an event rejected, for clients that react programmatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionKind {
    /// The NDJSON line is not valid JSON.
    MalformedJson,
    /// The item is valid JSON but not an object.
    NotAnObject,
    /// `event_id` is present but not `evt_` + ULID.
    InvalidEventId,
    /// `event_type` is not one of the stream's types.
    UnknownEventType,
    /// A required field is absent.
    MissingField,
    /// A field this stream (or this event type) does not have.
    UnknownField,
    /// A field has the wrong type or an invalid value.
    InvalidField,
    /// `schema_version` is one this build does not read.
    UnsupportedSchemaVersion,
    /// `occurred_ts` is further in the future than the clock-skew allowance.
    FutureTimestamp,
}

/// An accepted event.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Position of the event in the batch, from 0 (blank NDJSON lines are not counted).
    pub index: usize,
    /// The typed event.
    pub event: Event,
    /// True if the client sent no `event_id` and one was minted (the client learns it from the
    /// response, to retry idempotently).
    pub id_minted: bool,
}

/// A rejected event and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Position of the event in the batch, from 0 (blank NDJSON lines are not counted).
    pub index: usize,
    /// Line of the event in an NDJSON body, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The `event_id` the client sent, if it sent a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The class of problem.
    pub kind: RejectionKind,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// The verdict on every event of a batch: `accepted.len() + rejected.len()` is the number of events
/// in the body, and both lists are in body order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchOutcome {
    /// Events that passed, typed, ready to append.
    pub accepted: Vec<Accepted>,
    /// Events that did not, with reasons.
    pub rejected: Vec<Rejected>,
}

impl BatchOutcome {
    /// Number of events found in the body.
    pub fn received(&self) -> usize {
        self.accepted.len() + self.rejected.len()
    }

    /// The accepted events, in body order, ready for [`crate::EventLog::append`].
    pub fn into_events(self) -> Vec<Event> {
        self.accepted.into_iter().map(|a| a.event).collect()
    }
}

/// Longest reason returned, so echoing a hostile value cannot bloat the reply.
const MAX_REASON_CHARS: usize = 500;

/// Checks every event of a batch for `stream`.
///
/// `now` is the server clock (passed in so the check is deterministic); `limits` bounds the batch.
/// Events without `event_id` get a freshly minted one. Returns an error only when the batch as a
/// whole is refused; otherwise every event of the body is in exactly one of the outcome's lists.
pub fn validate_batch(
    stream: StreamName,
    body: &[u8],
    format: BatchFormat,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<BatchOutcome, BatchError> {
    if body.len() > limits.max_batch_bytes {
        return Err(BatchError::TooLarge {
            size: body.len(),
            limit: limits.max_batch_bytes,
        });
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let items = match format {
        BatchFormat::JsonArray => array_items(body)?,
        BatchFormat::Ndjson => ndjson_items(body),
    };
    if items.len() > limits.max_events {
        return Err(BatchError::TooManyEvents {
            count: items.len(),
            limit: limits.max_events,
        });
    }
    let clock = Clock {
        now,
        deadline: now.checked_add_signed(limits.max_future),
        max_future: limits.max_future,
    };
    let mut outcome = BatchOutcome::default();
    for (index, item) in items.into_iter().enumerate() {
        let line = item.line;
        // The common case, a valid event with its id, is decoded once, straight from its text;
        // anything else takes the slower path, which names what is wrong.
        let checked = match Event::from_json(stream, item.text) {
            Ok(event) => accept(event, index, line, false, &clock),
            Err(_) => check_text(stream, index, line, item.text, &clock),
        };
        match checked {
            Ok(accepted) => outcome.accepted.push(accepted),
            Err(mut rejected) => {
                rejected.reason = crate::value::snippet(&rejected.reason, MAX_REASON_CHARS);
                outcome.rejected.push(rejected);
            }
        }
    }
    tracing::debug!(
        stream = %stream,
        %format,
        bytes = body.len(),
        accepted = outcome.accepted.len(),
        rejected = outcome.rejected.len(),
        "validated telemetry batch"
    );
    Ok(outcome)
}

/// One event's text: an element of a JSON array, or an NDJSON line (parsed one by one, so a bad
/// line only costs that line).
struct Item<'a> {
    line: Option<usize>,
    text: &'a [u8],
}

/// Splits a JSON array into its elements' text without building values; a body that is not an
/// array is parsed again only to say why.
fn array_items(body: &[u8]) -> Result<Vec<Item<'_>>, BatchError> {
    let split_error = match serde_json::from_slice::<Vec<&RawValue>>(body) {
        Ok(raw) => {
            return Ok(raw
                .into_iter()
                .map(|v| Item {
                    line: None,
                    text: v.get().as_bytes(),
                })
                .collect());
        }
        Err(e) => e,
    };
    let malformed = |e: &serde_json::Error| BatchError::MalformedJson {
        line: e.line(),
        column: e.column(),
        message: message_without_position(e),
    };
    Err(match serde_json::from_slice::<Value>(body) {
        Ok(other) if !other.is_array() => BatchError::NotAnArray {
            found: json_type(&other),
        },
        Ok(_) => malformed(&split_error),
        Err(e) => malformed(&e),
    })
}

fn ndjson_items(body: &[u8]) -> Vec<Item<'_>> {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, text)| !text.iter().all(u8::is_ascii_whitespace))
        .map(|(i, text)| Item {
            line: Some(i + 1),
            text,
        })
        .collect()
}

/// The server clock and how far ahead of it an event may be.
struct Clock {
    now: DateTime<Utc>,
    /// `now + max_future`, or `None` if that is past the end of time (no limit then).
    deadline: Option<DateTime<Utc>>,
    max_future: TimeDelta,
}

/// The slow path for one event's text: parse it as JSON (a malformed NDJSON line costs only that
/// line), then [`check_event`] for a reason that names the field.
fn check_text(
    stream: StreamName,
    index: usize,
    line: Option<usize>,
    text: &[u8],
    clock: &Clock,
) -> Result<Accepted, Rejected> {
    match serde_json::from_slice::<Value>(text) {
        Ok(value) => check_event(stream, index, line, value, clock),
        Err(e) => Err(Rejected {
            index,
            line,
            event_id: None,
            kind: RejectionKind::MalformedJson,
            reason: format!(
                "malformed JSON on line {}, column {}: {}",
                line.unwrap_or(1),
                e.column(),
                message_without_position(&e)
            ),
        }),
    }
}

/// Checks one event: envelope fields first (with reasons tailored to them), then the full decode.
fn check_event(
    stream: StreamName,
    index: usize,
    line: Option<usize>,
    value: Value,
    clock: &Clock,
) -> Result<Accepted, Rejected> {
    let Value::Object(mut map) = value else {
        return Err(Rejected {
            index,
            line,
            event_id: None,
            kind: RejectionKind::NotAnObject,
            reason: format!(
                "expected a JSON object (one event), found {}",
                json_type(&value)
            ),
        });
    };
    let client_id = match map.get("event_id") {
        Some(Value::String(s)) => Some(crate::value::snippet(s, 64)),
        _ => None,
    };
    let reject = |kind, reason: String| Rejected {
        index,
        line,
        event_id: client_id.clone(),
        kind,
        reason,
    };

    let id_minted = match map.get("event_id") {
        None | Some(Value::Null) => {
            map.insert(
                "event_id".to_owned(),
                Value::String(EventId::mint().to_string()),
            );
            true
        }
        Some(Value::String(s)) => match EventId::parse(s) {
            Ok(_) => false,
            Err(e) => {
                return Err(reject(
                    RejectionKind::InvalidEventId,
                    format!("field `event_id`: {e}"),
                ));
            }
        },
        Some(other) => {
            return Err(reject(
                RejectionKind::InvalidEventId,
                format!(
                    "field `event_id` must be a string ({}), found {}",
                    EventId::EXPECTED,
                    json_type(other)
                ),
            ));
        }
    };

    check_event_type(stream, &map).map_err(|(kind, reason)| reject(kind, reason))?;

    if let Some(Value::Number(n)) = map.get("schema_version")
        && n.as_u64() != Some(u64::from(SCHEMA_VERSION))
    {
        return Err(reject(
            RejectionKind::UnsupportedSchemaVersion,
            unsupported_version(n),
        ));
    }

    let event =
        decode(stream, Value::Object(map)).map_err(|(kind, reason)| reject(kind, reason))?;
    accept(event, index, line, id_minted, clock)
}

/// The last check, on a decoded event: its `occurred_ts` is not too far ahead of the clock.
fn accept(
    event: Event,
    index: usize,
    line: Option<usize>,
    id_minted: bool,
    clock: &Clock,
) -> Result<Accepted, Rejected> {
    let occurred = event.occurred_ts();
    if let Some(deadline) = clock.deadline
        && occurred > deadline
    {
        let ahead = occurred - clock.now;
        return Err(Rejected {
            index,
            line,
            // A minted id was never the client's: it is not echoed.
            event_id: (!id_minted).then(|| event.event_id().to_string()),
            kind: RejectionKind::FutureTimestamp,
            reason: format!(
                "field `occurred_ts` ({}) is {} ahead of the server clock; at most {} is allowed",
                crate::envelope::rfc3339::format(&occurred),
                human_delta(ahead),
                human_delta(clock.max_future)
            ),
        });
    }
    Ok(Accepted {
        index,
        event,
        id_minted,
    })
}

fn check_event_type(
    stream: StreamName,
    map: &Map<String, Value>,
) -> Result<(), (RejectionKind, String)> {
    let allowed = stream.event_types();
    let list = allowed.join(", ");
    match map.get("event_type") {
        None | Some(Value::Null) => Err((
            RejectionKind::MissingField,
            format!("missing required field `event_type` (one of: {list})"),
        )),
        Some(Value::String(t)) if allowed.contains(&t.as_str()) => Ok(()),
        Some(Value::String(t)) => Err((
            RejectionKind::UnknownEventType,
            format!(
                "unknown event_type `{}` for {stream}; expected one of: {list}",
                crate::value::snippet(t, 64)
            ),
        )),
        Some(other) => Err((
            RejectionKind::InvalidField,
            format!(
                "field `event_type` must be a string (one of: {list}), found {}",
                json_type(other)
            ),
        )),
    }
}

/// Decodes an event with every wire check, turning a serde error into a kind and a reason that
/// names the field (with its path for nested fields, e.g. `lines[2].quantity`).
fn decode(stream: StreamName, value: Value) -> Result<Event, (RejectionKind, String)> {
    let result = match stream {
        StreamName::Commerce => serde_path_to_error::deserialize(value).map(Event::Commerce),
        StreamName::Publication => serde_path_to_error::deserialize(value).map(Event::Publication),
        StreamName::Sync => serde_path_to_error::deserialize(value).map(Event::Sync),
    };
    result.map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        classify(&path, &message)
    })
}

fn classify(path: &str, message: &str) -> (RejectionKind, String) {
    let at_root = path == "." || path.is_empty();
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let full = if at_root {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return (
            RejectionKind::MissingField,
            format!("missing required field `{full}`"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // The path already ends with the unknown key; serde's text goes on with the known fields.
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let full = if at_root { field } else { path };
        return (
            RejectionKind::UnknownField,
            format!("unknown field `{full}`{tail}"),
        );
    }
    let kind = if message.starts_with("missing required field") {
        RejectionKind::MissingField
    } else if message.contains("does not belong to") {
        RejectionKind::UnknownField
    } else if message.starts_with("schema_version") {
        RejectionKind::UnsupportedSchemaVersion
    } else {
        RejectionKind::InvalidField
    };
    let reason = if at_root {
        message.to_owned()
    } else {
        format!("field `{path}`: {message}")
    };
    (kind, reason)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json's message without its " at line L column C" suffix (we report positions ourselves).
fn message_without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// A duration as `1h 2m 3s` (whole seconds; sub-second remainders are dropped).
fn human_delta(delta: TimeDelta) -> String {
    let total = delta.num_seconds().max(0);
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}
