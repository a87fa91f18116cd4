//! Steps `start-bulk-query` and `await-bulk-query`: the orders bulk query since the watermark,
//! and its wait.
//!
//! A bulk operation that ends `FAILED` for a passing reason (`INTERNAL_SERVER_ERROR`,
//! `TIMEOUT`), `CANCELED` or `EXPIRED` cannot be waited back to life: the await step then
//! completes with [`BulkOutcome::Failed`] and the workflow starts a new round
//! (`start-bulk-query-2`, `await-bulk-query-2`, …). `ACCESS_DENIED` fails the step (and the run)
//! at once, naming Shopify's code: no retry gives the app a scope it lacks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strata_shopify::{
    AdminClient, BulkOperationStatus, Gid, ShopifyError, orders::orders_bulk_query,
};

use super::{error::DailySyncError, signals::BulkSignals};

/// Step `start-bulk-query`: starts the orders query and returns the operation's GID.
///
/// Shopify runs one bulk query per app at a time. When one is running already and it is this
/// very query (same `since`), it is taken as this step's: an attempt that started it and crashed
/// before its result was stored leaves exactly that behind, and waiting it out would only delay
/// the run. Any other running query is retried later ([`DailySyncError::BulkInProgress`]).
pub(crate) async fn start(
    client: &AdminClient,
    since: DateTime<Utc>,
) -> Result<String, DailySyncError> {
    let query = orders_bulk_query(Some(since));
    match client.run_bulk_query(&query).await {
        Ok(op) => {
            tracing::info!(operation = %op.id, %since, "orders bulk query started");
            Ok(op.id.to_string())
        }
        Err(e) if e.is_operation_in_progress() => match client.current_bulk_operation().await {
            Ok(Some(op))
                if matches!(
                    op.status,
                    BulkOperationStatus::Created | BulkOperationStatus::Running
                ) && op.runs(&query) =>
            {
                tracing::info!(operation = %op.id, %since, "the orders bulk query of an interrupted attempt is running: taking it over");
                Ok(op.id.to_string())
            }
            Ok(_) => Err(DailySyncError::BulkInProgress(
                e.to_string().chars().take(300).collect(),
            )),
            Err(current) => {
                tracing::debug!(error = %current, "could not read the running bulk operation");
                Err(DailySyncError::BulkInProgress(
                    e.to_string().chars().take(300).collect(),
                ))
            }
        },
        Err(e) => Err(e.into()),
    }
}

/// How a bulk operation ended (the result of step `await-bulk-query`). The result URL is not
/// kept: it is a signed link to the shop's orders, and step results are readable by operators;
/// `archive-jsonl` fetches a fresh one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BulkOutcome {
    /// `COMPLETED`.
    Completed {
        /// The result's size in bytes (`None` or 0: nothing matched).
        file_size: Option<u64>,
        /// Objects in the result (orders and line items).
        object_count: Option<u64>,
        /// Orders in the result.
        root_object_count: Option<u64>,
        /// Whether there is a result file (Shopify gives no URL when nothing matched).
        has_result: bool,
    },
    /// Ended without a result for a reason a new bulk query may not have.
    Failed {
        /// `FAILED`, `CANCELED` or `EXPIRED`.
        operation_status: String,
        /// Shopify's `errorCode`, for `FAILED`.
        error_code: Option<String>,
    },
}

/// Step `await-bulk-query`: polls the operation every `poll` (cut short by its finish signal)
/// until it ends.
pub(crate) async fn wait(
    client: &AdminClient,
    signals: &BulkSignals,
    gid: &str,
    poll: Duration,
) -> Result<BulkOutcome, DailySyncError> {
    let id = Gid::parse(gid).map_err(|e| DailySyncError::ResultUnavailable {
        id: gid.to_owned(),
        reason: format!("the stored operation id does not parse: {e}"),
    })?;
    let signal = signals.register(gid);
    match client.wait_for_bulk(&id, poll, Some(signal.notify())).await {
        Ok(op) => Ok(BulkOutcome::Completed {
            file_size: op.file_size,
            object_count: op.object_count,
            root_object_count: op.root_object_count,
            has_result: op.url.is_some(),
        }),
        Err(e) => {
            if let (
                true,
                ShopifyError::BulkFailed {
                    status, error_code, ..
                },
            ) = (e.is_transient(), &e)
            {
                tracing::warn!(operation = gid, error = %e, "bulk operation ended without a result; a new one will be started");
                return Ok(BulkOutcome::Failed {
                    operation_status: status.to_string(),
                    error_code: error_code.as_ref().map(ToString::to_string),
                });
            }
            Err(e.into())
        }
    }
}
