//! Durable workflows: the orchestration layer that replaces pipeline-state tables in PostgreSQL.
//!
//! A workflow is ordinary async Rust that calls [`Context::step`], [`Context::sleep`] and
//! [`Context::wait_for_event`]. Each completed step's result is persisted in a [`Store`] that is not
//! the domain database ([`store::SqliteStore`] under the data directory, or [`store::NatsStore`]:
//! NATS JetStream key-value buckets that several processes share), so after a crash, a pause or a
//! long sleep the workflow simply runs again from the top and every completed step returns its
//! stored result instead of running twice. The semantics follow Cloudflare Workflows, which the
//! seed names:
//!
//! - step names are the cache key, so they must be deterministic;
//! - a failing step is retried with a delay and backoff ([`RetryPolicy`]; 5 retries, 10 s,
//!   exponential by default) under a timeout (10 minutes by default), unless its error is
//!   [`StepError::fatal`];
//! - sleeps and event waits are durable: their deadline is stored, so they survive restarts;
//! - every run, step completion, retry and failure is written, in the same store transaction as the
//!   state change, to an outbox that is drained into `SYNC_TELEMETRY` (and so `sync.telemetry`).
//!
//! The [`Engine`] claims runnable instances under a lease (one process runs an instance at a time;
//! a dead process's instances are taken over when its lease lapses), enforces per-workflow
//! concurrency limits and fires cron triggers exactly once per scheduled time.

mod clock;
mod config;
mod context;
mod cron;
mod engine;
mod error;
mod model;
pub mod store;
mod telemetry;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Backoff, EngineOptions, RetryPolicy, StepConfig, WorkflowOptions};
pub use context::{Attempt, Context};
pub use cron::CronSchedule;
pub use engine::{Engine, Workflow, WorkflowHandle};
pub use error::{EngineError, RunError, StepError, StoreError};
pub use model::{
    Consumed, CreateInstance, Instance, InstanceId, InstanceStatus, Lease, ListFilter, StepRecord,
    StepState, StoredValue, WorkflowEvent,
};
pub use store::Store;
pub use telemetry::{AuditSink, EventLogSink};

/// The largest serialized step result (or event payload) kept: 1 MiB, as in Cloudflare Workflows.
pub const MAX_STEP_RESULT_BYTES: usize = 1024 * 1024;
