//! The NATS JetStream backend of [`EventLog`]: the streams on a NATS server (or cluster) instead
//! of a file, so producers and consumers on several machines share one log.
//!
//! **Layout.** One JetStream stream per telemetry stream (`COMMERCE_TELEMETRY`,
//! `PUBLICATION_TELEMETRY`, `SYNC_TELEMETRY`, on subjects `strata.telemetry.commerce`, …), file
//! storage, created or updated at [`NatsLog::open`]. An event is one message: the same JSON the
//! embedded log stores, with header `Nats-Msg-Id: <event_id>`.
//!
//! **Offsets are stream sequences.** JetStream numbers a stream's messages from 1 without reuse,
//! exactly the [`Offset`] contract; a duplicate takes no sequence, so offsets have no gaps (unless
//! the stream's `max_age`/`max_bytes` limits remove old events).
//!
//! **Idempotent appends, within a window.** JetStream drops a message whose `Nats-Msg-Id` it has
//! stored within the stream's duplicate window and answers with the stored copy's sequence, which
//! is [`AppendEntry::duplicate`] with the stored offset. Beyond the window
//! ([`NatsOptions::duplicate_window`], one hour by default) a retried event is stored again:
//! [`SqliteLog`](crate::SqliteLog) deduplicates forever, this backend does not. Repeats inside
//! one call are found here, before publishing.
//!
//! **Appends are not atomic.** The embedded log stores a call's events in one transaction; here
//! each event is its own message. A failed append may have stored some of its events; retrying it
//! (within the window) stores the rest and reports the others as duplicates.
//!
//! **Committed offsets** live in a KV bucket (see `offsets.rs` for why not a durable consumer),
//! and **reads** go through positioned ephemeral consumers that move nothing durable (see
//! `read.rs`).

mod config;
mod offsets;
mod read;

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_nats::jetstream::{
    self,
    context::PublishAckFuture,
    kv,
    message::PublishMessage,
    stream::{self, DiscardPolicy, RetentionPolicy, StorageType},
};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use config::{NatsOptions, NatsStorage};

use crate::{
    Event, EventId, StreamName,
    log::{
        AppendEntry, AppendReceipt, Delivery, EventLog, LogError, Offset, StreamStats,
        check_consumer_name,
    },
};
use offsets::Offsets;
use read::Readers;

/// Publishes one append keeps in flight before awaiting the oldest acknowledgement.
const APPEND_WINDOW: usize = 1_024;

/// Publishes all appends of one handle keep in flight together.
const MAX_IN_FLIGHT: usize = 16_384;

/// Appends of at most this many events are encoded on the calling task (as in the embedded log).
const INLINE_ENCODE_EVENTS: usize = 32;

/// How long connecting may take before [`NatsLog::open`] says the server is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads tried before an empty answer below the head is believed (see [`NatsLog::read`]'s body).
const EMPTY_READ_ATTEMPTS: u32 = 5;

/// Pause before the n-th retried read, times n.
const EMPTY_READ_PAUSE: Duration = Duration::from_millis(100);

/// [`EventLog`] on NATS JetStream.
#[derive(Clone)]
pub struct NatsLog {
    inner: Arc<Inner>,
}

struct Inner {
    options: NatsOptions,
    js: jetstream::Context,
    /// Per stream, in [`StreamName::ALL`] order.
    streams: [StreamHandle; 3],
    offsets: Offsets,
    readers: Readers,
    /// Bounds the publishes in flight across concurrent appends.
    in_flight: Arc<Semaphore>,
}

struct StreamHandle {
    name: String,
    subject: String,
    stream: stream::Stream,
    /// The highest sequence known to exist: heads only grow, so a commit at or below it needs
    /// no round trip to check against the head.
    known_head: AtomicU64,
}

impl fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsLog")
            .field("url", &self.inner.options.url)
            .field("stream_prefix", &self.inner.options.stream_prefix)
            .field("subject_prefix", &self.inner.options.subject_prefix)
            .finish_non_exhaustive()
    }
}

fn index(stream: StreamName) -> usize {
    match stream {
        StreamName::Commerce => 0,
        StreamName::Publication => 1,
        StreamName::Sync => 2,
    }
}

impl NatsLog {
    /// Connects to the server, and creates (or brings up to date with `options`) the three
    /// streams and the offsets bucket. Idempotent: every process of an installation opens the
    /// same streams.
    pub async fn open(options: NatsOptions) -> Result<Self, LogError> {
        options.check()?;
        let url = options.url.clone();
        let addresses: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        let client = async_nats::ConnectOptions::new()
            .name("strata event log")
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(options.request_timeout))
            .connect(addresses)
            .await
            .map_err(|e| LogError::Nats {
                op: "connect",
                reason: format!(
                    "NATS at {url} is unreachable ({e}): is nats-server running there with \
                     JetStream on (`nats-server -js`; in this repository `scripts/services nats`)?"
                ),
            })?;
        let js = jetstream::ContextBuilder::new()
            .timeout(options.request_timeout)
            // Our own semaphore bounds what is in flight (`MAX_IN_FLIGHT`); the library's must
            // never be the one that blocks (see `append`).
            .max_ack_inflight(MAX_IN_FLIGHT * 4)
            .build(client);
        check_jetstream(&js, &url).await?;

        let mut handles = Vec::with_capacity(3);
        for stream in StreamName::ALL {
            handles.push(ensure_stream(&js, &options, stream).await?);
        }
        let streams: [StreamHandle; 3] = handles.try_into().map_err(|_| LogError::Nats {
            op: "open",
            reason: "expected three streams".to_owned(),
        })?;

        let bucket = options.offsets_bucket();
        let kv_store = ensure_offsets_bucket(&js, &options, &bucket).await?;

        tracing::info!(
            url = %url,
            streams = ?streams.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            offsets = %bucket,
            duplicate_window_s = options.duplicate_window.as_secs(),
            "opened event log on NATS JetStream"
        );
        let readers = Readers::new(js.clone(), options.read_wait, options.request_timeout);
        Ok(Self {
            inner: Arc::new(Inner {
                offsets: Offsets::new(kv_store, bucket),
                readers,
                in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
                streams,
                js,
                options,
            }),
        })
    }

    /// The settings it was opened with.
    pub fn options(&self) -> &NatsOptions {
        &self.inner.options
    }

    /// Deletes the three streams and the offsets bucket, with every event and committed offset
    /// in them. For tests and throwaway setups; the handle is unusable afterwards.
    pub async fn delete_streams_and_offsets(&self) -> Result<(), LogError> {
        let inner = &self.inner;
        for handle in &inner.streams {
            inner
                .js
                .delete_stream(&handle.name)
                .await
                .map_err(|e| LogError::Nats {
                    op: "delete a stream",
                    reason: format!("{}: {e}", handle.name),
                })?;
        }
        let bucket = inner.options.offsets_bucket();
        inner
            .js
            .delete_key_value(&bucket)
            .await
            .map_err(|e| LogError::Nats {
                op: "delete the offsets bucket",
                reason: format!("{bucket}: {e}"),
            })?;
        Ok(())
    }

    fn handle(&self, stream: StreamName) -> &StreamHandle {
        &self.inner.streams[index(stream)]
    }

    /// The stream's last sequence, asked of the server.
    async fn head(&self, stream: StreamName) -> Result<Offset, LogError> {
        let handle = self.handle(stream);
        let info = handle.stream.get_info().await.map_err(|e| LogError::Nats {
            op: "read the head of a stream",
            reason: format!("{}: {e}", handle.name),
        })?;
        let head = info.state.last_sequence;
        handle.known_head.fetch_max(head, Ordering::Relaxed);
        Ok(head)
    }

    /// Takes a slot for one more publish in flight. Blocks only while this append has nothing in
    /// flight itself; otherwise the caller settles its oldest publish first. So concurrent appends
    /// never wait on each other while holding slots, and cannot deadlock.
    fn try_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.inner.in_flight).try_acquire_owned().ok()
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, LogError> {
        Arc::clone(&self.inner.in_flight)
            .acquire_owned()
            .await
            .map_err(|_| LogError::Nats {
                op: "append",
                reason: "the log is closing".to_owned(),
            })
    }
}

fn storage_type(storage: NatsStorage) -> StorageType {
    match storage {
        NatsStorage::File => StorageType::File,
        NatsStorage::Memory => StorageType::Memory,
    }
}

/// Asks the server whether JetStream answers, so a server without it is reported as such rather
/// than as a failure to create the first stream. (A raw `$JS.API.INFO` request: the library's
/// typed account query cannot parse the answer of servers older than 2.10.)
async fn check_jetstream(js: &jetstream::Context, url: &str) -> Result<(), LogError> {
    let off = |why: String| LogError::Nats {
        op: "open",
        reason: format!(
            "NATS at {url} answers but JetStream does not ({why}): start nats-server with -js \
             (or enable JetStream for this account)"
        ),
    };
    let answer = js
        .client()
        .request("$JS.API.INFO", Bytes::new())
        .await
        .map_err(|e| off(e.to_string()))?;
    let info: serde_json::Value =
        serde_json::from_slice(&answer.payload).map_err(|e| off(e.to_string()))?;
    match info.get("error") {
        Some(error) => Err(off(error.to_string())),
        None => Ok(()),
    }
}

/// Creates the offsets bucket, or updates it to `options`. Its stream is laid out as
/// `nats kv add` does (`KV_<bucket>` on `$KV.<bucket>.>`, one value per key, direct gets), so
/// `nats kv` reads it; created here rather than by the library's KV API, which queries the
/// account in a way servers older than 2.10 cannot answer.
async fn ensure_offsets_bucket(
    js: &jetstream::Context,
    options: &NatsOptions,
    bucket: &str,
) -> Result<kv::Store, LogError> {
    let failed = |e: String| LogError::Nats {
        op: "open",
        reason: format!("cannot create or update the KV bucket {bucket}: {e}"),
    };
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(
            "Strata's event log: each consumer's committed offset, key <stream>.<consumer>"
                .to_owned(),
        ),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_messages: -1,
        max_bytes: -1,
        storage: storage_type(options.storage),
        num_replicas: options.replicas,
        discard: DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        duplicate_window: Duration::from_secs(120),
        ..stream::Config::default()
    };
    js.create_or_update_stream(config)
        .await
        .map_err(|e| failed(e.to_string()))?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| failed(e.to_string()))
}

/// Creates the JetStream stream of `stream`, or updates it to `options`.
async fn ensure_stream(
    js: &jetstream::Context,
    options: &NatsOptions,
    stream: StreamName,
) -> Result<StreamHandle, LogError> {
    let name = options.stream_name(stream);
    let subject = options.subject(stream);
    let config = stream::Config {
        name: name.clone(),
        description: Some(format!(
            "Strata's {} events (strata-events NatsLog): offset = sequence, Nats-Msg-Id = event_id",
            stream.wire_name()
        )),
        subjects: vec![subject.clone()],
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        storage: storage_type(options.storage),
        num_replicas: options.replicas,
        duplicate_window: options.duplicate_window,
        max_age: options.max_age.unwrap_or(Duration::ZERO),
        max_bytes: options
            .max_bytes
            .and_then(|b| i64::try_from(b).ok())
            .unwrap_or(-1),
        max_messages: -1,
        // Events are only ever appended: no deleting single messages.
        deny_delete: true,
        allow_direct: true,
        ..stream::Config::default()
    };
    js.create_or_update_stream(config)
        .await
        .map_err(|e| LogError::Nats {
            op: "open",
            reason: format!(
                "cannot create or update stream {name} on subject {subject}: {e}. A setting \
                 JetStream cannot change on an existing stream (its storage type) needs the \
                 stream removed first (`nats stream rm {name}`, which deletes its events); a \
                 subject already taken by another stream needs another subject prefix"
            ),
        })?;
    let handle = js.get_stream(&name).await.map_err(|e| LogError::Nats {
        op: "open",
        reason: format!("stream {name}: {e}"),
    })?;
    let head = handle.cached_info().state.last_sequence;
    Ok(StreamHandle {
        name,
        subject,
        stream: handle,
        known_head: AtomicU64::new(head),
    })
}

/// An event checked and encoded for publishing.
struct Encoded {
    event_id: EventId,
    payload: Bytes,
}

/// Checks that every event belongs to `stream` and encodes it; nothing is published on failure.
fn encode(stream: StreamName, events: Vec<Event>) -> Result<Vec<Encoded>, LogError> {
    let mut encoded = Vec::with_capacity(events.len());
    for event in events {
        let payload = crate::log::encode_for(stream, &event)?;
        encoded.push(Encoded {
            event_id: event.event_id().clone(),
            payload: Bytes::from(payload),
        });
    }
    Ok(encoded)
}

/// A publish whose acknowledgement is awaited.
struct InFlight {
    index: usize,
    ack: PublishAckFuture,
    _slot: OwnedSemaphorePermit,
}

impl NatsLog {
    /// Awaits the acknowledgement of `publish` and records where its event is.
    async fn settle(
        &self,
        stream: StreamName,
        publish: InFlight,
        entries: &mut [Option<(Offset, bool)>],
        events: &[Encoded],
    ) -> Result<(), LogError> {
        let handle = self.handle(stream);
        let event_id = &events[publish.index].event_id;
        let ack = publish.ack.await.map_err(|e| LogError::Nats {
            op: "append",
            reason: format!(
                "event {event_id} to stream {}: {e}; events before it in this call may be \
                 stored: retrying the call is safe within the duplicate window",
                handle.name
            ),
        })?;
        if ack.duplicate && ack.sequence == 0 {
            // A clustered stream answers so while the first copy is still being replicated.
            return Err(LogError::Nats {
                op: "append",
                reason: format!(
                    "event {event_id} is being stored by another append right now; retry to \
                     learn its offset"
                ),
            });
        }
        if !ack.duplicate {
            handle.known_head.fetch_max(ack.sequence, Ordering::Relaxed);
        }
        entries[publish.index] = Some((ack.sequence, ack.duplicate));
        Ok(())
    }
}

#[async_trait]
impl EventLog for NatsLog {
    async fn append(
        &self,
        stream: StreamName,
        events: Vec<Event>,
    ) -> Result<AppendReceipt, LogError> {
        let started = Instant::now();
        let events = if events.len() <= INLINE_ENCODE_EVENTS {
            encode(stream, events)?
        } else {
            tokio::task::spawn_blocking(move || encode(stream, events)).await??
        };
        let handle = self.handle(stream);

        // A repeat inside the call is not published again: it is the first copy's duplicate.
        let mut first_of: HashMap<&str, usize> = HashMap::with_capacity(events.len());
        let mut repeat_of: Vec<Option<usize>> = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let first = *first_of.entry(e.event_id.as_str()).or_insert(i);
            repeat_of.push((first != i).then_some(first));
        }

        // Pipelined: up to APPEND_WINDOW publishes in flight, acknowledgements awaited in order.
        let mut entries: Vec<Option<(Offset, bool)>> = vec![None; events.len()];
        let mut pending: VecDeque<InFlight> = VecDeque::new();
        for (i, event) in events.iter().enumerate() {
            if repeat_of[i].is_some() {
                continue;
            }
            let slot = loop {
                if pending.len() < APPEND_WINDOW
                    && let Some(slot) = self.try_slot()
                {
                    break slot;
                }
                match pending.pop_front() {
                    Some(oldest) => self.settle(stream, oldest, &mut entries, &events).await?,
                    None => break self.slot().await?,
                }
            };
            let message = PublishMessage::build()
                .payload(event.payload.clone())
                .message_id(event.event_id.as_str());
            let ack = self
                .inner
                .js
                .send_publish(handle.subject.clone(), message)
                .await
                .map_err(|e| LogError::Nats {
                    op: "append",
                    reason: format!(
                        "publishing event {} on {}: {e}; events before it in this call may be \
                         stored: retrying the call is safe within the duplicate window",
                        event.event_id, handle.subject
                    ),
                })?;
            pending.push_back(InFlight {
                index: i,
                ack,
                _slot: slot,
            });
        }
        while let Some(oldest) = pending.pop_front() {
            self.settle(stream, oldest, &mut entries, &events).await?;
        }

        let mut receipt_entries = Vec::with_capacity(events.len());
        let mut newest: Option<Offset> = None;
        for (i, event) in events.iter().enumerate() {
            let (offset, duplicate) = match repeat_of[i] {
                Some(first) => (entries[first].map(|(o, _)| o), true),
                None => match entries[i] {
                    Some((o, d)) => (Some(o), d),
                    None => (None, false),
                },
            };
            let offset = offset.ok_or_else(|| LogError::Nats {
                op: "append",
                reason: format!(
                    "no acknowledgement was recorded for event {}",
                    event.event_id
                ),
            })?;
            if !duplicate {
                newest = Some(newest.map_or(offset, |n| n.max(offset)));
            }
            receipt_entries.push(AppendEntry {
                event_id: event.event_id.clone(),
                offset,
                duplicate,
            });
        }
        // The head after the append: the last new event's sequence (concurrent appends may have
        // gone further since, as with the embedded log), or the server's word if nothing was new.
        let head_offset = match newest {
            Some(offset) => offset.max(handle.known_head.load(Ordering::Relaxed)),
            None => self.head(stream).await?,
        };
        let receipt = AppendReceipt {
            stream,
            entries: receipt_entries,
            head_offset,
        };
        tracing::debug!(
            stream = %stream,
            appended = receipt.appended(),
            duplicates = receipt.duplicates(),
            head = receipt.head_offset,
            elapsed_us = started.elapsed().as_micros() as u64,
            "appended events to JetStream"
        );
        Ok(receipt)
    }

    async fn read(
        &self,
        stream: StreamName,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<Delivery>, LogError> {
        check_consumer_name(consumer)?;
        if max == 0 {
            return Ok(Vec::new());
        }
        let committed = self.inner.offsets.committed(stream, consumer).await?;
        let name = &self.handle(stream).name;
        let readers = &self.inner.readers;
        let mut fresh = false;
        for attempt in 0..EMPTY_READ_ATTEMPTS {
            let (deliveries, _) = readers
                .read(stream, name, consumer, committed, max, fresh)
                .await?;
            if !deliveries.is_empty() || self.head(stream).await? <= committed {
                return Ok(deliveries);
            }
            // Nothing delivered although the head is past the committed offset. A cached reader
            // may have lost its consumer (a server restart, an operator), and a fresh consumer on
            // a busy server can answer its first no-wait fetch with "no messages" before it has
            // positioned itself. Either way an empty answer would tell the caller it is caught up
            // when it is not: read again through a new reader, after a short pause.
            tracing::debug!(%stream, consumer, attempt, "empty read below the head; retrying with a new reader");
            if attempt > 0 {
                tokio::time::sleep(EMPTY_READ_PAUSE * attempt).await;
            }
            fresh = true;
        }
        // Still nothing: the events between the committed offset and the head were removed by the
        // stream's limits (or deleted), so there is nothing left to read.
        Ok(Vec::new())
    }

    async fn commit(
        &self,
        stream: StreamName,
        consumer: &str,
        offset: Offset,
    ) -> Result<Offset, LogError> {
        check_consumer_name(consumer)?;
        let known = self.handle(stream).known_head.load(Ordering::Relaxed);
        if offset > known {
            let head = self.head(stream).await?;
            if offset > head {
                return Err(LogError::OffsetBeyondHead {
                    stream,
                    consumer: consumer.to_owned(),
                    offset,
                    head,
                });
            }
        }
        let committed = self.inner.offsets.commit(stream, consumer, offset).await?;
        tracing::debug!(stream = %stream, consumer, requested = offset, committed, "committed offset");
        Ok(committed)
    }

    async fn stats(&self, stream: StreamName) -> Result<StreamStats, LogError> {
        let (head_offset, consumers) =
            tokio::try_join!(self.head(stream), self.inner.offsets.list(stream))?;
        Ok(StreamStats {
            stream,
            head_offset,
            consumers,
        })
    }
}
