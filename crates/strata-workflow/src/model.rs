//! What the store keeps: instances, step records, events, named values.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EngineError;

/// The id of a workflow instance: 1 to 100 characters of `[A-Za-z0-9_-]`, chosen by the caller
/// (an idempotency id) or minted as `wfi_` + ULID. Safe as a NATS key token and in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceId(String);

impl InstanceId {
    /// Checks a caller-chosen id.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let ok = (1..=100).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(EngineError::InvalidInstanceId(
                text.chars().take(120).collect(),
            ))
        }
    }

    /// A fresh id.
    pub fn mint() -> Self {
        Self(format!("wfi_{}", ulid::Ulid::new()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstanceId {
    type Error = EngineError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<InstanceId> for String {
    fn from(value: InstanceId) -> Self {
        value.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Created (or resumed, or restarted) and waiting for a free slot.
    Queued,
    /// Held by a process under a lease.
    Running,
    /// Suspended in a sleep, a retry delay or an event wait until `wake_at` (or an event).
    Waiting,
    /// Stopped by a user; `resume` queues it again.
    Paused,
    /// Finished with an output.
    Complete,
    /// Failed for good: a step ran out of retries or failed fatally.
    Errored,
    /// Stopped by a user for good.
    Terminated,
}

impl InstanceStatus {
    /// Every status's name, for `--help` and errors.
    pub const NAMES: &'static [&'static str] = &[
        "queued",
        "running",
        "waiting",
        "paused",
        "complete",
        "errored",
        "terminated",
    ];

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Paused => "paused",
            Self::Complete => "complete",
            Self::Errored => "errored",
            Self::Terminated => "terminated",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        Self::NAMES
            .iter()
            .position(|n| *n == text)
            .map(|i| ALL_STATUSES[i])
            .ok_or_else(|| EngineError::InvalidStatus(text.to_owned()))
    }

    /// True once nothing more will happen to the instance (unless it is restarted).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Complete | Self::Errored | Self::Terminated)
    }
}

const ALL_STATUSES: [InstanceStatus; 7] = [
    InstanceStatus::Queued,
    InstanceStatus::Running,
    InstanceStatus::Waiting,
    InstanceStatus::Paused,
    InstanceStatus::Complete,
    InstanceStatus::Errored,
    InstanceStatus::Terminated,
];

impl fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A process's claim on a running instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The process ([`crate::EngineOptions::owner`]).
    pub owner: String,
    /// Valid until then unless renewed.
    pub until: DateTime<Utc>,
}

/// One workflow instance: a run of a workflow with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// The instance.
    pub id: InstanceId,
    /// The workflow's registered name.
    pub workflow: String,
    /// Where it is.
    pub status: InstanceStatus,
    /// The parameters it was created with.
    pub params: Value,
    /// The workflow's output once complete.
    pub output: Option<Value>,
    /// Why it errored.
    pub error: Option<String>,
    /// Incremented by each restart; step records of older generations are ignored.
    pub generation: u32,
    /// How it was created: `manual`, `api`, `cron`, …
    pub trigger: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// When the current generation first started running.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// When a waiting instance is due again.
    pub wake_at: Option<DateTime<Utc>>,
    /// The event type a waiting instance waits for, if any.
    pub waiting_for: Option<String>,
    /// The process running it, while running.
    pub lease: Option<Lease>,
    /// Optimistic-concurrency version, managed by the store (bumped by every update).
    pub version: u64,
}

impl Instance {
    /// True if a process holds a lease on it that has not lapsed at `now`.
    pub fn leased_at(&self, now: DateTime<Utc>) -> bool {
        self.lease.as_ref().is_some_and(|l| l.until > now)
    }
}

/// A request to create an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateInstance {
    /// The workflow.
    pub workflow: String,
    /// Its id; creating an id that exists returns the existing instance (idempotency).
    pub id: Option<InstanceId>,
    /// Its parameters.
    pub params: Value,
    /// How it was created.
    pub trigger: String,
}

/// What is known of one step of a generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    /// Finished; replays return `result`.
    Done {
        /// The step's result as JSON.
        result: Value,
        /// Attempts it took.
        attempts: u32,
    },
    /// Attempt `attempt` failed; the next one is due at `next_at`.
    Retrying {
        /// The attempt that failed (from 1).
        attempt: u32,
        /// When the next attempt may start.
        next_at: DateTime<Utc>,
        /// Why it failed.
        error: String,
    },
    /// Failed for good.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// Why.
        error: String,
    },
    /// A durable sleep until `until`.
    Sleeping {
        /// When it ends.
        until: DateTime<Utc>,
    },
    /// An event wait, open until `deadline`.
    Waiting {
        /// The event type awaited.
        event_type: String,
        /// When the wait times out.
        deadline: DateTime<Utc>,
    },
    /// An event wait that timed out: a later event of its type is left for other waiters.
    TimedOut {
        /// The event type that was awaited.
        event_type: String,
    },
}

/// A step record as listed by `workflow show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's name.
    pub name: String,
    /// What is known of it.
    #[serde(flatten)]
    pub state: StepState,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// An event sent to an instance (`POST /v1/workflows/{instance}/events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowEvent {
    /// Its position in the instance's inbox (increasing).
    pub seq: u64,
    /// Its type, matched by `wait_for_event`.
    pub event_type: String,
    /// Its payload.
    pub payload: Value,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// A named durable value (a watermark, a cursor) and its revision for compare-and-set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredValue {
    /// The value.
    pub value: Value,
    /// Bumped by every write.
    pub revision: u64,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// Which instances to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only these statuses (any, when empty).
    pub statuses: Vec<InstanceStatus>,
    /// Only instances created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: usize,
}

/// The outcome of consuming an event for a waiting step.
#[derive(Debug, Clone, PartialEq)]
pub enum Consumed {
    /// The event, now recorded as the step's result.
    Event(WorkflowEvent),
    /// Nothing yet and the wait is still open.
    Pending,
    /// The wait timed out (now or before) and is recorded so.
    TimedOut,
}
