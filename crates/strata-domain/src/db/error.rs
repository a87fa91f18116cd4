/// Why the database could not be reached or used. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unknown database URL scheme `{0}://`: Strata speaks PostgreSQL; use postgres://user:password@host:5432/dbname"
    )]
    UnknownScheme(String),
    #[error("cannot parse DATABASE_URL: {0}; expected postgres://user:password@host:5432/dbname")]
    BadUrl(String),
    #[error(
        "cannot reach PostgreSQL at {target}: {reason}; is the server running and DATABASE_URL right?"
    )]
    Unavailable { target: String, reason: String },
    #[error("PostgreSQL at {target} refused the request: {reason}")]
    Query { target: String, reason: String },
    #[error(
        "data directory {path} is in use by another strata process{}; stop it or pass a different --data-dir",
        .pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked { path: String, pid: Option<u32> },
    #[error("cannot use data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("the embedded PostgreSQL failed to start in {path}: {reason}")]
    EmbeddedStart { path: String, reason: String },
    #[error(
        "the embedded PostgreSQL in {path} did not stop cleanly: {reason}; it recovers on the next start"
    )]
    EmbeddedStop { path: String, reason: String },
    #[error(
        "this strata was built without the embedded engine (feature `embedded`); set DATABASE_URL"
    )]
    EmbeddedUnavailable,
    #[error("database pool configuration: {0}")]
    Config(String),
}

impl DbError {
    pub(crate) fn from_pool(target: &str, e: deadpool_postgres::PoolError) -> Self {
        let reason = match &e {
            deadpool_postgres::PoolError::Backend(pg) => pg_reason(pg),
            other => other.to_string(),
        };
        DbError::Unavailable {
            target: target.to_string(),
            reason,
        }
    }

    pub(crate) fn from_pg(target: &str, e: tokio_postgres::Error) -> Self {
        if e.as_db_error().is_some() {
            DbError::Query {
                target: target.to_string(),
                reason: pg_reason(&e),
            }
        } else {
            DbError::Unavailable {
                target: target.to_string(),
                reason: pg_reason(&e),
            }
        }
    }
}

/// The most telling part of a tokio-postgres error (its Display hides the cause).
pub fn pg_reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    match std::error::Error::source(e) {
        Some(src) => format!("{e}: {src}"),
        None => e.to_string(),
    }
}
