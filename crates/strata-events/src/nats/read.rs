//! Reads: events after a consumer's committed offset, through positioned ephemeral consumers.
//!
//! [`EventLog::read`](crate::EventLog::read) must not move anything, so reads never go through a
//! durable consumer. Each (stream, consumer name) gets a *reader*: an ephemeral JetStream pull
//! consumer without acknowledgements (`AckPolicy::None`), created at `DeliverPolicy::ByStartSequence`
//! = committed + 1. JetStream moves an ephemeral consumer's position as it delivers, which is what
//! a sequential reader wants: the pipeline reads N events, commits them, reads again from the next
//! one, and the cached reader is already there, so a read costs one fetch. When a read starts
//! anywhere else (the consumer read without committing, committed further than it read, or another
//! process moved its offset) the reader is dropped and a new one is created at the right sequence.
//!
//! Readers are in-memory consumers removed by the server after [`INACTIVE`] without a fetch, so a
//! process that dies leaves nothing behind for long.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, PullConsumer, ReplayPolicy, pull},
};
use futures_util::StreamExt;

use crate::{
    Event, StreamName,
    log::{Delivery, LogError, Offset},
};

/// Idle time after which the server deletes a reader.
const INACTIVE: Duration = Duration::from_secs(5 * 60);

/// Events asked of the server per fetch; a larger read is several fetches.
const FETCH_CHUNK: usize = 5_000;

type Slot = Arc<tokio::sync::Mutex<Option<Reader>>>;

/// The positioned readers of one log handle.
pub(super) struct Readers {
    js: jetstream::Context,
    wait: Duration,
    request_timeout: Duration,
    slots: Mutex<HashMap<(StreamName, String), Slot>>,
}

/// An ephemeral consumer and where it stands.
struct Reader {
    consumer: PullConsumer,
    /// The JetStream stream it reads.
    stream_name: String,
    /// The first sequence it has not delivered yet.
    next: Offset,
}

impl Reader {
    /// Deletes the consumer on the server in the background (best effort: the server removes it
    /// after [`INACTIVE`] anyway).
    fn discard(self, js: &jetstream::Context) {
        let js = js.clone();
        let name = self.consumer.cached_info().name.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = js
                    .delete_consumer_from_stream(&name, &self.stream_name)
                    .await
                {
                    tracing::debug!(consumer = %name, error = %e, "could not delete a reader");
                }
            });
        }
    }
}

impl Readers {
    pub(super) fn new(js: jetstream::Context, wait: Duration, request_timeout: Duration) -> Self {
        Self {
            js,
            wait,
            request_timeout,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, stream: StreamName, consumer: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            slots
                .entry((stream, consumer.to_owned()))
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(None))),
        )
    }

    /// Up to `max` events of `stream` (JetStream stream `stream_name`) after `after`, and whether
    /// they came from a cached reader. With `fresh`, a new reader is created in any case.
    pub(super) async fn read(
        &self,
        stream: StreamName,
        stream_name: &str,
        consumer: &str,
        after: Offset,
        max: usize,
        fresh: bool,
    ) -> Result<(Vec<Delivery>, bool), LogError> {
        let slot = self.slot(stream, consumer);
        // One read at a time per consumer name, so they do not race on one reader's position.
        let mut held = slot.lock().await;
        let start = after.saturating_add(1);
        // Taken out while in use: if this future is dropped mid-fetch, the reader (whose position
        // is then unknown) goes with it.
        let cached = match held.take() {
            Some(reader) if !fresh && reader.next == start && reader.stream_name == stream_name => {
                Some(reader)
            }
            Some(stale) => {
                stale.discard(&self.js);
                None
            }
            None => None,
        };
        let reused = cached.is_some();
        let mut reader = match cached {
            Some(reader) => reader,
            None => self.create(stream_name, start).await?,
        };
        let result = match self.fetch(&mut reader, stream, max).await {
            Err(e) if reused && !matches!(e, LogError::Corrupt { .. }) => {
                // The cached reader may have been removed by the server (idle too long, or the
                // server restarted): one more try with a new one.
                tracing::debug!(%stream, consumer, error = %e, "reader failed; recreating it");
                reader.discard(&self.js);
                reader = self.create(stream_name, start).await?;
                self.fetch(&mut reader, stream, max).await
            }
            other => other,
        };
        match result {
            Ok(deliveries) => {
                *held = Some(reader);
                Ok((deliveries, reused))
            }
            Err(e) => {
                reader.discard(&self.js);
                Err(e)
            }
        }
    }

    async fn create(&self, stream_name: &str, start: Offset) -> Result<Reader, LogError> {
        let config = pull::Config {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ack_policy: AckPolicy::None,
            replay_policy: ReplayPolicy::Instant,
            inactive_threshold: INACTIVE,
            memory_storage: true,
            num_replicas: 1,
            description: Some("strata event log reader (EventLog::read)".to_owned()),
            ..pull::Config::default()
        };
        let consumer = self
            .js
            .create_consumer_on_stream(config, stream_name)
            .await
            .map_err(|e| LogError::Nats {
                op: "create a reader",
                reason: format!("ephemeral consumer on stream {stream_name}: {e}"),
            })?;
        Ok(Reader {
            consumer,
            stream_name: stream_name.to_owned(),
            next: start,
        })
    }

    /// Fetches up to `max` events from `reader`, in as many fetches as needed, stopping early
    /// when the stream has no more.
    async fn fetch(
        &self,
        reader: &mut Reader,
        stream: StreamName,
        max: usize,
    ) -> Result<Vec<Delivery>, LogError> {
        let mut deliveries: Vec<Delivery> = Vec::with_capacity(max.min(FETCH_CHUNK));
        while deliveries.len() < max {
            let asked = (max - deliveries.len()).min(FETCH_CHUNK);
            let before = deliveries.len();
            let pending = self
                .fetch_chunk(reader, stream, asked, &mut deliveries)
                .await?;
            if deliveries.len() == before || pending == 0 {
                break;
            }
        }
        Ok(deliveries)
    }

    /// One pull request; returns how many messages the server says remain after the last one.
    async fn fetch_chunk(
        &self,
        reader: &mut Reader,
        stream: StreamName,
        asked: usize,
        into: &mut Vec<Delivery>,
    ) -> Result<u64, LogError> {
        let failed = |reason: String| LogError::Nats {
            op: "read",
            reason: format!("stream {}: {reason}", reader.stream_name),
        };
        // `fetch` is a no-wait pull: the server sends what it has (up to `asked`) and ends the
        // request at once, or after `wait` when it has nothing.
        let mut batch = reader
            .consumer
            .fetch()
            .max_messages(asked)
            .expires(self.wait)
            .messages()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut pending = 0;
        // The library's own guard is `wait` + 5 s; ours is the request timeout.
        let deadline = tokio::time::Instant::now() + self.wait + self.request_timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, batch.next())
                .await
                .map_err(|_| failed("the server stopped answering the fetch".to_owned()))?;
            let Some(message) = next else { break };
            let message = message.map_err(|e| failed(e.to_string()))?;
            let info = message.info().map_err(|e| failed(e.to_string()))?;
            let offset = info.stream_sequence;
            pending = info.pending;
            if offset < reader.next {
                return Err(failed(format!(
                    "the reader went back from sequence {} to {offset}",
                    reader.next
                )));
            }
            if offset > reader.next {
                tracing::warn!(
                    %stream,
                    stream_name = %reader.stream_name,
                    from = reader.next,
                    to = offset - 1,
                    "events are missing from the stream (removed by its max_age/max_bytes limits, or deleted): skipping them"
                );
            }
            reader.next = offset + 1;
            let event =
                Event::from_json(stream, &message.payload).map_err(|e| LogError::Corrupt {
                    stream,
                    offset,
                    reason: e.to_string(),
                })?;
            into.push(Delivery { offset, event });
        }
        Ok(pending)
    }
}
