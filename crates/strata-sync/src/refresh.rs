//! `refresh_measurements`: brings `measurement.sales` up to date and computes
//! `measurement.performance` for the as-of days, as one durable step.
//!
//! One step, because the refresh is already atomic per committed chunk of days and idempotent: a
//! retry after a crash recomputes at most the chunk in progress and writes the same rows.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strata_measure::{AsOf, Measurements, SalesScope};
use strata_workflow::{Backoff, Context, RetryPolicy, RunError, StepConfig, StepError, Workflow};

use crate::env::SyncEnv;

/// The workflow's registered name.
pub const REFRESH_MEASUREMENTS: &str = "refresh_measurements";

/// Parameters of `refresh_measurements` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshParams {
    /// The as-of day (default: today in the reporting time zone).
    pub as_of: Option<NaiveDate>,
    /// With `to`: every as-of day from `from` through `to` instead.
    pub from: Option<NaiveDate>,
    /// The last as-of day of a range.
    pub to: Option<NaiveDate>,
    /// Recompute every sales day, not only those new events can fall on.
    #[serde(default)]
    pub full_sales: bool,
}

impl RefreshParams {
    /// Reads the parameters of an instance (`null` means the defaults).
    pub fn from_value(params: &Value) -> Result<Self, String> {
        if params.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(params.clone()).map_err(|e| {
            format!("invalid parameters for {REFRESH_MEASUREMENTS}: {e} (expected {{\"as_of\"?, \"from\"?, \"to\"?, \"full_sales\"?}})")
        })
    }

    fn as_of(&self, today: NaiveDate) -> Result<AsOf, String> {
        match (self.as_of, self.from, self.to) {
            (Some(day), None, None) => Ok(AsOf::Day(day)),
            (None, Some(from), Some(to)) if from <= to => Ok(AsOf::Range(from, to)),
            (None, Some(from), Some(to)) => Err(format!("`from` {from} is after `to` {to}")),
            (None, None, None) => Ok(AsOf::Day(today)),
            _ => Err("give either `as_of`, or both `from` and `to`".to_owned()),
        }
    }
}

/// The refresh as a workflow.
pub struct RefreshMeasurements {
    env: Arc<SyncEnv>,
}

impl RefreshMeasurements {
    /// The workflow over `env`.
    pub fn new(env: Arc<SyncEnv>) -> Self {
        Self { env }
    }
}

/// The step's retry policy: a refresh is long and idempotent; retry twice a minute apart.
pub(crate) fn refresh_step_config() -> StepConfig {
    StepConfig::default()
        .with_retries(RetryPolicy {
            limit: 2,
            delay: Duration::from_secs(60),
            backoff: Backoff::Constant,
        })
        .with_timeout(Duration::from_secs(3600))
}

/// Runs the refresh for `params` (the body of the step, shared with the daily sync).
pub(crate) async fn refresh_once(
    env: &SyncEnv,
    params: &RefreshParams,
    attempt: &strata_workflow::Attempt,
) -> Result<Value, StepError> {
    let as_of = params.as_of(env.zone.today()).map_err(StepError::fatal)?;
    let m = Measurements::open(env.lake.clone(), &env.data_dir, env.zone)
        .await
        .map_err(StepError::retryable)?;
    let scope = if params.full_sales {
        SalesScope::All
    } else {
        SalesScope::Changed
    };
    let report = strata_measure::refresh(&env.db, &m, as_of, scope, &mut |_| {})
        .await
        .map_err(StepError::retryable)?;
    attempt.count(
        "sales_days",
        i64::try_from(report.sales.days).unwrap_or(i64::MAX),
    );
    attempt.count(
        "sales_rows",
        i64::try_from(report.sales.rows).unwrap_or(i64::MAX),
    );
    attempt.count(
        "performance_rows",
        i64::try_from(report.performance.rows).unwrap_or(i64::MAX),
    );
    serde_json::to_value(&report).map_err(StepError::fatal)
}

#[async_trait]
impl Workflow for RefreshMeasurements {
    fn name(&self) -> &str {
        REFRESH_MEASUREMENTS
    }

    fn options(&self) -> strata_workflow::WorkflowOptions {
        // Two refreshes at once would compute the same days twice.
        strata_workflow::WorkflowOptions {
            concurrency: Some(1),
            cron: None,
        }
    }

    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
        let params = RefreshParams::from_value(&params).map_err(RunError::failed)?;
        let env = &self.env;
        ctx.step("refresh", refresh_step_config(), |attempt| {
            let params = params.clone();
            async move { refresh_once(env, &params, &attempt).await }
        })
        .await
    }
}
