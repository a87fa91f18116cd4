//! Errors: what a step reports, what a run propagates, what the engine's API answers, and what the
//! store can fail with.

use chrono::{DateTime, Utc};

use crate::model::{InstanceId, InstanceStatus};

/// The failure of one attempt of a step, as the step's code reports it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    message: String,
    fatal: bool,
}

impl StepError {
    /// A failure worth retrying (a timeout, a 5xx, a lost connection).
    pub fn retryable(error: impl std::fmt::Display) -> Self {
        Self {
            message: error.to_string(),
            fatal: false,
        }
    }

    /// A failure no retry can fix (bad input, a permanent refusal): the run fails at once.
    pub fn fatal(error: impl std::fmt::Display) -> Self {
        Self {
            message: error.to_string(),
            fatal: true,
        }
    }

    /// True if the run must fail without retrying.
    pub fn is_fatal(&self) -> bool {
        self.fatal
    }
}

/// Why a workflow's run did not return its output; propagate it with `?`.
///
/// [`RunError::Suspended`] and [`RunError::Interrupted`] are not failures: they tell the engine to
/// park the instance until it is due again, so workflow code must pass them through (which `?`
/// does).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The instance waits (a sleep, a retry delay, an event) until `wake_at`.
    #[error("suspended until {wake_at}")]
    Suspended {
        /// When it is due again.
        wake_at: DateTime<Utc>,
        /// The event type that wakes it sooner.
        waiting_for: Option<String>,
    },
    /// The engine is stopping the run (pause, terminate, lost lease, shutdown).
    #[error("interrupted")]
    Interrupted,
    /// A step failed for good.
    #[error("step `{step}` failed after {attempts} attempt(s): {error}")]
    StepFailed {
        /// The step.
        step: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: String,
    },
    /// `wait_for_event` timed out.
    #[error("no `{event_type}` event arrived for step `{step}` before its timeout")]
    WaitTimedOut {
        /// The waiting step.
        step: String,
        /// The awaited type.
        event_type: String,
    },
    /// The workflow itself gave up (bad parameters, an invariant).
    #[error("{0}")]
    Failed(String),
    /// The durable store failed; the run is retried from its last persisted step.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RunError {
    /// True for the engine's control-flow signals, which are not failures.
    pub fn is_interrupt(&self) -> bool {
        matches!(self, Self::Suspended { .. } | Self::Interrupted)
    }

    /// A failure of the workflow's own logic.
    pub fn failed(error: impl std::fmt::Display) -> Self {
        Self::Failed(error.to_string())
    }
}

/// Errors of the engine's API (create, control, events, values).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No workflow is registered under the name.
    #[error("unknown workflow `{name}`; registered workflows: {known}")]
    UnknownWorkflow {
        /// The name asked for.
        name: String,
        /// The registered names.
        known: String,
    },
    /// No such instance.
    #[error("no workflow instance `{0}`")]
    NotFound(InstanceId),
    /// The instance is in a status that does not allow the operation.
    #[error("cannot {action} instance `{id}`: it is {status}{hint}")]
    InvalidTransition {
        /// The instance.
        id: InstanceId,
        /// What was asked.
        action: &'static str,
        /// Its status.
        status: InstanceStatus,
        /// What would work instead.
        hint: &'static str,
    },
    /// An instance id with characters a key cannot hold.
    #[error("invalid instance id `{0}`: use 1 to 100 characters of letters, digits, `_` and `-`")]
    InvalidInstanceId(String),
    /// A value key with characters a key cannot hold.
    #[error(
        "invalid value key `{0}`: use 1 to 200 characters of letters, digits, `-`, `_`, `/`, `=` and `.`, not starting or ending with `.` or `/`"
    )]
    InvalidValueKey(String),
    /// A status name that does not exist.
    #[error(
        "unknown status `{0}`; statuses are queued, running, waiting, paused, complete, errored, terminated"
    )]
    InvalidStatus(String),
    /// A cron expression that does not parse.
    #[error("invalid cron expression `{expression}`: {reason}")]
    InvalidCron {
        /// The expression.
        expression: String,
        /// What is wrong.
        reason: String,
    },
    /// An event type that is empty or too long.
    #[error(
        "invalid event type `{0}`: use 1 to 100 characters of letters, digits, `_`, `-`, `.` and `/`"
    )]
    InvalidEventType(String),
    /// An event payload over the limit.
    #[error("event payload is {size} bytes; the limit is {limit}")]
    PayloadTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A compare-and-set on a named value lost.
    #[error("value `{key}` changed concurrently (expected revision {expected:?}, found {found:?})")]
    ValueConflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: Option<u64>,
        /// The revision found.
        found: Option<u64>,
    },
    /// The audit trail could not be delivered (it stays in the outbox).
    #[error("cannot deliver the audit trail to sync telemetry: {0}")]
    AuditSink(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Failures of a durable store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be opened.
    #[error("cannot open the workflow store at {location}: {reason}")]
    Open {
        /// Where.
        location: String,
        /// Why.
        reason: String,
    },
    /// Another process already executes workflows from this store.
    #[error(
        "another Strata process (a `strata serve`?) is already running workflows from {location}; \
         let it run them (the `strata workflow` commands create and control instances beside it) or stop it first"
    )]
    Locked {
        /// The store.
        location: String,
    },
    /// SQLite failed.
    #[error("workflow store (SQLite): {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// NATS failed.
    #[error("workflow store (NATS): {0}")]
    Nats(String),
    /// A record larger than the store accepts: writing it again cannot succeed.
    #[error("workflow store: {0}")]
    TooLarge(String),
    /// A stored record could not be read back.
    #[error("corrupt workflow store record {key}: {reason}")]
    Corrupt {
        /// The record.
        key: String,
        /// Why.
        reason: String,
    },
    /// The store's writer is gone (the process is shutting down).
    #[error("the workflow store is closed")]
    Closed,
}

impl StoreError {
    /// Whether retrying the same operation cannot help (a record too large, a corrupt one), so
    /// a run that meets it fails instead of retrying forever.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::TooLarge(_) | Self::Corrupt { .. })
    }
}
