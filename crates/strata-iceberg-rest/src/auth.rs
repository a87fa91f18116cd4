//! Who may do what: the host decides ([`Authorizer`]); this crate asks before every operation
//! with the namespace it touches and whether it reads or writes. Clients send a bearer token
//! (PyIceberg's `token`, DuckDB's `TOKEN`, Spark's `token`); the spec's `/v1/oauth/tokens`
//! exchange is not served.

use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use strata_lake::iceberg::NamespaceIdent;

use crate::error::IcebergError;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Config, list, load, exists.
    Read,
    /// Create, commit, update properties, drop, rename, register.
    Write,
}

/// What an operation touches: the whole catalog (config, the list of namespaces) or one
/// namespace and what is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// `GET /v1/config`, `GET /v1/namespaces`.
    Catalog,
    /// A namespace, its properties and its tables.
    Namespace(&'a NamespaceIdent),
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No credentials, or unknown, expired or revoked ones: 401.
    Unauthenticated(String),
    /// Valid credentials without the needed grant: 403.
    Forbidden(String),
    /// Over the caller's rate: 429 with `Retry-After`.
    RateLimited(Duration),
    /// The credential store cannot be reached: 503.
    Unavailable(String),
}

impl From<Denied> for IcebergError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Unauthenticated(m) => IcebergError::unauthorized(m),
            Denied::Forbidden(m) => IcebergError::forbidden(m),
            Denied::RateLimited(wait) => {
                let mut e = IcebergError::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequestsException",
                    "rate limit exceeded; retry after the Retry-After seconds",
                );
                e.retry_after_secs = Some(wait.as_secs_f64().ceil() as u64);
                e
            }
            Denied::Unavailable(m) => IcebergError::unavailable(m),
        }
    }
}

/// Decides whether the request (its headers: `Authorization`, …) may `verb` the `target`.
#[async_trait]
pub trait Authorizer: Send + Sync + 'static {
    /// `Ok` lets the operation run.
    async fn authorize(
        &self,
        headers: &HeaderMap,
        target: Target<'_>,
        verb: Verb,
    ) -> Result<(), Denied>;
}
