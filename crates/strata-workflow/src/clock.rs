//! Time as the engine sees it: wall-clock timestamps (they are persisted) and waiting for one.
//!
//! Everything time-dependent in the engine (retry delays, sleeps, event timeouts, leases, cron)
//! goes through a [`Clock`], so tests drive it with a [`ManualClock`] and assert exact timings
//! without sleeping.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// A source of the current time that can also wait for a point in time.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Returns once [`Clock::now`] has reached `until` (at once if it already has).
    async fn sleep_until(&self, until: DateTime<Utc>);
}

/// The system clock, with tokio's timer for waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, until: DateTime<Utc>) {
        loop {
            let left = until - Utc::now();
            let Ok(left) = left.to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }
}

/// A clock that only moves when told to: for tests of retries, backoff, sleeps and timeouts.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves the clock forward by `by`, waking every waiter whose time has come.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }

    /// Sets the clock to `to` (never backwards).
    pub fn set(&self, to: DateTime<Utc>) {
        self.now.send_modify(|now| *now = (*now).max(to));
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    async fn sleep_until(&self, until: DateTime<Utc>) {
        let mut rx = self.now.subscribe();
        // The sender lives as long as `self`, so `wait_for` only fails if the clock is dropped
        // mid-wait, in which case there is nothing left to wait for.
        let _ = rx.wait_for(|now| *now >= until).await;
    }
}
