//! How a pipeline batches, buffers, retries and stops.
//!
//! Defaults favour freshness (an event is in the lake about `roll_interval` after it reaches the
//! log, far inside the 10 s target) while keeping commits large under load (a batch rolls as soon
//! as it holds `max_events` or `max_bytes`, whichever comes first).

use std::time::Duration;

use strata_events::check_consumer_name;
use strata_lake::DEFAULT_LANE;

use crate::error::{PipelineError, Result};

/// When a batch is sealed and committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLimits {
    /// Seal once the batch holds this many events.
    pub max_events: usize,
    /// Seal once the batch's events take this many bytes of JSON.
    pub max_bytes: usize,
    /// Seal a non-empty batch this long after its first event was read, however small.
    pub roll_interval: Duration,
}

impl Default for BatchLimits {
    /// 50,000 events, 16 MiB, 2 s. (16 MiB of ~1 KB events is about 17,000 events and a 4 MB
    /// Parquet file; larger batches measured no faster here and cost memory.)
    fn default() -> Self {
        Self {
            max_events: 50_000,
            max_bytes: 16 * 1024 * 1024,
            roll_interval: Duration::from_secs(2),
        }
    }
}

/// How much the pipeline holds in memory (the open batch plus the one being committed). At the
/// bound it stops reading: the log is durable, so waiting there loses nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferLimits {
    /// Events held at most.
    pub max_events: usize,
    /// Bytes of event JSON held at most.
    pub max_bytes: usize,
}

impl Default for BufferLimits {
    /// 150,000 events, 64 MiB of JSON. Events take about twice their JSON size in memory once
    /// decoded, and the batch being written adds its Arrow and Parquet buffers: a pipeline at
    /// this bound peaked at about 510 MB RSS.
    fn default() -> Self {
        Self {
            max_events: 150_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Backoff between attempts after a transient failure of the lake or the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait (waits double up to it).
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// 100 ms doubling up to 5 s.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (`attempt` ≥ 1), with ±25 % jitter so pipelines
    /// retrying against one catalog spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = f64::from(nanos % 1000) / 1000.0 * 0.5 - 0.25;
        base.mul_f64(1.0 + jitter)
    }
}

/// Settings of one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// The durable consumer name in the event log; its offset is acknowledged only after the
    /// Iceberg commit holding the events. The read position is kept under
    /// `<consumer>.cursor` (see [`crate::source`]).
    pub consumer: String,
    /// The lane of the lake's exactly-once bookkeeping: the embedded log is one lane per stream.
    pub lane: String,
    /// When batches are sealed.
    pub batch: BatchLimits,
    /// How much is held in memory.
    pub buffer: BufferLimits,
    /// Events asked of the log per read.
    pub read_chunk: usize,
    /// How long to wait before reading again once the log is caught up.
    pub poll_interval: Duration,
    /// Backoff after transient failures.
    pub retry: RetryPolicy,
    /// How long a graceful shutdown may take to flush before giving up (what is not flushed stays
    /// unacknowledged in the log, so nothing is lost).
    pub shutdown_timeout: Duration,
}

/// The default consumer name of the lake pipelines.
pub const DEFAULT_CONSUMER: &str = "lake";

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            consumer: DEFAULT_CONSUMER.to_owned(),
            lane: DEFAULT_LANE.to_owned(),
            batch: BatchLimits::default(),
            buffer: BufferLimits::default(),
            read_chunk: 10_000,
            poll_interval: Duration::from_millis(100),
            retry: RetryPolicy::default(),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl PipelineConfig {
    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(PipelineError::Config(m));
        check_consumer_name(&self.consumer)?;
        check_consumer_name(&crate::source::cursor_name(&self.consumer))?;
        strata_lake::offsets::check_lane(&self.lane)?;
        if self.batch.max_events == 0 || self.batch.max_bytes == 0 {
            return fail("batch limits must be above zero".to_owned());
        }
        if self.batch.roll_interval.is_zero() {
            return fail("the roll interval must be above zero".to_owned());
        }
        if self.buffer.max_events < self.batch.max_events
            || self.buffer.max_bytes < self.batch.max_bytes
        {
            return fail(format!(
                "the buffer ({} events, {} bytes) must hold at least one batch ({} events, {} bytes)",
                self.buffer.max_events,
                self.buffer.max_bytes,
                self.batch.max_events,
                self.batch.max_bytes
            ));
        }
        if self.read_chunk == 0 {
            return fail("read_chunk must be above zero".to_owned());
        }
        if self.retry.initial.is_zero() || self.retry.max < self.retry.initial {
            return fail("retry: initial must be above zero and at most max".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_settings_are_named() {
        PipelineConfig::default().validate().expect("defaults work");
        let mut c = PipelineConfig::default();
        c.buffer.max_events = c.batch.max_events - 1;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("at least one batch")
        );
        let c = PipelineConfig {
            consumer: "has space".to_owned(),
            ..PipelineConfig::default()
        };
        assert!(c.validate().is_err());
        let c = PipelineConfig {
            consumer: "x".repeat(125),
            ..PipelineConfig::default()
        };
        assert!(c.validate().is_err(), "the cursor name would be too long");
        let c = PipelineConfig {
            lane: "a:b".to_owned(),
            ..PipelineConfig::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let r = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for (attempt, base) in [(1, 100), (2, 200), (3, 400), (6, 2_000), (40, 2_000)] {
            let wait = r.backoff(attempt).as_millis() as u64;
            assert!(
                (base * 3 / 4..=base * 5 / 4).contains(&wait),
                "attempt {attempt}: {wait} ms"
            );
        }
    }
}
