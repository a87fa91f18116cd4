//! What can go wrong with a domain command, classified the way a caller needs it.

use strata_events::{EventId, LogError};

use crate::db::{DbError, pg_reason};

/// Why a command failed. Every variant except [`CommandError::EventLog`] means nothing was
/// written: each command is one PostgreSQL transaction.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A row the command names does not exist.
    #[error("{what} {uid} does not exist")]
    NotFound {
        /// The table (`order_header`, `store`, `stock_location`, …).
        what: &'static str,
        /// The uid asked for.
        uid: String,
    },
    /// The command itself is wrong: a bad quantity, an unknown variant, a currency mismatch, a
    /// return of more units than were shipped, ….
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The offending field, e.g. `lines[1].quantity`.
        field: String,
        /// What is wrong with it, and what is accepted.
        message: String,
    },
    /// The command does not fit the current state: an order in the wrong phase, nothing left to
    /// ship or capture, a concurrent change that persisted after retries.
    #[error("{0}")]
    Conflict(String),
    /// PostgreSQL could not be reached or dropped the connection; nothing was committed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The PostgreSQL transaction COMMITTED, but its event could not be appended to the event log,
    /// even after retries. The fact is safe in PostgreSQL; `reemit_order_events` appends the
    /// missing event (with the same id) once the log is writable again.
    #[error(
        "event {event_id} of order {order_uid} could not be appended to COMMERCE_TELEMETRY after \
         {attempts} attempts ({source}); the PostgreSQL change IS committed: run \
         reemit_order_events to append the event"
    )]
    EventLog {
        /// The order the committed change belongs to.
        order_uid: String,
        /// The id of the event that is missing from the log.
        event_id: EventId,
        /// Append attempts made.
        attempts: u32,
        /// The last failure of the log.
        #[source]
        source: LogError,
    },
    /// A database error that is neither the caller's fault nor an outage (a bug, or data that
    /// breaks the schema's rules).
    #[error("unexpected database error: {0}")]
    Internal(String),
}

impl CommandError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, uid: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            uid: uid.into(),
        }
    }

    /// The HTTP status that fits the error (404, 422, 409, 503, 500).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::Invalid { .. } => 422,
            Self::Conflict(_) => 409,
            Self::Unavailable(_) => 503,
            Self::EventLog { .. } | Self::Internal(_) => 500,
        }
    }

    /// True for a transient failure worth retrying the whole transaction for: a serialization
    /// failure or a deadlock.
    pub(crate) fn is_retryable_pg(e: &tokio_postgres::Error) -> bool {
        e.as_db_error()
            .is_some_and(|db| matches!(db.code().code(), "40001" | "40P01"))
    }

    /// True if `e` is a unique violation of `constraint`.
    pub(crate) fn is_unique_violation(e: &tokio_postgres::Error, constraint: &str) -> bool {
        e.as_db_error().is_some_and(|db| {
            db.code().code() == "23505" && db.constraint().is_some_and(|c| c == constraint)
        })
    }
}

impl From<tokio_postgres::Error> for CommandError {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return Self::Unavailable(pg_reason(&e));
        };
        let code = db.code().code();
        match code {
            "23505" => Self::Conflict(format!(
                "a concurrent write holds the same key ({}): {}",
                db.constraint().unwrap_or("unique key"),
                db.message()
            )),
            "40001" | "40P01" => Self::Conflict(format!(
                "concurrent update, retry the command: {}",
                db.message()
            )),
            c if c.starts_with("08") || c.starts_with("57") || c.starts_with("53") => {
                Self::Unavailable(db.message().to_string())
            }
            c if c.starts_with("22") || c.starts_with("23") => Self::Invalid {
                field: db
                    .constraint()
                    .or(db.column())
                    .unwrap_or("request")
                    .to_string(),
                message: db.message().to_string(),
            },
            _ => Self::Internal(format!("{code}: {}", db.message())),
        }
    }
}

impl From<DbError> for CommandError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Query { reason, .. } => Self::Internal(reason),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
