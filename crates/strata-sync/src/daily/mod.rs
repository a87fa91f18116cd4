//! `daily_shopify_sync`: orders updated on Shopify since the last run, into PostgreSQL, the
//! commerce stream and the measurements, as one durable workflow (cron `0 6 * * *` UTC, `POST
//! /api/performance-metrics/sync`, `strata sync shopify`).
//!
//! | step | does | result |
//! |---|---|---|
//! | `read-watermark` | `since`, or the stored watermark ([`WATERMARK_KEY`]), never older than [`MAX_LOOKBACK_DAYS`] | [`WatermarkRead`] |
//! | `start-bulk-query` | `bulkOperationRunQuery` of the orders updated since then | the operation's GID |
//! | `await-bulk-query` | polls it, woken early by the `bulk_operations/finish` webhook ([`BulkSignals`]) | [`BulkOutcome`] |
//! | `archive-jsonl` | streams the result into the lake's storage, `archives/ingest/{run_id}.jsonl` | [`Archived`] |
//! | `ingest-orders` | stream-parses the archive, upserts orders and products, appends their commerce events | [`IngestOutcome`] |
//! | `refresh-measurements` | waits for the events to land in the lake, refreshes the measurements | the refresh report |
//! | `advance-watermark` | compare-and-set to the latest `updatedAt` ingested, never backwards | [`WatermarkAdvance`] |
//!
//! A bulk operation that ends without a result for a passing reason is followed by a new round
//! (`start-bulk-query-2`, `await-bulk-query-2`, up to [`DailySyncOptions::max_bulk_rounds`]).
//!
//! **Crashes.** Every step's result is stored before the next starts, and every step is safe to
//! run again (a new bulk query, a rewritten archive, an idempotent ingest, an idempotent refresh,
//! a compare-and-set), so a run resumed after a crash anywhere ends in the state of a run that
//! never crashed. The watermark moves only in the last step: a run that fails leaves it where it
//! was and the next run reads the same orders again (unchanged ones write nothing).
//!
//! The output is `{"ingest": {…the IngestReport…, "quarantined_total"}, "watermark",
//! "quarantined_total", "quarantined", "archive", "bulk_operation", "since"}`, what
//! `GET /api/ingest/runs` shows.

mod archive;
mod bulk;
mod error;
mod landing;
mod load;
mod signals;
mod watermark;

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use strata_shopify::{AdminClient, ShopifyError};
use strata_workflow::{
    Backoff, Context, CronSchedule, RetryPolicy, RunError, StepConfig, Workflow, WorkflowOptions,
};

pub use archive::{Archived, archive_key};
pub use bulk::BulkOutcome;
pub use error::DailySyncError;
pub use load::{IngestOutcome, MAX_REPORTED_QUARANTINED, QuarantinedLine};
pub use signals::{BulkSignal, BulkSignals};
pub use watermark::{MAX_LOOKBACK_DAYS, WATERMARK_KEY, WatermarkAdvance, WatermarkRead};

use crate::env::SyncEnv;

/// The workflow's registered name.
pub const DAILY_SHOPIFY_SYNC: &str = "daily_shopify_sync";

/// Its cron trigger: daily at 06:00 UTC.
pub const DAILY_SHOPIFY_SYNC_CRON: &str = "0 6 * * *";

/// Parameters of `daily_shopify_sync` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailySyncParams {
    /// Read orders updated at or after this instead of the stored watermark (a backfill; still
    /// clamped to [`MAX_LOOKBACK_DAYS`]). The watermark still only moves forward.
    pub since: Option<DateTime<Utc>>,
    /// Set by the cron trigger: the time the run was scheduled for (informational).
    pub scheduled_time: Option<DateTime<Utc>>,
}

impl DailySyncParams {
    /// Reads the parameters of an instance (`null` means the defaults).
    pub fn from_value(params: &Value) -> Result<Self, DailySyncError> {
        if params.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(params.clone()).map_err(|e| DailySyncError::Params(e.to_string()))
    }
}

/// Called after each step completes (or replays), with the step's name: a test's way to stop the
/// engine at a step boundary, as a crash would.
pub type StepHook = Arc<dyn Fn(&str) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How the sync waits and retries.
#[derive(Clone)]
pub struct DailySyncOptions {
    /// How often a running bulk operation is polled (the finish webhook cuts it short).
    pub poll_interval: Duration,
    /// Retries of the Shopify steps (start, await, archive) and the ingest: Shopify outages and
    /// a busy bulk queue last minutes, so the default waits 30 s, doubling, six times (~30 min).
    pub retries: RetryPolicy,
    /// Retries of the refresh step (long and idempotent: twice, a minute apart).
    pub refresh_retries: RetryPolicy,
    /// How long one attempt of the refresh waits for the pipelines to land the events.
    pub landing_timeout: Duration,
    /// Bulk queries started at most when operations end without a result.
    pub max_bulk_rounds: u32,
    /// See [`StepHook`].
    pub after_step: Option<StepHook>,
}

impl std::fmt::Debug for DailySyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DailySyncOptions")
            .field("poll_interval", &self.poll_interval)
            .field("retries", &self.retries)
            .field("refresh_retries", &self.refresh_retries)
            .field("landing_timeout", &self.landing_timeout)
            .field("max_bulk_rounds", &self.max_bulk_rounds)
            .field("after_step", &self.after_step.is_some())
            .finish()
    }
}

impl Default for DailySyncOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            retries: RetryPolicy {
                limit: 6,
                delay: Duration::from_secs(30),
                backoff: Backoff::Exponential,
            },
            refresh_retries: RetryPolicy {
                limit: 2,
                delay: Duration::from_secs(60),
                backoff: Backoff::Constant,
            },
            landing_timeout: Duration::from_secs(600),
            max_bulk_rounds: 3,
            after_step: None,
        }
    }
}

/// The daily sync as a workflow.
pub struct DailyShopifySync {
    env: Arc<SyncEnv>,
    client: AdminClient,
    shop: String,
    options: DailySyncOptions,
}

impl std::fmt::Debug for DailyShopifySync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DailyShopifySync")
            .field("shop", &self.shop)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DailyShopifySync {
    /// The workflow over `env`, reading the shop of `env.shopify`; `None` when Shopify is not
    /// configured there.
    pub fn new(env: Arc<SyncEnv>) -> Result<Option<Self>, ShopifyError> {
        Self::with_options(env, DailySyncOptions::default())
    }

    /// The same with other waits and retries.
    pub fn with_options(
        env: Arc<SyncEnv>,
        options: DailySyncOptions,
    ) -> Result<Option<Self>, ShopifyError> {
        let Some(config) = env.shopify.clone() else {
            return Ok(None);
        };
        let shop = config.shop.clone();
        let client = AdminClient::new(config)?;
        Ok(Some(Self {
            env,
            client,
            shop,
            options,
        }))
    }

    fn shopify_step(&self, timeout: Duration) -> StepConfig {
        StepConfig::default()
            .with_retries(self.options.retries)
            .with_timeout(timeout)
    }

    async fn after(&self, step: &str) {
        if let Some(hook) = &self.options.after_step {
            hook(step).await;
        }
    }

    /// The archive of the lake, or a retryable step error.
    fn archive(&self) -> Result<strata_lake::Archive, DailySyncError> {
        self.env
            .lake
            .archive()
            .map_err(|source| DailySyncError::Archive {
                key: "archives/ingest".to_owned(),
                source: Box::new(source),
            })
    }

    /// Start and await bulk queries until one completes; returns its GID.
    async fn bulk_rounds(&self, ctx: &Context, since: DateTime<Utc>) -> Result<String, RunError> {
        let mut round = 1u32;
        loop {
            let suffix = if round == 1 {
                String::new()
            } else {
                format!("-{round}")
            };
            let start = format!("start-bulk-query{suffix}");
            let gid: String = ctx
                .step(&start, self.shopify_step(Duration::from_secs(120)), |_| {
                    into_step(bulk::start(&self.client, since))
                })
                .await?;
            self.after(&start).await;
            let wait = format!("await-bulk-query{suffix}");
            let outcome: BulkOutcome = ctx
                .step(
                    &wait,
                    self.shopify_step(Duration::from_secs(6 * 3600)),
                    |_| {
                        let gid = gid.clone();
                        async move {
                            bulk::wait(
                                &self.client,
                                &self.env.bulk_signals,
                                &gid,
                                self.options.poll_interval,
                            )
                            .await
                            .map_err(DailySyncError::into_step)
                        }
                    },
                )
                .await?;
            self.after(&wait).await;
            match outcome {
                BulkOutcome::Completed { .. } => return Ok(gid),
                BulkOutcome::Failed {
                    operation_status,
                    error_code,
                } if round >= self.options.max_bulk_rounds => {
                    return Err(RunError::failed(format!(
                        "bulk operation {gid} ended {operation_status}{}, the {round}th in a row to end without a result; \
                         the watermark is unchanged and the next run tries again",
                        error_code.map(|c| format!(" with {c}")).unwrap_or_default()
                    )));
                }
                BulkOutcome::Failed { .. } => round += 1,
            }
        }
    }
}

/// A step body's error as the engine's: retried or fatal per [`DailySyncError::is_retryable`].
async fn into_step<T>(
    body: impl Future<Output = Result<T, DailySyncError>>,
) -> Result<T, strata_workflow::StepError> {
    body.await.map_err(DailySyncError::into_step)
}

#[async_trait]
impl Workflow for DailyShopifySync {
    fn name(&self) -> &str {
        DAILY_SHOPIFY_SYNC
    }

    fn options(&self) -> WorkflowOptions {
        // Two syncs at once would race for Shopify's one bulk query per app and shop.
        WorkflowOptions {
            concurrency: Some(1),
            cron: CronSchedule::parse(DAILY_SHOPIFY_SYNC_CRON).ok(),
        }
    }

    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
        let params = DailySyncParams::from_value(&params).map_err(RunError::failed)?;
        let env = &self.env;
        let (now, since) = (ctx.now(), params.since);
        let read: WatermarkRead = ctx
            .step(
                "read-watermark",
                StepConfig::default().with_retries(self.options.retries),
                |attempt| async move {
                    let read = watermark::read(&attempt, since, now)
                        .await
                        .map_err(DailySyncError::into_step)?;
                    if let Some(stored) = read.stored {
                        attempt.report_watermark(rfc3339(stored));
                    }
                    Ok(read)
                },
            )
            .await?;
        self.after("read-watermark").await;

        let gid = self.bulk_rounds(ctx, read.since).await?;

        let run_id = match ctx.generation() {
            0 => ctx.instance_id().to_string(),
            g => format!("{}-{g}", ctx.instance_id()),
        };
        let key = archive_key(&run_id);
        let archived: Archived = ctx
            .step(
                "archive-jsonl",
                self.shopify_step(Duration::from_secs(3600)),
                |attempt| {
                    let (gid, key) = (gid.clone(), key.clone());
                    into_step(async move {
                        let stored = self.archive()?;
                        let archived = archive::archive(&self.client, &stored, &gid, &key).await?;
                        attempt.count("bytes", i64::try_from(archived.bytes).unwrap_or(i64::MAX));
                        Ok(archived)
                    })
                },
            )
            .await?;
        self.after("archive-jsonl").await;

        let ingested: IngestOutcome = ctx
            .step(
                "ingest-orders",
                StepConfig::default()
                    .with_retries(self.options.retries)
                    .with_timeout(Duration::from_secs(3 * 3600)),
                |attempt| {
                    let key = archived.key.clone();
                    into_step(async move {
                        let stored = self.archive()?;
                        load::ingest(env, &stored, &self.shop, &key, &attempt).await
                    })
                },
            )
            .await?;
        self.after("ingest-orders").await;

        let target = ingested.commerce_log_head;
        let landing_timeout = self.options.landing_timeout;
        let _refreshed: Value = ctx
            .step(
                "refresh-measurements",
                StepConfig::default()
                    .with_retries(self.options.refresh_retries)
                    .with_timeout(landing_timeout + Duration::from_secs(3600)),
                |attempt| async move {
                    landing::refresh(env, target, landing_timeout, &attempt).await
                },
            )
            .await?;
        self.after("refresh-measurements").await;

        let max_updated_at = ingested.report.max_updated_at;
        let instance = ctx.instance_id().to_string();
        let advanced: WatermarkAdvance = ctx
            .step(
                "advance-watermark",
                StepConfig::default().with_retries(self.options.retries),
                |attempt| {
                    let instance = instance.clone();
                    async move {
                        let advanced = watermark::advance(&attempt, max_updated_at, &instance)
                            .await
                            .map_err(DailySyncError::into_step)?;
                        if let Some(w) = advanced.watermark {
                            attempt.report_watermark(rfc3339(w));
                        }
                        Ok(advanced)
                    }
                },
            )
            .await?;
        self.after("advance-watermark").await;

        let mut ingest = serde_json::to_value(&ingested.report).map_err(RunError::failed)?;
        if let Value::Object(map) = &mut ingest {
            map.insert(
                "quarantined_total".into(),
                json!(ingested.quarantined_total),
            );
            map.insert("lines".into(), json!(ingested.lines));
        }
        Ok(json!({
            "ingest": ingest,
            "watermark": advanced.watermark.map(rfc3339),
            "watermark_advanced": advanced.advanced,
            "since": rfc3339(read.since),
            "quarantined_total": ingested.quarantined_total,
            "quarantined": ingested.quarantined,
            "archive": archived.key,
            "archive_bytes": archived.bytes,
            "bulk_operation": gid,
        }))
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_accept_since_and_the_cron_time_and_refuse_the_rest() {
        assert_eq!(
            DailySyncParams::from_value(&Value::Null).unwrap(),
            DailySyncParams::default()
        );
        let p =
            DailySyncParams::from_value(&json!({"since": "2026-11-01T00:00:00+01:00"})).unwrap();
        assert_eq!(
            p.since.map(rfc3339).as_deref(),
            Some("2026-10-31T23:00:00Z")
        );
        // What the engine's cron trigger passes.
        assert!(
            DailySyncParams::from_value(&json!({"scheduled_time": "2026-11-29T06:00:00Z"})).is_ok()
        );
        let err = DailySyncParams::from_value(&json!({"sinse": "2026-11-01T00:00:00Z"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sinse") && err.contains("since"), "{err}");
        let err = DailySyncParams::from_value(&json!({"since": "yesterday"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("RFC 3339"), "{err}");
        assert!(!DailySyncError::Params(err).is_retryable());
    }

    #[test]
    fn the_cron_trigger_is_daily_at_six_utc() {
        let cron = CronSchedule::parse(DAILY_SHOPIFY_SYNC_CRON).unwrap();
        let t = "2026-11-29T05:59:59Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            cron.next_after(t).map(rfc3339).as_deref(),
            Some("2026-11-29T06:00:00Z")
        );
    }
}
