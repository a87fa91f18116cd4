//! Shopify's cost-based rate limit, modelled on the client (and, in the stand-in, enforced).
//!
//! Every GraphQL request has a cost in points. The shop keeps a bucket per app (about 1,000
//! points on a standard plan, restoring 50 a second): a request whose *requested* cost is not
//! available is answered `THROTTLED`; otherwise its *actual* cost is taken. Every answer reports
//! the bucket in `extensions.cost.throttleStatus`, which [`CostBucket::observe`] takes as the
//! truth, so the client waits before sending instead of being throttled.
//!
//! Time is passed in ([`Instant`]s), so the arithmetic is tested without sleeping.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The bucket as Shopify reports it in `extensions.cost.throttleStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// The bucket's size in points.
    pub maximum_available: f64,
    /// Points available when the answer was made.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// `extensions.cost` of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    /// What the query could cost at most; this much must be available for it to run.
    #[serde(default)]
    pub requested_query_cost: Option<f64>,
    /// What it cost (`null` when it was throttled).
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    /// The bucket after the request.
    #[serde(default)]
    pub throttle_status: Option<ThrottleStatus>,
}

/// A leaky bucket of query-cost points: `available` points at `as_of`, restoring
/// `restore_rate` a second up to `maximum`.
#[derive(Clone, Debug, PartialEq)]
pub struct CostBucket {
    maximum: f64,
    restore_rate: f64,
    available: f64,
    as_of: Instant,
}

impl CostBucket {
    /// Shopify's standard plan: 1,000 points, 50 a second.
    pub const STANDARD_MAXIMUM: f64 = 1000.0;
    /// Points restored per second on a standard plan.
    pub const STANDARD_RESTORE_RATE: f64 = 50.0;

    /// A full bucket of `maximum` points restoring `restore_rate` a second.
    pub fn new(maximum: f64, restore_rate: f64, now: Instant) -> Self {
        let maximum = maximum.max(1.0);
        Self {
            maximum,
            restore_rate: restore_rate.max(0.001),
            available: maximum,
            as_of: now,
        }
    }

    /// The bucket's size.
    pub fn maximum(&self) -> f64 {
        self.maximum
    }

    /// Points restored per second.
    pub fn restore_rate(&self) -> f64 {
        self.restore_rate
    }

    /// Points available at `now` (restored since the last change, capped at the maximum).
    pub fn available_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.as_of).as_secs_f64();
        (self.available + elapsed * self.restore_rate).min(self.maximum)
    }

    /// How long to wait from `now` until `cost` points are available. A cost above the
    /// maximum waits for a full bucket (Shopify refuses such a query outright; waiting longer
    /// would not help).
    ///
    /// Requests queue: when points were taken for a request scheduled later than `now`
    /// ([`Self::take`] at a future instant), this one goes after it.
    pub fn delay_for(&self, cost: f64, now: Instant) -> Duration {
        let start = now.max(self.as_of);
        let queued = start - now;
        let missing = cost.min(self.maximum) - self.available_at(start);
        if missing <= 0.0 {
            queued
        } else {
            queued + Duration::from_secs_f64(missing / self.restore_rate)
        }
    }

    /// Takes `cost` points at `at` (which may be in the future: a request scheduled after its
    /// wait). The balance may go below zero, so that requests queued behind it wait longer.
    pub fn take(&mut self, cost: f64, at: Instant) {
        self.available = self.available_at(at) - cost;
        self.as_of = at;
    }

    /// Gives back points that were taken but not spent (the request failed before Shopify
    /// counted it).
    pub fn refund(&mut self, cost: f64, now: Instant) {
        let at = now.max(self.as_of);
        self.available = (self.available_at(at) + cost).min(self.maximum);
        self.as_of = at;
    }

    /// Replaces the model with what Shopify reported at `now`.
    pub fn observe(&mut self, status: &ThrottleStatus, now: Instant) {
        if status.maximum_available > 0.0 {
            self.maximum = status.maximum_available;
        }
        if status.restore_rate > 0.0 {
            self.restore_rate = status.restore_rate;
        }
        self.available = status.currently_available.min(self.maximum);
        self.as_of = now;
    }

    /// Asks for `cost` points at `now`: takes them and returns `Ok(())` if they are available,
    /// otherwise returns how long until they are and takes nothing. (The stand-in's server-side
    /// check, like Shopify's.)
    pub fn try_take(&mut self, cost: f64, now: Instant) -> Result<(), Duration> {
        let delay = self.delay_for(cost, now);
        if delay.is_zero() {
            self.take(cost, now);
            Ok(())
        } else {
            Err(delay)
        }
    }

    /// The status Shopify would report at `now`.
    pub fn status(&self, now: Instant) -> ThrottleStatus {
        ThrottleStatus {
            maximum_available: self.maximum,
            currently_available: self.available_at(now).max(0.0).floor(),
            restore_rate: self.restore_rate,
        }
    }

    /// Sets the points available at `now` (the stand-in's "drain the bucket").
    pub fn set_available(&mut self, points: f64, now: Instant) {
        self.available = points.min(self.maximum);
        self.as_of = now;
    }

    /// Changes the restore rate from `now` on.
    pub fn set_restore_rate(&mut self, rate: f64, now: Instant) {
        self.available = self.available_at(now);
        self.as_of = now;
        self.restore_rate = rate.max(0.001);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_bucket_lets_a_request_through_at_once() {
        let t0 = Instant::now();
        let bucket = CostBucket::new(1000.0, 50.0, t0);
        assert_eq!(bucket.delay_for(100.0, t0), Duration::ZERO);
        assert_eq!(bucket.available_at(t0), 1000.0);
    }

    #[test]
    fn waits_for_the_missing_points_at_the_restore_rate() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(1000.0, 50.0, t0);
        bucket.take(990.0, t0);
        // 10 left, 100 wanted: 90 missing at 50/s = 1.8 s.
        assert_eq!(bucket.delay_for(100.0, t0), ms(1800));
        // Half a second later 25 more are back: 65 missing = 1.3 s.
        assert_eq!(bucket.delay_for(100.0, t0 + ms(500)), ms(1300));
        assert_eq!(bucket.delay_for(100.0, t0 + ms(1800)), Duration::ZERO);
    }

    #[test]
    fn restores_no_more_than_the_maximum() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(1000.0, 50.0, t0);
        bucket.take(500.0, t0);
        assert_eq!(bucket.available_at(t0 + Duration::from_secs(60)), 1000.0);
    }

    #[test]
    fn queued_requests_wait_behind_each_other() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(100.0, 50.0, t0);
        bucket.take(100.0, t0);
        let first = bucket.delay_for(50.0, t0);
        assert_eq!(first, ms(1000));
        bucket.take(50.0, t0 + first);
        // The second 50 must wait for the first's to be restored and its own: 2 s from t0.
        assert_eq!(bucket.delay_for(50.0, t0), ms(2000));
    }

    #[test]
    fn observing_shopify_replaces_the_model() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(1000.0, 50.0, t0);
        bucket.observe(
            &ThrottleStatus {
                maximum_available: 2000.0,
                currently_available: 0.0,
                restore_rate: 100.0,
            },
            t0,
        );
        assert_eq!(bucket.maximum(), 2000.0);
        assert_eq!(bucket.delay_for(50.0, t0), ms(500));
    }

    #[test]
    fn a_cost_above_the_maximum_waits_for_a_full_bucket_only() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(100.0, 50.0, t0);
        bucket.take(100.0, t0);
        assert_eq!(bucket.delay_for(5000.0, t0), ms(2000));
    }

    #[test]
    fn try_take_refuses_without_taking() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(1000.0, 50.0, t0);
        bucket.set_available(5.0, t0);
        assert_eq!(bucket.try_take(10.0, t0), Err(ms(100)));
        assert_eq!(bucket.available_at(t0), 5.0);
        assert_eq!(bucket.try_take(10.0, t0 + ms(100)), Ok(()));
        assert_eq!(bucket.status(t0 + ms(100)).currently_available, 0.0);
    }

    #[test]
    fn refund_gives_points_back() {
        let t0 = Instant::now();
        let mut bucket = CostBucket::new(100.0, 50.0, t0);
        bucket.take(60.0, t0);
        bucket.refund(60.0, t0);
        assert_eq!(bucket.available_at(t0), 100.0);
    }
}
