//! What can go wrong talking to Shopify, each case saying what happened and what to do.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bulk::{BulkOperationErrorCode, BulkOperationStatus};
use crate::config::ConfigError;

/// An error of [`crate::AdminClient`]. [`ShopifyError::is_transient`] tells whether the same
/// request may succeed later (the client has already retried it as the policy allows).
#[derive(Debug, thiserror::Error)]
pub enum ShopifyError {
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// 401 or 403.
    #[error(
        "Shopify refused the access token (HTTP {status}) at {endpoint}: check SHOPIFY_ADMIN_TOKEN, and that the app is installed on the shop with the read_orders and read_products scopes"
    )]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The URL called.
        endpoint: String,
    },

    /// 404.
    #[error(
        "HTTP 404 at {endpoint}: check SHOPIFY_SHOP and SHOPIFY_API_VERSION (Shopify answers 404 for an unknown shop and for a version it no longer serves)"
    )]
    NotFound {
        /// The URL called.
        endpoint: String,
    },

    /// 5xx, after every retry.
    #[error(
        "Shopify answered HTTP {status} {attempts} times in a row (last body: {body}): the failure is on Shopify's side; try again later"
    )]
    Server {
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The start of the last body.
        body: String,
    },

    /// The request could not be sent at all (not retried).
    #[error(
        "the request to {endpoint} could not be made: {source} (an https endpoint needs TLS in this build: enable strata-shopify's `tls` feature)"
    )]
    Request {
        /// The URL.
        endpoint: String,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },

    /// Another 4xx: the request itself is wrong.
    #[error(
        "Shopify refused the request with HTTP {status}: {body} (retrying the same request will not help)"
    )]
    Http {
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },

    /// Connection refused, reset, timed out…, after every retry.
    #[error(
        "could not get an answer from {endpoint} after {attempts} attempts: {source} (check the network, SHOPIFY_SHOP or SHOPIFY_BASE_URL, and SHOPIFY_TIMEOUT_SECS)"
    )]
    Network {
        /// The URL called.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },

    /// `THROTTLED` (or 429) more often than the policy accepts.
    #[error(
        "still throttled after {attempts} attempts (the query asks for {requested} points of a {maximum}-point bucket): make the query cheaper, or fetch this data with a bulk operation"
    )]
    Throttled {
        /// Throttled answers received.
        attempts: u32,
        /// The query's requested cost, if Shopify said it.
        requested: f64,
        /// The bucket's size.
        maximum: f64,
    },

    /// The GraphQL answer has `errors` (other than throttling): the query is wrong for this
    /// API version or this app's scopes. Not retried.
    #[error("the GraphQL request failed: {} (fix the query or the app's scopes; this is not retried)", join_errors(.errors))]
    GraphQl {
        /// Shopify's errors.
        errors: Vec<GraphQlError>,
    },

    /// The answer is not shaped as this crate expects.
    #[error(
        "Shopify's answer to {context} is not what was expected: {reason} (is SHOPIFY_API_VERSION one this crate supports?)"
    )]
    UnexpectedResponse {
        /// What was asked.
        context: String,
        /// What is wrong.
        reason: String,
    },

    /// `bulkOperationRunQuery` answered `userErrors`.
    #[error("bulkOperationRunQuery refused the query: {} ({})", join_user_errors(.errors), user_errors_hint(.errors))]
    BulkUserErrors {
        /// Shopify's errors.
        errors: Vec<UserError>,
    },

    /// The bulk operation ended FAILED, CANCELED or EXPIRED.
    #[error("bulk operation {id} ended {status}{}: {}", .error_code.as_ref().map(|c| format!(" with {c}")).unwrap_or_default(), bulk_failure_hint(.status, .error_code.as_ref()))]
    BulkFailed {
        /// The operation's GID.
        id: String,
        /// How it ended.
        status: BulkOperationStatus,
        /// Why, for FAILED.
        error_code: Option<BulkOperationErrorCode>,
        /// What it fetched before failing, if anything.
        partial_data_url: Option<String>,
    },

    /// No operation with that id.
    #[error("there is no bulk operation {id} on this shop for this app")]
    BulkNotFound {
        /// The GID asked for.
        id: String,
    },

    /// The result URL answered an error.
    #[error("the bulk result URL answered HTTP {status}: {hint}")]
    Download {
        /// The status.
        status: u16,
        /// What to do.
        hint: &'static str,
    },

    /// Fewer bytes arrived than the result holds.
    #[error(
        "the download of the bulk result was cut short: {received} bytes received{} ({detail}); download it again",
        .expected.map(|e| format!(" of {e}")).unwrap_or_default()
    )]
    Truncated {
        /// Bytes received.
        received: u64,
        /// Bytes announced (`Content-Length` or the operation's `fileSize`).
        expected: Option<u64>,
        /// What showed it.
        detail: String,
    },

    /// Writing the download failed.
    #[error("writing the bulk result failed: {0}")]
    Io(#[from] std::io::Error),
}

impl ShopifyError {
    /// Whether `bulkOperationRunQuery` was refused because a bulk query is already running.
    /// (After a lost answer, the retry of `run_bulk_query` may find the operation its first
    /// attempt started: pick it up with [`crate::AdminClient::current_bulk_operation`].)
    pub fn is_operation_in_progress(&self) -> bool {
        match self {
            Self::BulkUserErrors { errors } => errors.iter().any(|e| {
                e.code.as_deref() == Some("OPERATION_IN_PROGRESS")
                    || e.message.contains("already in progress")
            }),
            _ => false,
        }
    }

    /// Whether the same request may succeed later: Shopify's or the network's failures, a
    /// throttle, a cut download, a bulk operation failed for a passing reason. The client has
    /// already retried as its policy allows; this is for the caller's own (durable) retries.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Server { .. }
            | Self::Network { .. }
            | Self::Throttled { .. }
            | Self::Truncated { .. } => true,
            Self::BulkFailed {
                status, error_code, ..
            } => match status {
                BulkOperationStatus::Failed => matches!(
                    error_code,
                    Some(
                        BulkOperationErrorCode::InternalServerError
                            | BulkOperationErrorCode::Timeout
                    ) | None
                ),
                _ => true,
            },
            Self::Download { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// One of `errors` of a GraphQL answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphQlError {
    /// The message.
    pub message: String,
    /// `extensions` (Shopify puts `code` there: `THROTTLED`, `ACCESS_DENIED`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
    /// Where in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<Value>>,
}

impl GraphQlError {
    /// `extensions.code`.
    pub fn code(&self) -> Option<&str> {
        self.extensions.as_ref()?.get("code")?.as_str()
    }
}

impl std::fmt::Display for GraphQlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(code) = self.code() {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

/// A `userErrors` entry of a mutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserError {
    /// The input field at fault.
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// The message.
    pub message: String,
    /// The code (`OPERATION_IN_PROGRESS`, `INVALID`…), API 2025-01 and later.
    #[serde(default)]
    pub code: Option<String>,
}

fn join_errors(errors: &[GraphQlError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn join_user_errors(errors: &[UserError]) -> String {
    errors
        .iter()
        .map(|e| match &e.code {
            Some(code) => format!("{} [{code}]", e.message),
            None => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn user_errors_hint(errors: &[UserError]) -> &'static str {
    let in_progress = errors.iter().any(|e| {
        e.code.as_deref() == Some("OPERATION_IN_PROGRESS") || e.message.contains("in progress")
    });
    if in_progress {
        "another bulk query of this app is still running: wait for it (current_bulk_operation) or cancel it"
    } else {
        "the bulk query itself is invalid: it needs one top-level connection, at most five connections nested two deep"
    }
}

fn bulk_failure_hint(
    status: &BulkOperationStatus,
    code: Option<&BulkOperationErrorCode>,
) -> &'static str {
    match (status, code) {
        (BulkOperationStatus::Failed, Some(BulkOperationErrorCode::AccessDenied)) => {
            "the app lacks a scope the query needs (read_orders; read_all_orders for orders older than 60 days; read_products); run the query as a normal request to see which field"
        }
        (BulkOperationStatus::Failed, Some(BulkOperationErrorCode::Timeout)) => {
            "the query took too long on Shopify's side: select fewer fields or a narrower updated_at range, then run it again"
        }
        (BulkOperationStatus::Failed, _) => {
            "Shopify failed while running it, often intermittently: run the bulk query again"
        }
        (BulkOperationStatus::Canceled | BulkOperationStatus::Canceling, _) => {
            "it was cancelled (bulkOperationCancel): run it again"
        }
        (BulkOperationStatus::Expired, _) => {
            "its result expired (Shopify keeps results 7 days): run it again"
        }
        _ => "run it again",
    }
}
