//! Settings of [`NatsLog`](super::NatsLog) and the names it derives from them.

use std::time::Duration;

use crate::{StreamName, log::LogError};

/// Where JetStream keeps the streams' messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NatsStorage {
    /// On disk: what an event log needs (a restarted server keeps the events).
    #[default]
    File,
    /// In the server's memory: lost when it restarts. Only for throwaway setups.
    Memory,
}

/// Settings of [`NatsLog`](super::NatsLog).
///
/// The defaults give the production names: streams `COMMERCE_TELEMETRY`, `PUBLICATION_TELEMETRY`
/// and `SYNC_TELEMETRY` on subjects `strata.telemetry.commerce` (…), consumer offsets in the KV
/// bucket `STRATA_OFFSETS`. Tests (or two Strata installations sharing one NATS account) isolate
/// themselves with [`stream_prefix`](Self::stream_prefix) and
/// [`subject_prefix`](Self::subject_prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// The server, e.g. `nats://127.0.0.1:4222` (several comma-separated URLs of one cluster are
    /// accepted).
    pub url: String,
    /// Prepended to the stream names and the offsets bucket's name: letters, digits, `_` and `-`.
    pub stream_prefix: String,
    /// The subjects' first tokens: stream `commerce` is published on `<subject_prefix>.commerce`.
    pub subject_prefix: String,
    /// Copies of each stream (and of the offsets bucket) in a cluster: 1 on a single server, 3
    /// for a cluster that survives losing a node.
    pub replicas: usize,
    /// Disk (the default) or memory.
    pub storage: NatsStorage,
    /// Events older than this are removed by the server; `None` keeps them (until `max_bytes`).
    /// A consumer that falls further behind than this loses the events in between.
    pub max_age: Option<Duration>,
    /// Each stream's size limit in bytes; the oldest events go first. `None`: no limit.
    pub max_bytes: Option<u64>,
    /// How long JetStream remembers an `event_id` to drop a second copy.
    ///
    /// Unlike [`SqliteLog`](crate::SqliteLog), which refuses a duplicate forever, JetStream
    /// deduplicates only within this window: an event sent again later is stored twice (with
    /// two offsets). The server keeps every id of the window in memory (about 100 bytes each),
    /// so the window is a trade between memory and how late a producer may retry. Default: one
    /// hour, far beyond the retries of the HTTP API and the domain commands (seconds to minutes).
    pub duplicate_window: Duration,
    /// How long one request to the server (an API call, a publish acknowledgement) may take.
    pub request_timeout: Duration,
    /// How long a read waits for events when the consumer has caught up, before returning
    /// fewer (or none). Short, so a pipeline polling an idle stream stays responsive.
    pub read_wait: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            stream_prefix: String::new(),
            subject_prefix: "strata.telemetry".to_owned(),
            replicas: 1,
            storage: NatsStorage::File,
            max_age: None,
            max_bytes: None,
            duplicate_window: Duration::from_secs(60 * 60),
            request_timeout: Duration::from_secs(10),
            read_wait: Duration::from_millis(50),
        }
    }
}

impl NatsOptions {
    /// The default settings for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The JetStream stream holding `stream`, e.g. `COMMERCE_TELEMETRY`.
    pub fn stream_name(&self, stream: StreamName) -> String {
        format!("{}{}", self.stream_prefix, stream.wire_name())
    }

    /// The subject `stream`'s events are published on, e.g. `strata.telemetry.commerce`.
    pub fn subject(&self, stream: StreamName) -> String {
        format!("{}.{}", self.subject_prefix, stream.slug())
    }

    /// The KV bucket holding the consumers' committed offsets, e.g. `STRATA_OFFSETS`.
    pub fn offsets_bucket(&self) -> String {
        format!("{}STRATA_OFFSETS", self.stream_prefix)
    }

    /// Refuses settings the server would refuse later, with a reason that says what to change.
    pub(crate) fn check(&self) -> Result<(), LogError> {
        let bad = |reason: String| {
            Err(LogError::Nats {
                op: "configure",
                reason,
            })
        };
        if self.url.trim().is_empty() {
            return bad("the NATS URL is empty: use e.g. nats://127.0.0.1:4222".to_owned());
        }
        if !self
            .stream_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return bad(format!(
                "stream prefix `{}` may only hold letters, digits, `_` and `-`",
                self.stream_prefix
            ));
        }
        let token_ok = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'*' | b'>' | b'.'))
        };
        if !self.subject_prefix.split('.').all(token_ok) {
            return bad(format!(
                "subject prefix `{}` must be dot-separated non-empty tokens without spaces or \
                 wildcards (`*`, `>`), e.g. strata.telemetry",
                self.subject_prefix
            ));
        }
        if self.replicas == 0 || self.replicas > 5 {
            return bad(format!(
                "{} replicas: JetStream keeps 1 to 5 copies (1 on a single server, 3 in a cluster)",
                self.replicas
            ));
        }
        if self.duplicate_window.is_zero() {
            return bad("the duplicate window must be longer than zero".to_owned());
        }
        if let Some(max_age) = self.max_age
            && max_age < self.duplicate_window
        {
            return bad(format!(
                "max age {max_age:?} is shorter than the duplicate window {:?}; JetStream \
                 requires the window to fit in the age limit",
                self.duplicate_window
            ));
        }
        if self.max_bytes.is_some_and(|b| i64::try_from(b).is_err()) {
            return bad("max bytes is beyond what JetStream accepts (2^63 - 1)".to_owned());
        }
        Ok(())
    }
}
