//! The sync's watermark: the latest Shopify `updatedAt` already ingested, a named durable value
//! in the workflow store (not PostgreSQL) under [`WATERMARK_KEY`].
//!
//! Stored as `{"updated_at": "<RFC 3339>", "instance": "<the run that wrote it>"}`. Read at the
//! start of a run (steps `read-watermark`), advanced at the end (`advance-watermark`) with
//! compare-and-set, and only forwards, so two runs can never both move it and a replayed or
//! backfilling run can never move it back.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use strata_workflow::{Attempt, StoredValue};

use super::error::DailySyncError;

/// The value key of the orders watermark.
pub const WATERMARK_KEY: &str = "watermark/shopify/orders";

/// How far back a run reads at most: a watermark (or `since`) older than this is clamped, and a
/// first run starts here. Shopify's `read_orders` scope only reaches 60 days back without
/// `read_all_orders`; 128 days bounds the bulk query either way.
pub const MAX_LOOKBACK_DAYS: i64 = 128;

/// Where a run starts reading (the result of step `read-watermark`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatermarkRead {
    /// The bulk query reads orders updated at or after this.
    pub since: DateTime<Utc>,
    /// `param` (the instance's `since`), `watermark` (the stored value) or `default` (none).
    pub source: String,
    /// The stored watermark, if any.
    pub stored: Option<DateTime<Utc>>,
    /// Whether `since` was moved forward to the lookback limit.
    pub clamped: bool,
}

/// The watermark after step `advance-watermark`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatermarkAdvance {
    /// The stored watermark now (`None`: nothing ingested yet, ever).
    pub watermark: Option<DateTime<Utc>>,
    /// What it was before this step.
    pub previous: Option<DateTime<Utc>>,
    /// Whether this step moved it.
    pub advanced: bool,
}

/// The stored watermark and its revision (0 when absent, for an insert-only compare-and-set).
async fn load(attempt: &Attempt) -> Result<(Option<DateTime<Utc>>, u64), DailySyncError> {
    match attempt.values().get(WATERMARK_KEY).await? {
        None => Ok((None, 0)),
        Some(stored) => Ok((Some(decode(&stored)?), stored.revision)),
    }
}

fn decode(stored: &StoredValue) -> Result<DateTime<Utc>, DailySyncError> {
    stored
        .value
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| DailySyncError::CorruptWatermark {
            key: WATERMARK_KEY.to_owned(),
            value: stored.value.to_string().chars().take(200).collect(),
        })
}

/// Step `read-watermark`: `since` if given, else the stored watermark, else the lookback limit;
/// never earlier than [`MAX_LOOKBACK_DAYS`] before `now`.
pub(crate) async fn read(
    attempt: &Attempt,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<WatermarkRead, DailySyncError> {
    let (stored, _) = load(attempt).await?;
    let floor = now - Duration::days(MAX_LOOKBACK_DAYS);
    let (candidate, source) = match (since, stored) {
        (Some(t), _) => (t, "param"),
        (None, Some(t)) => (t, "watermark"),
        (None, None) => (floor, "default"),
    };
    let clamped = candidate < floor;
    if clamped {
        tracing::warn!(
            requested = %candidate,
            %floor,
            "the sync's start is older than {MAX_LOOKBACK_DAYS} days; reading from {floor} instead"
        );
    }
    // Whole seconds, as the bulk query's filter writes it (rounded down: a second more, never
    // less).
    let since = candidate.max(floor);
    let since = DateTime::from_timestamp(since.timestamp(), 0).unwrap_or(since);
    Ok(WatermarkRead {
        since,
        source: source.to_owned(),
        stored,
        clamped,
    })
}

/// Step `advance-watermark`: moves the watermark to `max_updated_at` if that is later than the
/// stored one, by compare-and-set on the revision just read (a concurrent writer makes the step
/// retry and compare again).
pub(crate) async fn advance(
    attempt: &Attempt,
    max_updated_at: Option<DateTime<Utc>>,
    instance: &str,
) -> Result<WatermarkAdvance, DailySyncError> {
    let (previous, revision) = load(attempt).await?;
    let Some(target) = max_updated_at.filter(|t| previous.is_none_or(|p| *t > p)) else {
        return Ok(WatermarkAdvance {
            watermark: previous,
            previous,
            advanced: false,
        });
    };
    let value = json!({
        "updated_at": target.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "instance": instance,
    });
    attempt
        .values()
        .put(WATERMARK_KEY, value, Some(revision))
        .await?;
    tracing::info!(watermark = %target, previous = ?previous, "orders watermark advanced");
    Ok(WatermarkAdvance {
        watermark: Some(target),
        previous,
        advanced: true,
    })
}
