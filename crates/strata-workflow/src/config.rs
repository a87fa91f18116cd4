//! How steps retry and time out, how many instances of a workflow run at once, and the engine's
//! own knobs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cron::CronSchedule;

/// How the delay between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    /// Every retry waits `delay`.
    Constant,
    /// Retry n waits `n × delay`.
    Linear,
    /// Retry n waits `2^(n-1) × delay`.
    #[default]
    Exponential,
}

/// Retries of a failing step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `limit + 1` attempts).
    pub limit: u32,
    /// The base delay before a retry.
    pub delay: Duration,
    /// How the delay grows.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// Cloudflare Workflows' defaults: 5 retries, 10 s, exponential.
    fn default() -> Self {
        Self {
            limit: 5,
            delay: Duration::from_secs(10),
            backoff: Backoff::Exponential,
        }
    }
}

impl RetryPolicy {
    /// No retries: the first failure fails the step.
    pub fn none() -> Self {
        Self {
            limit: 0,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay_before(&self, retry: u32) -> Duration {
        let retry = retry.max(1);
        match self.backoff {
            Backoff::Constant => self.delay,
            Backoff::Linear => self.delay.saturating_mul(retry),
            Backoff::Exponential => {
                let factor = 1u32.checked_shl(retry - 1).unwrap_or(u32::MAX);
                self.delay.saturating_mul(factor)
            }
        }
    }
}

/// The configuration of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepConfig {
    /// Retries when the step fails with a retryable error.
    pub retries: RetryPolicy,
    /// How long one attempt may run before it counts as failed (and is retried).
    pub timeout: Duration,
}

impl Default for StepConfig {
    /// 5 exponential retries from 10 s; 10 minutes per attempt.
    fn default() -> Self {
        Self {
            retries: RetryPolicy::default(),
            timeout: Duration::from_secs(600),
        }
    }
}

impl StepConfig {
    /// The defaults with another retry policy.
    pub fn with_retries(mut self, retries: RetryPolicy) -> Self {
        self.retries = retries;
        self
    }

    /// The defaults with another per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// How the engine runs one workflow.
#[derive(Debug, Clone, Default)]
pub struct WorkflowOptions {
    /// Instances of this workflow running at once, across every process sharing the store.
    /// `None`: no limit beyond the engine's own.
    pub concurrency: Option<u32>,
    /// Creates an instance at each scheduled time (exactly once per time, across processes).
    pub cron: Option<CronSchedule>,
}

/// The engine's own knobs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Who this process is in leases (unique per process).
    pub owner: String,
    /// How long a lease lasts without renewal; a dead process's instances are taken over after
    /// this. Renewed every third of it.
    pub lease_ttl: Duration,
    /// How often the scheduler looks for due instances when nothing wakes it sooner.
    pub poll_interval: Duration,
    /// Instances this process runs at once, over all workflows.
    pub max_running: usize,
    /// Sleeps and retry delays up to this long are waited in process; longer ones suspend the
    /// instance (freeing its slot) until they are due.
    pub inline_wait: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            owner: format!("{}-{}", std::process::id(), ulid::Ulid::new()),
            lease_ttl: Duration::from_secs(3),
            poll_interval: Duration::from_millis(250),
            max_running: 64,
            inline_wait: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_delays() {
        let p = |backoff| RetryPolicy {
            limit: 5,
            delay: Duration::from_secs(2),
            backoff,
        };
        let secs = |p: RetryPolicy| {
            (1..=4)
                .map(|n| p.delay_before(n).as_secs())
                .collect::<Vec<_>>()
        };
        assert_eq!(secs(p(Backoff::Constant)), [2, 2, 2, 2]);
        assert_eq!(secs(p(Backoff::Linear)), [2, 4, 6, 8]);
        assert_eq!(secs(p(Backoff::Exponential)), [2, 4, 8, 16]);
        assert_eq!(
            p(Backoff::Exponential).delay_before(200),
            Duration::from_secs(2).saturating_mul(u32::MAX)
        );
    }
}
