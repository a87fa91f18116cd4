//! Why an ingest failed, and what to do about it.

use std::fmt;

use serde::{Deserialize, Serialize};
use strata_domain::DbError;
use strata_events::LogError;

/// An order that cannot be ingested as it is, named so staff can find it in Shopify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProblem {
    /// The order's GID (`gid://shopify/Order/…`).
    pub order_id: String,
    /// The order's name (`#1001`), as Shopify shows it.
    pub name: String,
    /// What is wrong, naming the field (and line item) at fault.
    pub reason: String,
}

impl fmt::Display for OrderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "order {} ({}): {}",
            self.name, self.order_id, self.reason
        )
    }
}

/// How many problems an error message lists before it says "and N more".
const LISTED_PROBLEMS: usize = 5;

fn list_problems(problems: &[OrderProblem]) -> String {
    let mut text = problems
        .iter()
        .take(LISTED_PROBLEMS)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > LISTED_PROBLEMS {
        text.push_str(&format!("; and {} more", problems.len() - LISTED_PROBLEMS));
    }
    text
}

fn count(problems: &[OrderProblem]) -> usize {
    problems.len()
}

fn retry_hint(retryable: &bool) -> &'static str {
    if *retryable {
        " (a transient failure: run the batch again)"
    } else {
        ""
    }
}

/// Why [`super::OrderIngest`] failed. Every variant says whether anything was written.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The shop name given to [`super::OrderIngest::new`] is not a shop.
    #[error(
        "`{shop}` is not a Shopify shop: give its handle (my-shop) or myshopify domain (my-shop.myshopify.com)"
    )]
    InvalidShop {
        /// What was given.
        shop: String,
    },
    /// Orders of the batch break a rule of the mapping; nothing of the batch was written.
    #[error(
        "{} order(s) of the batch cannot be ingested, so nothing of the batch was written: {}. \
         Fix the orders in Shopify, or ingest with skip_invalid(true) to leave them out (they are then listed in the report)",
        count(.problems), list_problems(.problems)
    )]
    InvalidOrders {
        /// Each order at fault, with why.
        problems: Vec<OrderProblem>,
    },
    /// No connection to PostgreSQL; nothing was written.
    #[error("cannot ingest: {0}")]
    Unavailable(#[from] DbError),
    /// PostgreSQL refused a statement; the transaction rolled back, nothing of the batch was
    /// written.
    #[error(
        "PostgreSQL failed while {during}: {reason}; the batch was rolled back and nothing of it was written{}",
        retry_hint(.retryable)
    )]
    Postgres {
        /// The step (`upserting order headers`).
        during: &'static str,
        /// PostgreSQL's message, with its detail (which names the offending key).
        reason: String,
        /// Whether running the batch again may succeed (lost connection, deadlock, …).
        retryable: bool,
    },
    /// The batch committed but its events are not (all) in the log.
    #[error(
        "the batch is committed in PostgreSQL but its commerce events could not be appended to COMMERCE_TELEMETRY after {attempts} attempt(s): {source}. \
         Run the same batch again: it changes nothing in PostgreSQL and appends the missing events exactly once (their ids are deterministic)"
    )]
    EventLog {
        /// Append attempts made.
        attempts: u32,
        /// The log's last error.
        #[source]
        source: LogError,
    },
    /// A bug: the mapping produced something the event schema refuses. Nothing was written.
    #[error(
        "internal error (a bug in strata-sync's ingest, please report it): {0}; nothing of the batch was written"
    )]
    Internal(String),
}

impl IngestError {
    /// Whether running the same batch again later may succeed: PostgreSQL or the log were
    /// unreachable or lost a race. A workflow step retries these with backoff; the others need a
    /// person (bad data, a bug).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable(e) => matches!(e, DbError::Unavailable { .. }),
            Self::Postgres { retryable, .. } => *retryable,
            Self::EventLog { source, .. } => !matches!(
                source,
                LogError::StreamMismatch { .. }
                    | LogError::Encode { .. }
                    | LogError::UnsupportedFormat { .. }
            ),
            Self::InvalidShop { .. } | Self::InvalidOrders { .. } | Self::Internal(_) => false,
        }
    }

    /// A PostgreSQL error during `during`, with the server's message and detail.
    pub(crate) fn pg(during: &'static str, e: &tokio_postgres::Error) -> Self {
        let mut reason = strata_domain::db::pg_reason(e);
        let mut retryable = true;
        if let Some(db) = e.as_db_error() {
            if let Some(detail) = db.detail() {
                reason.push_str(&format!(" ({detail})"));
            }
            if let Some(constraint) = db.constraint() {
                reason.push_str(&format!(" [constraint {constraint}]"));
            }
            let code = db.code().code();
            // Serialization failures, deadlocks, lost connections, resource shortages, shutdowns.
            retryable = code.starts_with("40")
                || code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P");
        }
        Self::Postgres {
            during,
            reason,
            retryable,
        }
    }
}

/// Adds the step to a PostgreSQL error (`.map_err(pg("…"))`).
pub(crate) fn pg(during: &'static str) -> impl Fn(tokio_postgres::Error) -> IngestError {
    move |e| IngestError::pg(during, &e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_orders_are_named_and_the_list_is_bounded() {
        let problems: Vec<OrderProblem> = (0..7)
            .map(|i| OrderProblem {
                order_id: format!("gid://shopify/Order/{i}"),
                name: format!("#{}", 1000 + i),
                reason: "line item gid://shopify/LineItem/9: quantity -1 is negative".into(),
            })
            .collect();
        let text = IngestError::InvalidOrders { problems }.to_string();
        assert!(text.starts_with("7 order(s)"), "{text}");
        assert!(
            text.contains("order #1000 (gid://shopify/Order/0)"),
            "{text}"
        );
        assert!(text.contains("and 2 more"), "{text}");
        assert!(text.contains("nothing of the batch was written"), "{text}");
    }
}
