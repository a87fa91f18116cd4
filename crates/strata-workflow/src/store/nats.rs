//! The NATS JetStream store: workflow state in five key-value buckets on a NATS server (or
//! cluster), so several processes on several machines share the work, and take over each other's
//! instances when their leases lapse ([`Store::exclusive`] is false).
//!
//! **Layout** (`<P>` = [`NatsStoreOptions::prefix`], `STRATA_WF` by default):
//!
//! - `<P>_INSTANCES`: key = instance id → the [`Instance`] as JSON. [`Instance::version`] is the
//!   entry's KV revision (set on every read; the JSON's own field is ignored). Revisions are stream
//!   sequences: unique and increasing, but not 1, 2, 3 per key; the engine only compares them.
//! - `<P>_STEPS`: key `<id>.<generation>.x<hex of the name>` (`h` + a 128-bit FNV-1a hash of the
//!   name past 64 bytes, the name checked on read) → `{name, seq, updated_at, state…}`. `seq` is the
//!   revision of the record's first write, carried by every later write (each reads the record
//!   first, then compare-and-sets it), so [`Store::steps`] lists a generation in first-write order
//!   from one scan, with no counter to allocate.
//! - `<P>_EVENTS`: key `<id>.<n>` → `{seq: n, event_type, payload, received_at, consumed_by}`,
//!   n = 1, 2, … allocated by `create` at the first free number, so an inbox has no gaps.
//! - `<P>_VALUES`: key = the value's key → `{value, updated_at}`; the revision is the KV revision.
//! - `<P>_AUDIT`: key = event id → `{json, staged}` (the event as the engine encoded it; `staged`
//!   below). Delivered records are removed with the stream's message-delete API: a KV delete would
//!   leave a marker per event forever. `audit_pending` walks the stream in sequence order from the
//!   lowest sequence that may still be pending.
//!
//! The buckets are created as plain streams laid out like `nats kv add` (as strata-events' offsets
//! bucket, for the same reason: the library's `create_key_value` needs a 2.10 server). Direct gets
//! are allowed on a single replica only: in a cluster any replica answers a direct get, possibly
//! stale, and a stale read could make a completed step look absent and run it twice.
//!
//! **Atomicity without transactions.** Every method is built from single-key compare-and-sets
//! (`Nats-Expected-Last-Subject-Sequence`), so the trait's contracts hold per key:
//!
//! - `update`, `renew` and values with an expected revision are compare-and-sets; `renew` changes
//!   the revision too (here the lease is in the instance's record), which the engine tolerates:
//!   every writer re-reads before its compare-and-set, and a stale `due` snapshot only loses its
//!   claim.
//! - Audit records are written *before* the state change they report. A step record's are ready
//!   at once (a step write always lands, retried until it does). An instance change's are
//!   *staged* on its compare-and-set (instance key, expected revision): confirmed once it lands,
//!   removed if it loses, never delivered meanwhile, so the races of normal operation (two claims,
//!   a finish against a lease renewal) add no events. If the writer dies (or cannot tell whether
//!   its write landed), the record is settled after a grace period (a minute, or three request
//!   timeouts) by whoever drains the outbox: removed if the instance is still at the expected
//!   revision, else delivered, even if a later change hid that its own did not land. So the trail
//!   is exactly once in normal operation and at least once across crashes, never lost (SQLite
//!   writes record and change in one transaction; the engine redoes a change that did not land,
//!   with a new event id).
//! - `consume_event` marks the event `consumed_by` the step (compare-and-set on the event), then
//!   records the step `Done` (compare-and-set on the step record's revision as read first). A
//!   timeout writes `TimedOut` with a compare-and-set on that same revision, so a consume and a
//!   timeout cannot both win; a consumer that finds the wait decided otherwise unmarks its event. A
//!   crash between marking and recording is repaired by the next call, which finds the event marked
//!   for its step.
//!
//! **Reads.** `due` and `count_leased` run at every scheduler tick of every process, so they answer
//! from an in-process cache of the *unfinished* instances (memory follows live work, not history),
//! fed by a watch of the instances bucket (an ordered consumer, last value per key first) and by
//! this store's own writes and reads. It may lag another process's write by the watch's latency; a
//! stale entry just loses its claim. Until the watch has caught up (at open, after losing it) they
//! scan the bucket instead. `list` always scans (one ephemeral consumer over the last value of every
//! key), so a fresh CLI process sees everything, at a cost linear in every instance ever created.
//! Inboxes are read by direct gets of `<id>.1, <id>.2, …` until one is absent: linear in the inbox,
//! which is small in practice.
//!
//! **Sizes.** A record is one message, so it must fit the server's `max_payload` (1 MB by default),
//! while a step result may be up to [`MAX_STEP_RESULT_BYTES`](crate::MAX_STEP_RESULT_BYTES) (1 MiB)
//! of JSON: raise `max_payload` (e.g. to 8 MB) for workflows with large results. A record over it
//! fails with a [`StoreError::TooLarge`] that says so, and the run that wrote it fails.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use async_nats::{
    HeaderMap,
    jetstream::{
        self, ErrorCode,
        consumer::{AckPolicy, DeliverPolicy, PullConsumer, ReplayPolicy, pull, push},
        kv::{self, CreateErrorKind, UpdateErrorKind},
        stream::{self, DiscardPolicy, RawMessageErrorKind, StorageType},
    },
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, future::join_all};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
pub use strata_events::NatsStorage;
use tokio::sync::watch;

use super::{AuditRecord, Created, Store, corrupt};
use crate::{
    error::StoreError,
    model::{
        Consumed, Instance, InstanceId, InstanceStatus, Lease, ListFilter, StepRecord, StepState,
        StoredValue, WorkflowEvent,
    },
};

/// How long connecting may take before [`NatsStore::open`] says the server is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Compare-and-set attempts before an operation gives up: each lost race means another writer
/// changed the key in between, so this many in a row is pathological.
const CAS_ATTEMPTS: usize = 32;

/// Messages asked of the server per fetch of a scan.
const SCAN_BATCH: u64 = 1_000;

/// Room left under `max_payload` for the subject and headers of a write.
const HEADER_ROOM: usize = 512;

/// Step names up to this many bytes are spelled out (in hex) in their key; longer ones are hashed.
const SPELLED_NAME_BYTES: usize = 64;

/// Longest wait in [`NatsStore::open`] for the instance cache to catch up; past it the scheduler
/// scans the bucket until the cache is ready.
const CACHE_WAIT: Duration = Duration::from_secs(10);

/// How long a staged audit record waits at least for its writer to confirm or discard it before
/// anyone settles it (three request timeouts if that is longer).
const STAGED_GRACE: Duration = Duration::from_secs(60);

/// The header KV deletes and purges carry.
const KV_OPERATION: &str = "KV-Operation";

/// Settings of [`NatsStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsStoreOptions {
    /// The server, e.g. `nats://127.0.0.1:4222` (several comma-separated URLs of one cluster are
    /// accepted).
    pub url: String,
    /// Prepended to the buckets' names (`<prefix>_INSTANCES`, …): letters, digits, `_` and `-`.
    /// Installations (or tests) sharing one NATS account isolate themselves with it.
    pub prefix: String,
    /// Disk (the default: workflow state must survive a server restart) or memory.
    pub storage: NatsStorage,
    /// Copies of each bucket in a cluster: 1 on a single server, 3 for a cluster that survives
    /// losing a node.
    pub replicas: usize,
    /// How long one request to the server (a read, a write's acknowledgement) may take.
    pub request_timeout: Duration,
}

impl Default for NatsStoreOptions {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            prefix: "STRATA_WF".to_owned(),
            storage: NatsStorage::File,
            replicas: 1,
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl NatsStoreOptions {
    /// The default settings for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The bucket of `kind` (`INSTANCES`, `STEPS`, `EVENTS`, `VALUES`, `AUDIT`).
    pub fn bucket(&self, kind: &str) -> String {
        format!("{}_{kind}", self.prefix)
    }

    fn location(&self) -> String {
        format!("NATS {} (buckets {}_*)", self.url, self.prefix)
    }

    /// Refuses settings the server would refuse later, saying what to change.
    fn check(&self) -> Result<(), StoreError> {
        let bad = |reason: String| {
            Err(StoreError::Open {
                location: self.location(),
                reason,
            })
        };
        if self.url.trim().is_empty() {
            return bad("the NATS URL is empty: use e.g. nats://127.0.0.1:4222".to_owned());
        }
        if self.prefix.is_empty()
            || !self
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        {
            return bad(format!(
                "bucket prefix `{}` must be letters, digits, `_` and `-` (e.g. STRATA_WF)",
                self.prefix
            ));
        }
        if !(1..=5).contains(&self.replicas) {
            return bad(format!(
                "{} replicas: JetStream keeps 1 to 5 copies (1 on a single server, 3 in a cluster)",
                self.replicas
            ));
        }
        Ok(())
    }
}

/// [`Store`] in NATS JetStream key-value buckets. Cheap to clone.
#[derive(Clone)]
pub struct NatsStore {
    inner: Arc<Inner>,
}

struct Inner {
    options: NatsStoreOptions,
    js: jetstream::Context,
    instances: Bucket,
    steps: Bucket,
    events: Bucket,
    values: Bucket,
    audit: Bucket,
    cache: Arc<Cache>,
    watcher: tokio::task::AbortHandle,
    audit_outbox: Mutex<AuditOutbox>,
}

/// What `audit_pending` learned, so the next reads and `audit_delivered` skip round trips.
#[derive(Default)]
struct AuditOutbox {
    /// No pending record has a lower sequence (sequences only grow, delivered ones never return).
    floor: u64,
    /// The sequence of each record handed out, for its removal once delivered.
    sequences: HashMap<String, u64>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl fmt::Debug for NatsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsStore")
            .field("url", &self.inner.options.url)
            .field("prefix", &self.inner.options.prefix)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NatsStore {
    /// Connects to the server and creates (or brings up to date with `options`) the five buckets.
    /// Idempotent: every process of an installation opens the same buckets. Fails with a clear
    /// error when the server is unreachable or has JetStream off.
    pub async fn open(options: NatsStoreOptions) -> Result<Self, StoreError> {
        options.check()?;
        let location = options.location();
        let fail = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
        };
        let addresses: Vec<&str> = options
            .url
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        let client = async_nats::ConnectOptions::new()
            .name("strata workflow store")
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(options.request_timeout))
            .connect(addresses)
            .await
            .map_err(|e| {
                fail(format!(
                    "NATS is unreachable ({e}): is nats-server running there with JetStream on \
                     (`nats-server -js`; in this repository `scripts/services nats`)?"
                ))
            })?;
        let js = jetstream::ContextBuilder::new()
            .timeout(options.request_timeout)
            .build(client);
        check_jetstream(&js).await.map_err(&fail)?;
        let mut buckets = Vec::with_capacity(5);
        for kind in ["INSTANCES", "STEPS", "EVENTS", "VALUES", "AUDIT"] {
            buckets.push(ensure_bucket(&js, &options, kind).await.map_err(&fail)?);
        }
        let [instances, steps, events, values, audit]: [Bucket; 5] = buckets
            .try_into()
            .map_err(|_| fail("expected five buckets".to_owned()))?;

        let cache = Arc::new(Cache::default());
        let watcher =
            tokio::spawn(watch_instances(instances.clone(), cache.clone())).abort_handle();
        // Owned by the store from here on, so the watch stops with it even if this is cancelled.
        let store = Self {
            inner: Arc::new(Inner {
                options,
                js,
                instances,
                steps,
                events,
                values,
                audit,
                cache,
                watcher,
                audit_outbox: Mutex::new(AuditOutbox::default()),
            }),
        };
        let mut ready = store.inner.cache.ready.subscribe();
        if tokio::time::timeout(CACHE_WAIT, ready.wait_for(|r| *r))
            .await
            .is_err()
        {
            tracing::warn!(bucket = %store.inner.instances.name, "the instance cache has not caught up yet; the scheduler scans the bucket meanwhile");
        }
        tracing::info!(store = %location, "opened the workflow store on NATS JetStream");
        Ok(store)
    }

    /// The settings it was opened with.
    pub fn options(&self) -> &NatsStoreOptions {
        &self.inner.options
    }

    /// Deletes the five buckets with all workflow state in them. For tests and throwaway setups;
    /// the store is unusable afterwards.
    pub async fn delete_buckets(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner.watcher.abort();
        for bucket in [
            &inner.instances,
            &inner.steps,
            &inner.events,
            &inner.values,
            &inner.audit,
        ] {
            inner
                .js
                .delete_stream(&bucket.kv.stream_name)
                .await
                .map_err(|e| StoreError::Nats(format!("delete bucket {}: {e}", bucket.name)))?;
        }
        Ok(())
    }

    /// Writes audit records before the state change they report: ready for delivery, or staged
    /// on the compare-and-set of an instance (`condition`: its key and expected revision, 0 for a
    /// create), to be [confirmed](Self::confirm_audit) or [discarded](Self::discard_audit) once its
    /// fate is known. Returns what it wrote (a record already there is a retried write of the same
    /// event, left alone).
    async fn write_audit(
        &self,
        audit: &[AuditRecord],
        condition: Option<(&str, u64)>,
    ) -> Result<Vec<Written>, StoreError> {
        let mut written = Vec::with_capacity(audit.len());
        for record in audit {
            let doc = AuditDoc {
                json: record.json.clone(),
                staged: condition.map(|(instance, expected)| Staged {
                    instance: instance.to_owned(),
                    expected,
                    at: Utc::now(),
                }),
            };
            let body = encode(&record.event_id, &doc)?;
            match self.inner.audit.create(&record.event_id, body).await {
                Ok(Some(revision)) => written.push(Written {
                    event_id: record.event_id.clone(),
                    revision,
                    json: record.json.clone(),
                }),
                Ok(None) => {}
                Err(e) => {
                    self.discard_audit(&written).await;
                    return Err(e);
                }
            }
        }
        Ok(written)
    }

    /// Makes staged records deliverable: their change landed. Best effort: one left staged is
    /// delivered anyway after the grace period, since the instance shows it changed.
    async fn confirm_audit(&self, written: &[Written]) {
        for record in written {
            let ready = AuditDoc {
                json: record.json.clone(),
                staged: None,
            };
            let outcome = match encode(&record.event_id, &ready) {
                Ok(body) => {
                    self.inner
                        .audit
                        .update(&record.event_id, body, record.revision)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                tracing::warn!(event_id = %record.event_id, error = %e, "could not confirm an audit record; it is delivered after a grace period");
            }
        }
    }

    /// Removes records whose change did not land. Best effort: a record left staged is removed
    /// after the grace period if the instance did not change, else delivered (at least once).
    async fn discard_audit(&self, written: &[Written]) {
        for record in written {
            if let Err(e) = self.inner.audit.remove_message(record.revision).await {
                tracing::warn!(event_id = %record.event_id, error = %e, "could not remove the audit record of a change that did not land");
            }
        }
    }

    /// How long a staged audit record waits for its writer: the change's compare-and-set is one
    /// request, bounded by the request timeout, so a writer still alive has settled it by then.
    fn staged_grace(&self) -> chrono::TimeDelta {
        let grace = STAGED_GRACE.max(self.inner.options.request_timeout * 3);
        chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::MAX)
    }

    /// Whether the change a staged record reports landed: the instance moved past the revision
    /// the change expected (by that change, or by a later one if a crash hid which).
    async fn staged_landed(&self, staged: &Staged) -> Result<bool, StoreError> {
        Ok(match self.inner.instances.live(&staged.instance).await? {
            Some((_, revision)) => revision != staged.expected,
            None => false,
        })
    }

    /// Every instance, read fresh from the server (and noted in the cache).
    async fn scan_instances(&self) -> Result<Vec<Instance>, StoreError> {
        let bucket = &self.inner.instances;
        let mut instances = Vec::new();
        for entry in bucket.scan(">").await? {
            if !entry.live {
                continue;
            }
            let instance = decode_instance(&entry.key, &entry.value, entry.revision)?;
            self.inner.cache.note(&instance);
            instances.push(instance);
        }
        Ok(instances)
    }

    /// Unfinished instances matching `keep`: from the cache once it has caught up, else scanned.
    async fn unfinished(
        &self,
        keep: impl Fn(&Instance) -> bool,
    ) -> Result<Vec<Instance>, StoreError> {
        if let Some(selected) = self.inner.cache.select(&keep) {
            return Ok(selected);
        }
        Ok(self
            .scan_instances()
            .await?
            .into_iter()
            .filter(|i| !i.status.is_finished() && keep(i))
            .collect())
    }

    /// Extends one lease; `false` if `owner` no longer holds it.
    async fn renew_one(
        &self,
        owner: &str,
        id: &InstanceId,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(mut instance) = self.get(id).await? else {
                return Ok(false);
            };
            let mine = instance.status == InstanceStatus::Running
                && instance.lease.as_ref().is_some_and(|l| l.owner == owner);
            if !mine {
                return Ok(false);
            }
            instance.lease = Some(Lease {
                owner: owner.to_owned(),
                until,
            });
            let body = encode(id.as_str(), &instance)?;
            if let Some(revision) = self
                .inner
                .instances
                .update(id.as_str(), body, instance.version)
                .await?
            {
                instance.version = revision;
                self.inner.cache.note(&instance);
                return Ok(true);
            }
        }
        Err(conflicts(
            "renew the lease of",
            &self.inner.instances,
            id.as_str(),
        ))
    }

    /// A step record and its revision.
    async fn step_doc(&self, key: &str, name: &str) -> Result<Option<(StepDoc, u64)>, StoreError> {
        let Some((value, revision)) = self.inner.steps.live(key).await? else {
            return Ok(None);
        };
        let doc: StepDoc = decode(&format!("step {key}"), &value)?;
        if doc.name != name {
            return Err(corrupt(
                format!("step {key}"),
                format!(
                    "it holds step `{}`, not `{name}`: two long step names hash to one key; \
                     rename one of them",
                    doc.name
                ),
            ));
        }
        Ok(Some((doc, revision)))
    }

    /// Writes a step record with compare-and-set on `expected` (0: only if absent), keeping the
    /// first write's sequence. `None` if the record changed in between.
    async fn cas_step(
        &self,
        key: &str,
        mut doc: StepDoc,
        current: Option<&(StepDoc, u64)>,
    ) -> Result<Option<u64>, StoreError> {
        let expected = current.map_or(0, |(_, revision)| *revision);
        doc.seq = current.map(|(old, revision)| old.seq.unwrap_or(*revision));
        let body = encode(key, &doc)?;
        self.inner.steps.cas(key, body, expected).await
    }

    /// The instance's inbox, oldest first, with each event's revision.
    async fn inbox(&self, id: &InstanceId) -> Result<Vec<(EventDoc, u64)>, StoreError> {
        let bucket = &self.inner.events;
        let mut inbox = Vec::new();
        let mut next = 1u64;
        // Read ahead 1, 2, 4, … events at once: an empty inbox costs one round trip, a long one
        // few more than its length divided by 32.
        let mut ahead = 1u64;
        loop {
            let keys: Vec<String> = (next..next + ahead).map(|n| event_key(id, n)).collect();
            let entries = join_all(keys.iter().map(|k| bucket.entry(k))).await;
            for (key, entry) in keys.iter().zip(entries) {
                let Some(entry) = entry? else {
                    return Ok(inbox);
                };
                if is_live(&entry) {
                    inbox.push((
                        decode(&format!("event {key}"), &entry.value)?,
                        entry.revision,
                    ));
                }
            }
            next += ahead;
            ahead = (ahead * 2).min(32);
        }
    }

    /// The first free event number of the inbox: numbers are allocated without gaps, so an
    /// exponential then binary search finds it in a logarithmic number of reads.
    async fn first_free_event(&self, id: &InstanceId) -> Result<u64, StoreError> {
        let bucket = &self.inner.events;
        let exists = |n: u64| async move {
            Ok::<_, StoreError>(bucket.entry(&event_key(id, n)).await?.is_some())
        };
        let (mut taken, mut free) = (0u64, 1u64);
        while exists(free).await? {
            taken = free;
            free = free.saturating_mul(2);
        }
        while free - taken > 1 {
            let mid = taken + (free - taken) / 2;
            if exists(mid).await? {
                taken = mid;
            } else {
                free = mid;
            }
        }
        Ok(free)
    }

    /// Sets (or clears) the consumer of an event with compare-and-set; the new revision, or `None`
    /// if the event changed in between.
    async fn mark_event(
        &self,
        id: &InstanceId,
        doc: &EventDoc,
        revision: u64,
        consumed_by: Option<ConsumedBy>,
    ) -> Result<Option<u64>, StoreError> {
        let key = event_key(id, doc.seq);
        let marked = EventDoc {
            consumed_by,
            ..doc.clone()
        };
        let body = encode(&key, &marked)?;
        self.inner.events.update(&key, body, revision).await
    }

    /// Gives back an event this call marked for a wait that turned out decided otherwise (best
    /// effort: if it fails, that event stays consumed by a step that did not take it).
    async fn unmark(&self, id: &InstanceId, marked: Option<(EventDoc, u64)>) {
        let Some((doc, revision)) = marked else {
            return;
        };
        if let Err(e) = self.mark_event(id, &doc, revision, None).await {
            tracing::warn!(instance = %id, event = doc.seq, error = %e, "could not give back an event marked for a wait decided otherwise");
        }
    }
}

#[async_trait]
impl Store for NatsStore {
    fn describe(&self) -> String {
        self.inner.options.location()
    }

    async fn create(
        &self,
        instance: Instance,
        audit: Vec<AuditRecord>,
    ) -> Result<Created, StoreError> {
        let bucket = &self.inner.instances;
        let key = instance.id.as_str();
        let body = encode(key, &instance)?;
        bucket.check_size(key, body.len())?;
        let written = self.write_audit(&audit, Some((key, 0))).await?;
        // On an error the write may or may not have landed: the staged records are settled later.
        match bucket.create(key, body).await? {
            Some(revision) => {
                self.confirm_audit(&written).await;
                let mut created = instance;
                created.version = revision;
                self.inner.cache.note(&created);
                Ok(Created::New(created))
            }
            None => {
                self.discard_audit(&written).await;
                let existing = self
                    .get(&instance.id)
                    .await?
                    .ok_or_else(|| corrupt(key, "vanished during create"))?;
                Ok(Created::Existing(existing))
            }
        }
    }

    async fn get(&self, id: &InstanceId) -> Result<Option<Instance>, StoreError> {
        let Some((value, revision)) = self.inner.instances.live(id.as_str()).await? else {
            return Ok(None);
        };
        let instance = decode_instance(id.as_str(), &value, revision)?;
        self.inner.cache.note(&instance);
        Ok(Some(instance))
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>, StoreError> {
        let mut instances: Vec<Instance> = self
            .scan_instances()
            .await?
            .into_iter()
            .filter(|i| filter.workflow.as_ref().is_none_or(|w| *w == i.workflow))
            .filter(|i| filter.statuses.is_empty() || filter.statuses.contains(&i.status))
            .filter(|i| {
                filter
                    .created_after
                    .is_none_or(|after| i.created_at.timestamp_millis() >= after.timestamp_millis())
            })
            .collect();
        instances.sort_by(|a, b| {
            (b.created_at.timestamp_millis(), &b.id).cmp(&(a.created_at.timestamp_millis(), &a.id))
        });
        instances.truncate(if filter.limit == 0 { 100 } else { filter.limit });
        Ok(instances)
    }

    async fn update(
        &self,
        instance: Instance,
        audit: Vec<AuditRecord>,
    ) -> Result<Option<Instance>, StoreError> {
        // Versions come from the store, which never hands out 0 (a compare-and-set on 0 would
        // create the key).
        if instance.version == 0 {
            return Ok(None);
        }
        let bucket = &self.inner.instances;
        let key = instance.id.as_str();
        let body = encode(key, &instance)?;
        bucket.check_size(key, body.len())?;
        let written = self
            .write_audit(&audit, Some((key, instance.version)))
            .await?;
        // On an error the write may or may not have landed: the staged records are settled later.
        match bucket.update(key, body, instance.version).await? {
            Some(revision) => {
                self.confirm_audit(&written).await;
                let mut updated = instance;
                updated.version = revision;
                self.inner.cache.note(&updated);
                Ok(Some(updated))
            }
            None => {
                self.discard_audit(&written).await;
                Ok(None)
            }
        }
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Instance>, StoreError> {
        let mut due = self
            .unfinished(|i| match i.status {
                InstanceStatus::Queued => true,
                InstanceStatus::Waiting => i.wake_at.is_some_and(|w| w <= now),
                InstanceStatus::Running => i.lease.as_ref().is_none_or(|l| l.until <= now),
                _ => false,
            })
            .await?;
        due.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        due.truncate(limit);
        Ok(due)
    }

    async fn count_leased(&self, workflow: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self
            .unfinished(|i| {
                i.workflow == workflow
                    && i.status == InstanceStatus::Running
                    && i.lease.as_ref().is_some_and(|l| l.until > now)
            })
            .await?
            .len())
    }

    async fn renew(
        &self,
        owner: &str,
        ids: &[InstanceId],
        until: DateTime<Utc>,
    ) -> Result<Vec<InstanceId>, StoreError> {
        let results = join_all(ids.iter().map(|id| self.renew_one(owner, id, until))).await;
        let mut lost = Vec::new();
        for (id, held) in ids.iter().zip(results) {
            if !held? {
                lost.push(id.clone());
            }
        }
        Ok(lost)
    }

    async fn step(
        &self,
        id: &InstanceId,
        generation: u32,
        name: &str,
    ) -> Result<Option<StepRecord>, StoreError> {
        let key = step_key(id, generation, name);
        Ok(self
            .step_doc(&key, name)
            .await?
            .map(|(doc, _)| doc.into_record()))
    }

    async fn put_step(
        &self,
        id: &InstanceId,
        generation: u32,
        record: StepRecord,
        audit: Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        let key = step_key(id, generation, &record.name);
        let doc = StepDoc {
            name: record.name,
            seq: None,
            updated_at: truncate_ms(record.updated_at),
            state: record.state,
        };
        self.inner
            .steps
            .check_size(&key, encode(&key, &doc)?.len() + 32)?;
        // A step write does not lose to anyone (it retries until it lands), so its records are
        // ready at once. If it fails, they stay: the write may have landed, and a rerun of the
        // step reports it again (at least once).
        self.write_audit(&audit, None).await?;
        for _ in 0..CAS_ATTEMPTS {
            let current = self.step_doc(&key, &doc.name).await?;
            if self
                .cas_step(&key, doc.clone(), current.as_ref())
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        Err(conflicts("write", &self.inner.steps, &key))
    }

    async fn steps(&self, id: &InstanceId, generation: u32) -> Result<Vec<StepRecord>, StoreError> {
        let mut docs = Vec::new();
        for entry in self
            .inner
            .steps
            .scan(&format!("{id}.{generation}.*"))
            .await?
        {
            if entry.live {
                let doc: StepDoc = decode(&format!("step {}", entry.key), &entry.value)?;
                docs.push((doc.seq.unwrap_or(entry.revision), doc));
            }
        }
        docs.sort_by_key(|(seq, _)| *seq);
        Ok(docs.into_iter().map(|(_, doc)| doc.into_record()).collect())
    }

    async fn insert_event(
        &self,
        id: &InstanceId,
        event_type: &str,
        payload: Value,
        now: DateTime<Utc>,
    ) -> Result<WorkflowEvent, StoreError> {
        let bucket = &self.inner.events;
        let mut doc = EventDoc {
            seq: 0,
            event_type: event_type.to_owned(),
            payload,
            received_at: truncate_ms(now),
            consumed_by: None,
        };
        let mut n = self.first_free_event(id).await?;
        for _ in 0..CAS_ATTEMPTS {
            doc.seq = n;
            let key = event_key(id, n);
            let body = encode(&key, &doc)?;
            if bucket.create(&key, body).await?.is_some() {
                return Ok(doc.into_event());
            }
            // Another sender took that number first: the next one is free or soon will be.
            n += 1;
        }
        Err(conflicts("append an event to", bucket, id.as_str()))
    }

    async fn consume_event(
        &self,
        id: &InstanceId,
        generation: u32,
        step: &str,
        event_type: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<Consumed, StoreError> {
        let key = step_key(id, generation, step);
        let me = ConsumedBy {
            generation,
            step: step.to_owned(),
        };
        // The event this call marked, with its revision after marking.
        let mut marked: Option<(EventDoc, u64)> = None;
        for _ in 0..CAS_ATTEMPTS {
            let current = self.step_doc(&key, step).await?;
            match current.as_ref().map(|(doc, _)| &doc.state) {
                Some(StepState::Done { result, .. }) => {
                    let event: WorkflowEvent = serde_json::from_value(result.clone())
                        .map_err(|e| corrupt(format!("step {key}"), e))?;
                    if marked.as_ref().is_some_and(|(m, _)| m.seq != event.seq) {
                        self.unmark(id, marked.take()).await;
                    }
                    return Ok(Consumed::Event(event));
                }
                Some(StepState::TimedOut { .. }) => {
                    self.unmark(id, marked.take()).await;
                    return Ok(Consumed::TimedOut);
                }
                _ => {}
            }
            let inbox = self.inbox(id).await?;
            // An event already marked for this step (by this call, or by one that crashed before
            // recording it) is the step's; otherwise the oldest unconsumed one of the type.
            let taken = match inbox
                .iter()
                .find(|(e, _)| e.consumed_by.as_ref() == Some(&me))
            {
                Some((doc, _)) => Some(doc.clone()),
                None => {
                    let next = inbox
                        .iter()
                        .find(|(e, _)| e.consumed_by.is_none() && e.event_type == event_type);
                    match next {
                        Some((doc, revision)) => {
                            match self
                                .mark_event(id, doc, *revision, Some(me.clone()))
                                .await?
                            {
                                Some(after) => {
                                    let mut doc = doc.clone();
                                    doc.consumed_by = Some(me.clone());
                                    marked = Some((doc.clone(), after));
                                    Some(doc)
                                }
                                // Someone consumed it first: look again.
                                None => continue,
                            }
                        }
                        None => None,
                    }
                }
            };
            if let Some(doc) = taken {
                let event = doc.into_event();
                let record = StepDoc {
                    name: step.to_owned(),
                    seq: None,
                    updated_at: truncate_ms(now),
                    state: StepState::Done {
                        result: serde_json::to_value(&event).map_err(|e| corrupt("event", e))?,
                        attempts: 1,
                    },
                };
                if self
                    .cas_step(&key, record, current.as_ref())
                    .await?
                    .is_some()
                {
                    return Ok(Consumed::Event(event));
                }
                continue;
            }
            if now < deadline {
                return Ok(Consumed::Pending);
            }
            let record = StepDoc {
                name: step.to_owned(),
                seq: None,
                updated_at: truncate_ms(now),
                state: StepState::TimedOut {
                    event_type: event_type.to_owned(),
                },
            };
            if self
                .cas_step(&key, record, current.as_ref())
                .await?
                .is_some()
            {
                return Ok(Consumed::TimedOut);
            }
        }
        self.unmark(id, marked.take()).await;
        Err(conflicts("consume an event for", &self.inner.steps, &key))
    }

    async fn has_unconsumed(&self, id: &InstanceId, event_type: &str) -> Result<bool, StoreError> {
        Ok(self
            .inbox(id)
            .await?
            .iter()
            .any(|(e, _)| e.consumed_by.is_none() && e.event_type == event_type))
    }

    async fn events(&self, id: &InstanceId) -> Result<Vec<WorkflowEvent>, StoreError> {
        Ok(self
            .inbox(id)
            .await?
            .into_iter()
            .map(|(doc, _)| doc.into_event())
            .collect())
    }

    async fn get_value(&self, key: &str) -> Result<Option<StoredValue>, StoreError> {
        let Some((value, revision)) = self.inner.values.live(key).await? else {
            return Ok(None);
        };
        let doc: ValueDoc = decode(key, &value)?;
        Ok(Some(StoredValue {
            value: doc.value,
            revision,
            updated_at: doc.updated_at,
        }))
    }

    async fn put_value(
        &self,
        key: &str,
        value: Value,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredValue, Option<u64>>, StoreError> {
        let bucket = &self.inner.values;
        let doc = ValueDoc {
            value,
            updated_at: truncate_ms(now),
        };
        let body = encode(key, &doc)?;
        let written = match expected {
            None => Some(bucket.put(key, body).await?),
            Some(0) => bucket.create(key, body).await?,
            Some(revision) => bucket.update(key, body, revision).await?,
        };
        Ok(match written {
            Some(revision) => Ok(StoredValue {
                value: doc.value,
                revision,
                updated_at: doc.updated_at,
            }),
            None => Err(bucket.live(key).await?.map(|(_, revision)| revision)),
        })
    }

    async fn audit_pending(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let bucket = &self.inner.audit;
        let subject = format!("{}>", bucket.subject_prefix);
        let floor = lock(&self.inner.audit_outbox).floor.max(1);
        let mut sequence = floor;
        let mut first = None;
        let mut pending = Vec::new();
        let mut sequences = Vec::new();
        while pending.len() < limit {
            let message = match bucket
                .kv
                .stream
                .get_first_raw_message_by_subject(&subject, sequence)
                .await
            {
                Ok(message) => message,
                Err(e) if matches!(e.kind(), RawMessageErrorKind::NoMessageFound) => break,
                Err(e) => return Err(bucket.fail("read the audit outbox from", "", e)),
            };
            first.get_or_insert(message.sequence);
            sequence = message.sequence + 1;
            if !is_put(Some(&message.headers)) {
                continue;
            }
            let Some(event_id) = message.subject.strip_prefix(&bucket.subject_prefix) else {
                continue;
            };
            // Not our wrapper (written by hand?): delivered as is, the sink decides.
            let doc =
                serde_json::from_slice::<AuditDoc>(&message.payload).unwrap_or_else(|_| AuditDoc {
                    json: String::from_utf8_lossy(&message.payload).into_owned(),
                    staged: None,
                });
            if let Some(staged) = &doc.staged {
                // Its change is still in flight (or its writer died): wait, then settle it.
                if Utc::now() - staged.at < self.staged_grace() {
                    continue;
                }
                if !self.staged_landed(staged).await? {
                    bucket.remove_message(message.sequence).await?;
                    continue;
                }
            }
            sequences.push((event_id.to_owned(), message.sequence));
            pending.push(AuditRecord {
                event_id: event_id.to_owned(),
                json: doc.json,
            });
        }
        let mut outbox = lock(&self.inner.audit_outbox);
        if let Some(first) = first {
            outbox.floor = outbox.floor.max(first);
        }
        outbox.sequences.extend(sequences);
        Ok(pending)
    }

    async fn audit_delivered(&self, event_ids: &[String]) -> Result<(), StoreError> {
        let bucket = &self.inner.audit;
        for event_id in event_ids {
            let known = lock(&self.inner.audit_outbox).sequences.remove(event_id);
            let sequence = match known {
                Some(sequence) => sequence,
                None => match bucket.entry(event_id).await? {
                    Some(entry) => entry.revision,
                    None => continue,
                },
            };
            bucket.remove_message(sequence).await?;
        }
        Ok(())
    }
}

/// Asks the server whether JetStream answers, so a server without it is reported as such. (A raw
/// `$JS.API.INFO` request: the library's typed account query cannot parse 2.9's answer.)
async fn check_jetstream(js: &jetstream::Context) -> Result<(), String> {
    let off = |why: String| {
        format!(
            "the server answers but JetStream does not ({why}): start nats-server with -js (or \
             enable JetStream for this account)"
        )
    };
    let answer = js
        .client()
        .request("$JS.API.INFO", Bytes::new())
        .await
        .map_err(|e| off(e.to_string()))?;
    let info: Value = serde_json::from_slice(&answer.payload).map_err(|e| off(e.to_string()))?;
    match info.get("error") {
        Some(error) => Err(off(error.to_string())),
        None => Ok(()),
    }
}

/// Creates the bucket `<prefix>_<kind>` or brings it up to date with `options`.
async fn ensure_bucket(
    js: &jetstream::Context,
    options: &NatsStoreOptions,
    kind: &str,
) -> Result<Bucket, String> {
    let name = options.bucket(kind);
    let failed = |e: String| format!("cannot create or update the KV bucket {name}: {e}");
    let config = stream::Config {
        name: format!("KV_{name}"),
        description: Some(format!(
            "Strata's durable workflows (strata-workflow NatsStore): {}",
            kind.to_lowercase()
        )),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_messages: -1,
        max_bytes: -1,
        storage: match options.storage {
            NatsStorage::File => StorageType::File,
            NatsStorage::Memory => StorageType::Memory,
        },
        num_replicas: options.replicas,
        discard: DiscardPolicy::New,
        allow_rollup: true,
        // Delivered audit records are deleted as messages; everything else only through KV.
        deny_delete: kind != "AUDIT",
        // See the module documentation: replicas may answer direct gets with stale data.
        allow_direct: options.replicas == 1,
        duplicate_window: Duration::from_secs(120),
        ..stream::Config::default()
    };
    js.create_or_update_stream(config)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let kv = js
        .get_key_value(&name)
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(Bucket {
        subject_prefix: format!("$KV.{name}."),
        name,
        kv,
        js: js.clone(),
    })
}

/// One bucket, with errors that name the operation, the bucket and the key.
#[derive(Clone)]
struct Bucket {
    name: String,
    /// `$KV.<name>.`
    subject_prefix: String,
    kv: kv::Store,
    js: jetstream::Context,
}

/// The last value of a key, as a scan sees it.
struct Scanned {
    key: String,
    value: Bytes,
    revision: u64,
    /// False for a deleted or purged key.
    live: bool,
}

impl Bucket {
    fn fail(&self, op: &str, key: &str, e: impl fmt::Display) -> StoreError {
        if key.is_empty() {
            StoreError::Nats(format!("{op} bucket {}: {e}", self.name))
        } else {
            StoreError::Nats(format!("{op} key {key} of bucket {}: {e}", self.name))
        }
    }

    /// Refuses a record the server would refuse, saying which setting to raise.
    fn check_size(&self, key: &str, len: usize) -> Result<(), StoreError> {
        let max = self.js.client().server_info().max_payload;
        if max > 0 && len + key.len() + HEADER_ROOM > max {
            return Err(StoreError::TooLarge(format!(
                "cannot write key {key} of bucket {} on NATS: the record is {len} bytes and the NATS \
                 server accepts messages of at most {max} bytes (its max_payload); raise \
                 max_payload in the nats-server configuration (e.g. `max_payload: 8MB`): a step \
                 result alone may be up to 1 MiB",
                self.name
            )));
        }
        Ok(())
    }

    /// The key's last entry, deleted ones included.
    async fn entry(&self, key: &str) -> Result<Option<kv::Entry>, StoreError> {
        self.kv
            .entry(key)
            .await
            .map_err(|e| self.fail("read", key, e))
    }

    /// The key's value and revision, unless absent or deleted.
    async fn live(&self, key: &str) -> Result<Option<(Bytes, u64)>, StoreError> {
        Ok(self
            .entry(key)
            .await?
            .filter(is_live)
            .map(|e| (e.value, e.revision)))
    }

    /// Writes the key if absent (or deleted); `None` if it exists.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<Option<u64>, StoreError> {
        self.check_size(key, value.len())?;
        match self.kv.create(key, value.into()).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(self.fail("create", key, e)),
        }
    }

    /// Writes the key if its revision is still `revision`; `None` if it is not.
    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        revision: u64,
    ) -> Result<Option<u64>, StoreError> {
        self.check_size(key, value.len())?;
        match self.kv.update(key, value.into(), revision).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(self.fail("update", key, e)),
        }
    }

    /// [`Self::create`] for `expected = 0`, else [`Self::update`].
    async fn cas(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: u64,
    ) -> Result<Option<u64>, StoreError> {
        if expected == 0 {
            self.create(key, value).await
        } else {
            self.update(key, value, expected).await
        }
    }

    /// Writes the key unconditionally.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<u64, StoreError> {
        self.check_size(key, value.len())?;
        self.kv
            .put(key, value.into())
            .await
            .map_err(|e| self.fail("write", key, e))
    }

    /// Removes one message for good (no KV marker), without the secure erase the library's
    /// `delete_message` asks for. Already gone is fine.
    async fn remove_message(&self, sequence: u64) -> Result<(), StoreError> {
        let answer: Value = self
            .js
            .request(
                format!("STREAM.MSG.DELETE.{}", self.kv.stream_name),
                &serde_json::json!({ "seq": sequence, "no_erase": true }),
            )
            .await
            .map_err(|e| self.fail("delete a delivered record from", "", e))?;
        match answer.get("error") {
            Some(error)
                if error.get("err_code").and_then(Value::as_u64)
                    != Some(ErrorCode::NO_MESSAGE_FOUND.0) =>
            {
                Err(self.fail("delete a delivered record from", "", error))
            }
            _ => Ok(()),
        }
    }

    /// The last value of every key matching `filter` (a subject pattern after `$KV.<name>.`), in
    /// the order they were written: one ephemeral consumer, read to its end, then deleted.
    async fn scan(&self, filter: &str) -> Result<Vec<Scanned>, StoreError> {
        let failed = |e: &dyn fmt::Display| self.fail("scan", filter, e);
        let consumer: PullConsumer = self
            .kv
            .stream
            .create_consumer(pull::Config {
                description: Some("strata workflow store scan".to_owned()),
                deliver_policy: DeliverPolicy::LastPerSubject,
                ack_policy: AckPolicy::None,
                replay_policy: ReplayPolicy::Instant,
                filter_subject: format!("{}{filter}", self.subject_prefix),
                inactive_threshold: Duration::from_secs(60),
                memory_storage: true,
                ..pull::Config::default()
            })
            .await
            .map_err(|e| failed(&e))?;
        let mut left = consumer.cached_info().num_pending;
        let mut scanned = Vec::new();
        let result: Result<(), StoreError> = async {
            while left > 0 {
                let mut batch = consumer
                    .fetch()
                    .max_messages(usize::try_from(left.min(SCAN_BATCH)).unwrap_or(1))
                    .messages()
                    .await
                    .map_err(|e| failed(&e))?;
                let mut got = 0;
                while let Some(message) = batch.next().await {
                    let message = message.map_err(|e| failed(&e))?;
                    let info = message.info().map_err(|e| failed(&e))?;
                    left = info.pending;
                    got += 1;
                    let Some(key) = message.subject.strip_prefix(&self.subject_prefix) else {
                        continue;
                    };
                    scanned.push(Scanned {
                        key: key.to_owned(),
                        value: message.payload.clone(),
                        revision: info.stream_sequence,
                        live: is_put(message.headers.as_ref()),
                    });
                }
                // Nothing more to fetch even though some was pending: it was removed meanwhile.
                if got == 0 {
                    break;
                }
            }
            Ok(())
        }
        .await;
        let stream = self.kv.stream.clone();
        let name = consumer.cached_info().name.clone();
        tokio::spawn(async move {
            if let Err(e) = stream.delete_consumer(&name).await {
                tracing::debug!(consumer = %name, error = %e, "could not delete a scan consumer; the server drops it when idle");
            }
        });
        result.map(|()| scanned)
    }
}

fn is_live(entry: &kv::Entry) -> bool {
    entry.operation == kv::Operation::Put
}

/// False for KV delete and purge markers.
fn is_put(headers: Option<&HeaderMap>) -> bool {
    headers.is_none_or(|h| h.get(KV_OPERATION).is_none() && h.get("Nats-Marker-Reason").is_none())
}

fn conflicts(op: &str, bucket: &Bucket, key: &str) -> StoreError {
    bucket.fail(
        op,
        key,
        format!("{CAS_ATTEMPTS} compare-and-sets in a row lost to concurrent writers"),
    )
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| corrupt(key, e))
}

fn decode<T: DeserializeOwned>(what: &str, value: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| corrupt(what, e))
}

fn decode_instance(key: &str, value: &[u8], revision: u64) -> Result<Instance, StoreError> {
    let mut instance: Instance = decode(&format!("instance {key}"), value)?;
    instance.version = revision;
    if let Some(lease) = &mut instance.lease {
        lease.until = truncate_ms(lease.until);
    }
    Ok(instance)
}

/// Timestamps at millisecond precision, as the SQLite store keeps them.
fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// `<id>.<generation>.x<hex of the name>`, or `.h<hash>` for names too long to spell out in a key.
fn step_key(id: &InstanceId, generation: u32, name: &str) -> String {
    use std::fmt::Write;
    let mut key = format!("{id}.{generation}.");
    if name.len() <= SPELLED_NAME_BYTES {
        key.push('x');
        for b in name.bytes() {
            let _ = write!(key, "{b:02x}");
        }
    } else {
        let _ = write!(key, "h{:032x}", fnv1a_128(name.as_bytes()));
    }
    key
}

/// FNV-1a, 128 bits: stable across Rust versions and platforms (the key must be too). Not
/// collision resistant against an adversary, which step names are not; a collision is detected
/// on read (the record holds its name).
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

fn event_key(id: &InstanceId, n: u64) -> String {
    format!("{id}.{n}")
}

/// A step record as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepDoc {
    name: String,
    /// The revision of the record's first write (`None` in that first write itself, whose own
    /// revision it is).
    #[serde(default)]
    seq: Option<u64>,
    updated_at: DateTime<Utc>,
    #[serde(flatten)]
    state: StepState,
}

impl StepDoc {
    fn into_record(self) -> StepRecord {
        StepRecord {
            name: self.name,
            state: self.state,
            updated_at: self.updated_at,
        }
    }
}

/// Which wait consumed an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ConsumedBy {
    generation: u32,
    step: String,
}

/// An event as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventDoc {
    seq: u64,
    event_type: String,
    payload: Value,
    received_at: DateTime<Utc>,
    consumed_by: Option<ConsumedBy>,
}

impl EventDoc {
    fn into_event(self) -> WorkflowEvent {
        WorkflowEvent {
            seq: self.seq,
            event_type: self.event_type,
            payload: self.payload,
            received_at: self.received_at,
        }
    }
}

/// An audit record as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuditDoc {
    /// The event, as the engine encoded it.
    json: String,
    /// Set while the change it reports is in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staged: Option<Staged>,
}

/// The compare-and-set an audit record waits on.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Staged {
    /// The instance's key.
    instance: String,
    /// The revision the change expected (0: a create).
    expected: u64,
    /// When the record was written (by the writer's clock).
    at: DateTime<Utc>,
}

/// An audit record this process wrote, until its change's fate is known.
struct Written {
    event_id: String,
    revision: u64,
    json: String,
}

/// A named value as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValueDoc {
    value: Value,
    updated_at: DateTime<Utc>,
}

/// The unfinished instances as last seen, for `due` and `count_leased`.
struct Cache {
    state: Mutex<CacheState>,
    /// True while the watch has caught up with the bucket.
    ready: watch::Sender<bool>,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            state: Mutex::new(CacheState::default()),
            ready: watch::Sender::new(false),
        }
    }
}

#[derive(Default)]
struct CacheState {
    slots: HashMap<String, Slot>,
    /// The highest revision the watch has applied.
    watched: u64,
}

struct Slot {
    revision: u64,
    /// `None`: finished (or deleted) at `revision`, noted by this process ahead of the watch; kept
    /// until the watch gets there, so it does not bring back an older state meanwhile.
    instance: Option<Instance>,
}

impl Cache {
    /// Notes an instance this process read or wrote.
    fn note(&self, instance: &Instance) {
        let mut state = lock(&self.state);
        // The watch has applied this revision (or a later one of the key) already.
        if instance.version <= state.watched {
            return;
        }
        let id = instance.id.as_str();
        if state
            .slots
            .get(id)
            .is_some_and(|s| s.revision >= instance.version)
        {
            return;
        }
        let slot = Slot {
            revision: instance.version,
            instance: (!instance.status.is_finished()).then(|| instance.clone()),
        };
        state.slots.insert(id.to_owned(), slot);
    }

    /// Applies what the watch delivered: the key's entry at `revision` (`None`: deleted).
    fn apply(&self, id: &str, revision: u64, instance: Option<Instance>) {
        let mut state = lock(&self.state);
        state.watched = state.watched.max(revision);
        match state.slots.get(id) {
            Some(slot) if slot.revision > revision => return,
            Some(slot) if slot.revision == revision => {
                if slot.instance.is_none() {
                    state.slots.remove(id);
                }
                return;
            }
            _ => {}
        }
        match instance.filter(|i| !i.status.is_finished()) {
            Some(instance) => {
                state.slots.insert(
                    id.to_owned(),
                    Slot {
                        revision,
                        instance: Some(instance),
                    },
                );
            }
            None => {
                state.slots.remove(id);
            }
        }
    }

    /// The cached unfinished instances matching `keep`, or `None` while the cache is not ready.
    fn select(&self, keep: impl Fn(&Instance) -> bool) -> Option<Vec<Instance>> {
        if !*self.ready.borrow() {
            return None;
        }
        let state = lock(&self.state);
        Some(
            state
                .slots
                .values()
                .filter_map(|s| s.instance.as_ref())
                .filter(|i| keep(i))
                .cloned()
                .collect(),
        )
    }

    fn set_ready(&self, ready: bool) {
        self.ready
            .send_if_modified(|r| std::mem::replace(r, ready) != ready);
    }
}

/// Keeps the cache fed for the life of the store: follows the instances bucket, and after a
/// failure starts over (with history) after a pause, the cache marked not ready meanwhile.
async fn watch_instances(bucket: Bucket, cache: Arc<Cache>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let started = Instant::now();
        let outcome = follow(&bucket, &cache).await;
        cache.set_ready(false);
        match outcome {
            Ok(()) => {
                tracing::warn!(bucket = %bucket.name, "the watch of the instances ended; starting over")
            }
            Err(e) => {
                tracing::warn!(bucket = %bucket.name, error = %e, "the watch of the instances failed; starting over")
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            pause = Duration::from_millis(100);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// One watch: the last value of every instance, then every change, into the cache. The ordered
/// consumer recreates itself after a reconnection or a gap, from where it was.
async fn follow(bucket: &Bucket, cache: &Cache) -> Result<(), String> {
    let consumer = bucket
        .kv
        .stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: bucket.js.client().new_inbox(),
            description: Some("strata workflow store: instance cache".to_owned()),
            filter_subject: format!("{}>", bucket.subject_prefix),
            replay_policy: ReplayPolicy::Instant,
            deliver_policy: DeliverPolicy::LastPerSubject,
            ..push::OrderedConfig::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    if consumer.cached_info().num_pending == 0 {
        cache.set_ready(true);
    }
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| e.to_string())?;
        let info = message.info().map_err(|e| e.to_string())?;
        let (revision, pending) = (info.stream_sequence, info.pending);
        if let Some(id) = message.subject.strip_prefix(&bucket.subject_prefix) {
            let instance = if is_put(message.headers.as_ref()) {
                match decode_instance(id, &message.payload, revision) {
                    Ok(instance) => Some(instance),
                    Err(e) => {
                        tracing::error!(instance = id, error = %e, "an instance record does not parse; the scheduler ignores it");
                        None
                    }
                }
            } else {
                None
            };
            cache.apply(id, revision, instance);
        }
        if pending == 0 {
            cache.set_ready(true);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_keys_are_valid_kv_keys_and_distinct() {
        let id = InstanceId::parse("wfi_1").unwrap();
        assert_eq!(step_key(&id, 0, "fetch"), "wfi_1.0.x6665746368");
        assert_eq!(step_key(&id, 2, ""), "wfi_1.2.x");
        assert_eq!(step_key(&id, 0, "é.*>"), "wfi_1.0.xc3a92e2a3e");
        let long = "p".repeat(500);
        let key = step_key(&id, 0, &long);
        assert!(
            key.starts_with("wfi_1.0.h") && key.len() == "wfi_1.0.h".len() + 32,
            "{key}"
        );
        assert_ne!(key, step_key(&id, 0, &"p".repeat(501)));
        // The hash is pinned: keys written by one build must be found by the next.
        assert_eq!(fnv1a_128(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }

    #[test]
    fn the_cache_keeps_the_newest_unfinished_state() {
        let cache = Cache::default();
        let instance = |status, version| Instance {
            id: InstanceId::parse("i").unwrap(),
            workflow: "w".into(),
            status,
            params: Value::Null,
            output: None,
            error: None,
            generation: 0,
            trigger: "t".into(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            started_at: None,
            finished_at: None,
            wake_at: None,
            waiting_for: None,
            lease: None,
            version,
        };
        cache.set_ready(true);
        let statuses = |c: &Cache| {
            c.select(|_| true)
                .unwrap()
                .iter()
                .map(|i| (i.status, i.version))
                .collect::<Vec<_>>()
        };
        cache.apply("i", 5, Some(instance(InstanceStatus::Queued, 5)));
        // Written here ahead of the watch: finished at 9.
        cache.note(&instance(InstanceStatus::Complete, 9));
        assert_eq!(statuses(&cache), []);
        // The watch catches up through 7 (older) and 9 (the same): still nothing.
        cache.apply("i", 7, Some(instance(InstanceStatus::Running, 7)));
        assert_eq!(statuses(&cache), []);
        cache.apply("i", 9, Some(instance(InstanceStatus::Complete, 9)));
        assert!(lock(&cache.state).slots.is_empty());
        // Restarted elsewhere; a stale read noted afterwards changes nothing.
        cache.apply("i", 12, Some(instance(InstanceStatus::Queued, 12)));
        cache.note(&instance(InstanceStatus::Complete, 9));
        assert_eq!(statuses(&cache), [(InstanceStatus::Queued, 12)]);
        cache.set_ready(false);
        assert!(cache.select(|_| true).is_none());
    }
}
