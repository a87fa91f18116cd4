//! Identity and authorization: API keys of principals (only hashes stored), scopes, and request
//! verification with a short-lived in-memory cache. See docs/api.md, "Authentication".
//!
//! - [`Scope`] / [`Scopes`]: `<module>:read|write`, `*:read|write`, `*`; write implies read.
//! - [`create_key`], [`list_keys`], [`revoke_key`]: the `api_key` lifecycle, audited.
//! - [`Verifier`]: `Authorization: Bearer sk_…` (and optionally an SSO proxy's JWT) → [`Caller`].

mod jwt;
mod keys;
mod scope;
mod verify;

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;

pub use jwt::{CLOUDFLARE_ACCESS_HEADER, JwtConfig, JwtConfigError, JwtKey};
pub use keys::{
    ApiKeyInfo, KEY_PREFIX_LEN, KeyPhase, Revocation, SECRET_BODY_LEN, SECRET_TAG, create_key,
    create_key_by, find_key, hash_secret, list_keys, revoke_key, revoke_key_by, split_secret,
};
pub use scope::{Scope, ScopeError, Scopes, Verb, module_names};
pub use verify::{AuthError, Caller, Verifier, VerifierConfig};

use crate::audit::AuditError;
use crate::db::pg_reason;

/// Why an API key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no API key has uid or prefix {0:?} (`strata apikey list` shows them)")]
    NotFound(String),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("invalid API key name: {0}")]
    InvalidName(String),
    #[error("the expiry {0} is in the past")]
    ExpiryInPast(DateTime<Utc>),
    #[error("could not draw an unused key prefix; try again")]
    PrefixCollision,
    #[error(
        "the identity tables are missing from this database ({0}); run `strata schema apply` first"
    )]
    NotInstalled(String),
    #[error("database: {0}")]
    Postgres(String),
    #[error("unexpected data in api_key: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl From<tokio_postgres::Error> for IdentityError {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&SqlState::UNDEFINED_TABLE) {
            IdentityError::NotInstalled(pg_reason(&e))
        } else {
            IdentityError::Postgres(pg_reason(&e))
        }
    }
}
