//! The stream abstraction: an append-only, per-stream log of events with consumer offsets.
//!
//! Producers append; each consumer (the lake writer, the real-time counters, …) reads from its own
//! committed offset and commits what it has durably handled, so a crash replays at most the
//! uncommitted tail and never skips. Appends are idempotent on `event_id`, so a producer that is
//! unsure whether an append landed simply sends it again.

use async_trait::async_trait;
use serde::Serialize;

use crate::{Event, StreamName, value::EventId};

/// Position of an event in its stream: 1 for the first event, increasing by append order and never
/// reused. 0 means "before the first event" (a consumer that has committed nothing).
pub type Offset = u64;

/// The append-only log of the three streams.
///
/// Object safe (`Arc<dyn EventLog>`), so the HTTP layer and workflows do not depend on the backend.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends `events` to `stream` in order and returns once they are durable.
    ///
    /// An event whose `event_id` is already stored (earlier, or earlier in the same call) is not
    /// stored again and is reported as a duplicate with the offset of the stored copy. All events
    /// must belong to `stream`; otherwise nothing is appended.
    async fn append(
        &self,
        stream: StreamName,
        events: Vec<Event>,
    ) -> Result<AppendReceipt, LogError>;

    /// Up to `max` events of `stream` after `consumer`'s committed offset, in offset order.
    ///
    /// Reading does not move the offset: the same events come back until they are committed.
    async fn read(
        &self,
        stream: StreamName,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<Delivery>, LogError>;

    /// Acknowledges every event of `stream` up to and including `offset` for `consumer`, and
    /// returns the consumer's committed offset afterwards.
    ///
    /// The committed offset never moves backwards: committing an older offset (a late or repeated
    /// ack) leaves it where it is. Committing past the head of the stream is an error.
    async fn commit(
        &self,
        stream: StreamName,
        consumer: &str,
        offset: Offset,
    ) -> Result<Offset, LogError>;

    /// The head offset of `stream` and every consumer's committed offset.
    async fn stats(&self, stream: StreamName) -> Result<StreamStats, LogError>;
}

/// What an append did with each event, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendReceipt {
    /// The stream appended to.
    pub stream: StreamName,
    /// One entry per input event, in input order.
    pub entries: Vec<AppendEntry>,
    /// The stream's head offset after the append.
    pub head_offset: Offset,
}

impl AppendReceipt {
    /// Number of events newly stored.
    pub fn appended(&self) -> usize {
        self.entries.iter().filter(|e| !e.duplicate).count()
    }

    /// Number of events that were already stored.
    pub fn duplicates(&self) -> usize {
        self.entries.iter().filter(|e| e.duplicate).count()
    }
}

/// The fate of one appended event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendEntry {
    /// The event's id.
    pub event_id: EventId,
    /// Where the event is stored (for a duplicate: where the stored copy is).
    pub offset: Offset,
    /// True if the id was already stored and this copy was not stored again.
    pub duplicate: bool,
}

/// One event handed to a consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The event's offset; commit it once the event is handled.
    pub offset: Offset,
    /// The event.
    pub event: Event,
}

/// The state of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// The stream.
    pub stream: StreamName,
    /// Offset of the last event appended (0 if none).
    pub head_offset: Offset,
    /// Every consumer that has committed on this stream, by name.
    pub consumers: Vec<ConsumerOffset>,
}

/// A consumer's committed offset; `head_offset - committed` is its lag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerOffset {
    /// The consumer's name.
    pub name: String,
    /// The last offset it acknowledged.
    pub committed: Offset,
}

/// The stored JSON of `event`, after checking it belongs to `stream`: what every backend's append
/// does first, so a mixed batch is refused before anything is written.
pub(crate) fn encode_for(stream: StreamName, event: &Event) -> Result<String, LogError> {
    if event.stream() != stream {
        return Err(LogError::StreamMismatch {
            event_id: event.event_id().clone(),
            expected: stream,
            actual: event.stream(),
        });
    }
    event.to_json().map_err(|source| LogError::Encode {
        event_id: event.event_id().clone(),
        source,
    })
}

/// Longest consumer name accepted.
pub const MAX_CONSUMER_NAME: usize = 128;

/// Checks a consumer name: 1 to 128 printable ASCII characters without spaces, so it reads well in
/// stats and logs.
pub fn check_consumer_name(name: &str) -> Result<(), LogError> {
    let ok = (1..=MAX_CONSUMER_NAME).contains(&name.len())
        && name.bytes().all(|b| (b'!'..=b'~').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(LogError::InvalidConsumer {
            name: crate::value::snippet(name, 64),
        })
    }
}

/// Failures of the event log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log's directory or database could not be opened or created.
    #[error("cannot open the event log at {path}: {reason}")]
    Open {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The database was written by a newer Strata.
    #[error(
        "the event log at {path} has format version {found}; this build understands up to {supported}: upgrade Strata"
    )]
    UnsupportedFormat {
        /// The path.
        path: String,
        /// The version found.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// An event handed to `append` belongs to another stream.
    #[error("event {event_id} is a {actual} event and cannot be appended to {expected}")]
    StreamMismatch {
        /// The offending event.
        event_id: EventId,
        /// The stream appended to.
        expected: StreamName,
        /// The event's stream.
        actual: StreamName,
    },
    /// A consumer name that is empty, too long or not printable.
    #[error(
        "invalid consumer name `{name}`: use 1 to 128 printable ASCII characters without spaces"
    )]
    InvalidConsumer {
        /// The name (shortened).
        name: String,
    },
    /// A commit past the last event of the stream.
    #[error(
        "cannot commit offset {offset} for consumer `{consumer}` on {stream}: the stream's head is {head}"
    )]
    OffsetBeyondHead {
        /// The stream.
        stream: StreamName,
        /// The consumer.
        consumer: String,
        /// The offset asked for.
        offset: Offset,
        /// The stream's head offset.
        head: Offset,
    },
    /// A stored event could not be decoded (the database was edited by hand or damaged).
    #[error("the event at offset {offset} of {stream} cannot be decoded: {reason}")]
    Corrupt {
        /// The stream.
        stream: StreamName,
        /// The event's offset.
        offset: Offset,
        /// Why.
        reason: String,
    },
    /// An event could not be encoded.
    #[error("cannot encode event {event_id}: {source}")]
    Encode {
        /// The event.
        event_id: EventId,
        /// Why.
        source: serde_json::Error,
    },
    /// The storage engine failed.
    #[error("event log storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The background task running the storage call failed (panicked or was cancelled).
    #[error("event log task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The log's writer stopped before answering (it panicked in the middle of this write's
    /// batch, which was rolled back): the write may be retried.
    #[error(
        "the event log writer stopped before the write was committed; nothing of it was stored"
    )]
    WriterStopped,
    /// The NATS JetStream backend failed: the server is unreachable, JetStream is off, a
    /// request timed out or was refused. The reason says which, and what to check.
    #[error("NATS JetStream: cannot {op}: {reason}")]
    Nats {
        /// What the log was doing ("connect", "append", "read", "commit an offset", …).
        op: &'static str,
        /// Why it failed, and what to check.
        reason: String,
    },
}
