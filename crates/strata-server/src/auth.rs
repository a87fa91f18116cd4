//! Authentication (API keys, optional SSO assertion), scopes per module and verb, a rate limit
//! per caller, and the audit record of every write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use strata_domain::audit::{AuditAction, AuditContext, AuditRecord, record};
pub use strata_domain::identity::Verb;
use strata_domain::identity::{AuthError, Caller};

use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// A token bucket per caller: `rate` requests per second, bursts of `burst`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate_per_second: f64, burst: f64) -> Self {
        Self {
            rate: rate_per_second,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token; `Err(wait)` means the caller is over its rate and the next token comes
    /// after `wait`.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs() < 60);
        }
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

/// The caller behind the request's bearer key or JWT assertion header (no scope check).
pub(crate) async fn verify_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Caller, AuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let assertion = state
        .verifier
        .assertion_header()
        .and_then(|h| headers.get(h))
        .and_then(|v| v.to_str().ok());
    state
        .verifier
        .verify_request(&state.db, authorization, assertion)
        .await
}

/// Authenticate the request and check the caller may `verb` the module owning `table`.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    verb: Verb,
) -> ApiResult<Caller> {
    let module = state.module_of(table).unwrap_or_default().to_string();
    authorize_module(state, headers, &module, verb).await
}

/// Authenticate the request and check the caller may `verb` the schema module `module`.
pub async fn authorize_module(
    state: &AppState,
    headers: &HeaderMap,
    module: &str,
    verb: Verb,
) -> ApiResult<Caller> {
    let caller = authenticate(state, headers).await?;
    caller
        .require(module, verb)
        .map_err(|_| Problem::new(StatusCode::FORBIDDEN, "this key's scopes do not allow that"))?;
    Ok(caller)
}

/// Authenticate the request (401 without valid credentials) and take a token of the caller's
/// rate limit (429); scopes are the caller's to check.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Caller> {
    let caller = verify_caller(state, headers).await.map_err(|e| match e {
        AuthError::Unavailable(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable; retry shortly",
        ),
        _ => Problem::new(
            StatusCode::UNAUTHORIZED,
            "missing or invalid credentials: send `Authorization: Bearer <api key>`",
        ),
    })?;
    if let Err(wait) = state.limiter.check(&caller.principal_uid) {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded; slow down and retry after the Retry-After seconds",
        )
        .retry_after(wait));
    }
    Ok(caller)
}

/// Who writes and through which request, for the audit row a domain command writes in its own
/// transaction: the caller, `x-request-id` and `User-Agent`.
pub fn audit_context(caller: &Caller, headers: &HeaderMap) -> AuditContext {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    AuditContext {
        request_id: header("x-request-id"),
        user_agent: header(header::USER_AGENT.as_str()),
        ..AuditContext::by(caller)
    }
}

/// Record a write in `audit_event`, inside the write's own transaction.
pub async fn audit<C: tokio_postgres::GenericClient>(
    client: &C,
    caller: &Caller,
    headers: &HeaderMap,
    action: AuditAction,
    table: &str,
    uid: &str,
    change: Value,
) -> ApiResult<()> {
    let mut rec = AuditRecord::by(caller, action, table, uid);
    rec.request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    rec.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    rec.change = change;
    record(client, rec).await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, "audit record failed");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the write could not be audited and was not applied; retry",
        )
    })
}
