//! Durable stores of workflow state: instances, step records, event inboxes, named values, and the
//! audit outbox. Not the domain database, by design: the seed moves pipeline state out of
//! PostgreSQL.
//!
//! - [`SqliteStore`]: embedded, one file under the data directory; the default.
//! - [`NatsStore`]: NATS JetStream key-value buckets, for several processes sharing work.

mod nats;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use nats::{NatsStorage, NatsStore, NatsStoreOptions};
pub use sqlite::{Role, SqliteStore};

use crate::{
    error::StoreError,
    model::{Consumed, Instance, InstanceId, ListFilter, StepRecord, StoredValue, WorkflowEvent},
};

/// One telemetry event waiting in the outbox: written in the same store operation as the state
/// change it reports, delivered to `SYNC_TELEMETRY` afterwards (idempotently, by its event id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The event's id (`evt_` + ULID), the outbox key.
    pub event_id: String,
    /// The event as its JSON wire form.
    pub json: String,
}

/// The result of creating an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// A new instance.
    New(Instance),
    /// An instance with that id already existed; it is returned unchanged.
    Existing(Instance),
}

/// Durable workflow state. Every method is atomic on its own.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Where the store is, for logs and errors.
    fn describe(&self) -> String;

    /// True if this process is the only one executing instances from this store (the embedded
    /// store holds a lock file), so leases held by any other owner belong to dead processes.
    fn exclusive(&self) -> bool {
        false
    }

    /// Inserts `instance` unless its id exists.
    async fn create(
        &self,
        instance: Instance,
        audit: Vec<AuditRecord>,
    ) -> Result<Created, StoreError>;

    /// The instance, if it exists.
    async fn get(&self, id: &InstanceId) -> Result<Option<Instance>, StoreError>;

    /// Instances matching `filter`, newest first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>, StoreError>;

    /// Replaces the instance if its stored version is still `instance.version`; returns it with the
    /// new version, or `None` if someone else changed it first.
    async fn update(
        &self,
        instance: Instance,
        audit: Vec<AuditRecord>,
    ) -> Result<Option<Instance>, StoreError>;

    /// Instances a process may claim at `now`: queued ones, waiting ones that are due, and running
    /// ones whose lease has lapsed; oldest first.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Instance>, StoreError>;

    /// Running instances of `workflow` whose lease is valid at `now`.
    async fn count_leased(&self, workflow: &str, now: DateTime<Utc>) -> Result<usize, StoreError>;

    /// Extends `owner`'s leases on `ids` to `until`; returns the ids it no longer holds (paused,
    /// terminated, or taken over), which the caller must stop running.
    async fn renew(
        &self,
        owner: &str,
        ids: &[InstanceId],
        until: DateTime<Utc>,
    ) -> Result<Vec<InstanceId>, StoreError>;

    /// A step record of a generation.
    async fn step(
        &self,
        id: &InstanceId,
        generation: u32,
        name: &str,
    ) -> Result<Option<StepRecord>, StoreError>;

    /// Writes a step record (durably, with its audit events).
    async fn put_step(
        &self,
        id: &InstanceId,
        generation: u32,
        record: StepRecord,
        audit: Vec<AuditRecord>,
    ) -> Result<(), StoreError>;

    /// Every step record of a generation, in the order they were first written.
    async fn steps(&self, id: &InstanceId, generation: u32) -> Result<Vec<StepRecord>, StoreError>;

    /// Appends an event to the instance's inbox.
    async fn insert_event(
        &self,
        id: &InstanceId,
        event_type: &str,
        payload: Value,
        now: DateTime<Utc>,
    ) -> Result<WorkflowEvent, StoreError>;

    /// For the waiting step `step`: returns the event it already consumed, or atomically consumes
    /// the oldest unconsumed event of `event_type` and records it as the step's result, or (at or
    /// after `deadline`) records the wait as timed out, so no later event is consumed by it.
    #[allow(clippy::too_many_arguments)]
    async fn consume_event(
        &self,
        id: &InstanceId,
        generation: u32,
        step: &str,
        event_type: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<Consumed, StoreError>;

    /// True if an event of `event_type` waits unconsumed in the inbox.
    async fn has_unconsumed(&self, id: &InstanceId, event_type: &str) -> Result<bool, StoreError>;

    /// The instance's inbox (consumed or not), oldest first.
    async fn events(&self, id: &InstanceId) -> Result<Vec<WorkflowEvent>, StoreError>;

    /// A named value.
    async fn get_value(&self, key: &str) -> Result<Option<StoredValue>, StoreError>;

    /// Writes a named value. With `expected = Some(r)`, only if its revision is `r` (`Some(0)`:
    /// only if absent); `Err(found)` reports the revision found instead.
    async fn put_value(
        &self,
        key: &str,
        value: Value,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredValue, Option<u64>>, StoreError>;

    /// Up to `limit` undelivered audit records, oldest first.
    async fn audit_pending(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;

    /// Removes delivered audit records.
    async fn audit_delivered(&self, event_ids: &[String]) -> Result<(), StoreError>;
}

fn corrupt(key: impl Into<String>, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        reason: error.to_string(),
    }
}
