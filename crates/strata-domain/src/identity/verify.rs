//! Authenticating requests: `Authorization: Bearer sk_…` API keys, and optionally an SSO proxy's
//! signed assertion (see [`JwtConfig`]).
//!
//! Keys are looked up by prefix and their rows cached in memory for a short TTL, so a hot
//! endpoint does not query PostgreSQL per request while a revocation still takes effect within
//! the TTL. Unknown prefixes are cached for the same TTL. `last_used_ts` is written at most once
//! per interval per key, by a spawned task that the request never waits for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::jwt::JwtConfig;
use super::keys::{KeyPhase, split_secret};
use super::{Scopes, Verb};
use crate::Database;
use crate::db::pg_reason;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal that acts (audit actor).
    pub principal_uid: String,
    /// The API key used; `None` for SSO assertions.
    pub key_uid: Option<String>,
    pub scopes: Scopes,
    /// For SSO assertions: the user behind the proxy (email, else subject). `None` for keys.
    pub subject: Option<String>,
}

impl Caller {
    /// `Ok` when the caller's scopes grant `verb` on `module`, else [`AuthError::Forbidden`].
    pub fn require(&self, module: &str, verb: Verb) -> Result<(), AuthError> {
        if self.scopes.allows(module, verb) {
            Ok(())
        } else {
            Err(AuthError::Forbidden {
                module: module.to_string(),
                verb,
            })
        }
    }
}

/// Why a request is not let through. `Missing` and `Invalid` are both HTTP 401 and say nothing
/// about which keys exist; `Forbidden` is 403; `Unavailable` (PostgreSQL down) is 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send Authorization: Bearer <api key>")]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("forbidden: this credential lacks the scope {module}:{verb}")]
    Forbidden { module: String, verb: Verb },
    #[error("cannot check credentials right now: {0}")]
    Unavailable(String),
}

impl AuthError {
    /// The HTTP status this error maps to.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::Missing | AuthError::Invalid => 401,
            AuthError::Forbidden { .. } => 403,
            AuthError::Unavailable(_) => 503,
        }
    }
}

/// How a [`Verifier`] caches and what else it accepts.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// How long a looked-up key (or an unknown prefix) is trusted before PostgreSQL is asked
    /// again; also the longest a revocation takes to apply. Zero disables the cache.
    pub cache_ttl: Duration,
    /// Least time between two `last_used_ts` writes for one key.
    pub last_used_interval: Duration,
    /// Bound on cached prefixes (unknown prefixes are cached too, so this caps memory).
    pub max_cached: usize,
    /// Accept an SSO proxy's signed assertion (e.g. Cloudflare Access) as well.
    pub jwt: Option<JwtConfig>,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(5),
            last_used_interval: Duration::from_secs(60),
            max_cached: 10_000,
            jwt: None,
        }
    }
}

/// A key row as verification needs it.
#[derive(Debug, Clone)]
struct KeyRecord {
    uid: String,
    principal_uid: String,
    hash: [u8; 32],
    scopes: Scopes,
    phase: KeyPhase,
    expires_ts: Option<DateTime<Utc>>,
    principal_active: bool,
}

#[derive(Debug, Clone)]
struct Cached {
    fetched: Instant,
    /// `None`: no key has this prefix.
    record: Option<KeyRecord>,
}

/// Checks credentials. Share one per process (it holds the cache).
#[derive(Debug)]
pub struct Verifier {
    config: VerifierConfig,
    cache: Mutex<HashMap<String, Cached>>,
    touched: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new(VerifierConfig::default())
    }
}

impl Verifier {
    pub fn new(config: VerifierConfig) -> Self {
        Self {
            config,
            cache: Mutex::new(HashMap::new()),
            touched: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// The header carrying SSO assertions, when they are accepted.
    pub fn assertion_header(&self) -> Option<&str> {
        self.config.jwt.as_ref().map(JwtConfig::header)
    }

    /// Forget every cached key (e.g. right after revoking one in this process).
    pub fn clear_cache(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    /// Authenticate an `Authorization` header value (`Bearer sk_…`).
    pub async fn verify(
        &self,
        db: &Database,
        authorization_header: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let Some(header) = authorization_header
            .map(str::trim)
            .filter(|h| !h.is_empty())
        else {
            return Err(AuthError::Missing);
        };
        let secret = bearer_token(header).ok_or(AuthError::Invalid)?;
        let (prefix, _) = split_secret(secret).ok_or(AuthError::Invalid)?;
        let record = self.lookup(db, prefix).await?.ok_or(AuthError::Invalid)?;

        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if !bool::from(presented.ct_eq(&record.hash)) {
            return Err(AuthError::Invalid);
        }
        if record.phase.effective(record.expires_ts, Utc::now()) != KeyPhase::Active
            || !record.principal_active
        {
            return Err(AuthError::Invalid);
        }
        self.touch(db, &record.uid);
        Ok(Caller {
            principal_uid: record.principal_uid,
            key_uid: Some(record.uid),
            scopes: record.scopes,
            subject: None,
        })
    }

    /// Authenticate an SSO proxy's assertion (the value of [`Verifier::assertion_header`]).
    /// [`AuthError::Invalid`] when assertions are not configured.
    pub fn verify_assertion(&self, assertion: Option<&str>) -> Result<Caller, AuthError> {
        let Some(token) = assertion.map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(AuthError::Missing);
        };
        match &self.config.jwt {
            Some(jwt) => jwt.verify(token),
            None => Err(AuthError::Invalid),
        }
    }

    /// Authenticate a request: an `Authorization` header wins; without one, an SSO assertion is
    /// tried when configured; with neither, [`AuthError::Missing`].
    pub async fn verify_request(
        &self,
        db: &Database,
        authorization_header: Option<&str>,
        assertion: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let has = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
        if has(authorization_header) || self.config.jwt.is_none() || !has(assertion) {
            self.verify(db, authorization_header).await
        } else {
            self.verify_assertion(assertion)
        }
    }

    /// The key with this prefix, from the cache while fresh, else from PostgreSQL.
    async fn lookup(&self, db: &Database, prefix: &str) -> Result<Option<KeyRecord>, AuthError> {
        let ttl = self.config.cache_ttl;
        if !ttl.is_zero()
            && let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(prefix)
            && hit.fetched.elapsed() < ttl
        {
            return Ok(hit.record.clone());
        }
        let fetched = Instant::now();
        let record = fetch(db, prefix).await?;
        if !ttl.is_zero()
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= self.config.max_cached {
                cache.retain(|_, c| c.fetched.elapsed() < ttl);
                if cache.len() >= self.config.max_cached {
                    cache.clear();
                }
            }
            cache.insert(
                prefix.to_string(),
                Cached {
                    fetched,
                    record: record.clone(),
                },
            );
        }
        Ok(record)
    }

    /// Record use of the key in the background, at most once per interval.
    fn touch(&self, db: &Database, key_uid: &str) {
        let interval = self.config.last_used_interval;
        {
            let Ok(mut touched) = self.touched.lock() else {
                return;
            };
            if touched.get(key_uid).is_some_and(|t| t.elapsed() < interval) {
                return;
            }
            if touched.len() >= self.config.max_cached {
                touched.retain(|_, t| t.elapsed() < interval);
            }
            touched.insert(key_uid.to_string(), Instant::now());
        }
        let pool = db.pool().clone();
        let touched = Arc::clone(&self.touched);
        let key_uid = key_uid.to_string();
        tokio::spawn(async move {
            let result = async {
                let client = pool.get().await.map_err(|e| e.to_string())?;
                client
                    .execute(
                        "WITH k AS (UPDATE api_key SET last_used_ts = now() WHERE uid = $1 \
                         RETURNING principal_uid) \
                         UPDATE principal SET last_seen_ts = now() \
                         WHERE uid IN (SELECT principal_uid FROM k)",
                        &[&key_uid],
                    )
                    .await
                    .map_err(|e| pg_reason(&e))
            }
            .await;
            if let Err(reason) = result {
                tracing::debug!(key_uid, reason, "could not record API key use");
                // Let the next request try again.
                if let Ok(mut touched) = touched.lock() {
                    touched.remove(&key_uid);
                }
            }
        });
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

async fn fetch(db: &Database, prefix: &str) -> Result<Option<KeyRecord>, AuthError> {
    let client = db
        .client()
        .await
        .map_err(|e| AuthError::Unavailable(e.to_string()))?;
    let row = client
        .query_opt(
            "SELECT k.uid, k.principal_uid, k.key_hash, k.scopes, k.status ->> 'phase', \
                    k.expires_ts, p.status ->> 'phase' = 'active' \
               FROM api_key k JOIN principal p ON p.uid = k.principal_uid \
              WHERE k.key_prefix = $1",
            &[&prefix],
        )
        .await
        .map_err(|e| AuthError::Unavailable(pg_reason(&e)))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let corrupt = |what: &str| {
        tracing::warn!(prefix, what, "unusable api_key row");
        AuthError::Invalid
    };
    let get_err = |e: tokio_postgres::Error| AuthError::Unavailable(pg_reason(&e));
    let hash_hex: String = row.try_get(2).map_err(get_err)?;
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&hash_hex, &mut hash).map_err(|_| corrupt("key_hash"))?;
    let scopes: Value = row.try_get(3).map_err(get_err)?;
    let scopes: Vec<String> = scopes
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let phase: Option<String> = row.try_get(4).map_err(get_err)?;
    let phase = phase
        .as_deref()
        .and_then(KeyPhase::from_db)
        .ok_or_else(|| corrupt("status"))?;
    let principal_active: Option<bool> = row.try_get(6).map_err(get_err)?;
    Ok(Some(KeyRecord {
        uid: row.try_get(0).map_err(get_err)?,
        principal_uid: row.try_get(1).map_err(get_err)?,
        hash,
        scopes: Scopes::from_stored(&scopes),
        phase,
        expires_ts: row.try_get(5).map_err(get_err)?,
        principal_active: principal_active.unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Scope;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer sk_x_y"), Some("sk_x_y"));
        assert_eq!(bearer_token("bearer   sk_x_y "), Some("sk_x_y"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn require_maps_to_forbidden() {
        let caller = Caller {
            principal_uid: "prn_x".into(),
            key_uid: None,
            scopes: Scopes::new([Scope::parse("order:read").unwrap()]),
            subject: None,
        };
        assert!(caller.require("order", Verb::Read).is_ok());
        let err = caller.require("order", Verb::Write).unwrap_err();
        assert_eq!(err.http_status(), 403);
        assert!(err.to_string().contains("order:write"), "{err}");
        assert_eq!(AuthError::Missing.http_status(), 401);
        assert_eq!(AuthError::Invalid.http_status(), 401);
    }
}
