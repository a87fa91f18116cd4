//! The Admin GraphQL client: one POST per request, under the cost throttle, retried on 5xx and
//! network errors with exponential backoff; other errors are returned at once.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER, USER_AGENT};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use crate::config::{RetryPolicy, Secret, ShopifyConfig};
use crate::error::{GraphQlError, ShopifyError};
use crate::throttle::{CostBucket, QueryCost, ThrottleStatus};

/// The header carrying the Admin API access token.
pub const ACCESS_TOKEN_HEADER: &str = "X-Shopify-Access-Token";

/// The cost assumed for a query Shopify has not priced yet (a mutation costs 10).
const DEFAULT_COST_ESTIMATE: f64 = 10.0;

/// How many queries' requested costs are remembered.
const MAX_ESTIMATES: usize = 1024;

const BODY_EXCERPT: usize = 300;

/// A successful GraphQL answer: `data`, decoded, and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphQlResponse<T> {
    /// `data`.
    pub data: T,
    /// `extensions.cost`, if Shopify sent it.
    pub cost: Option<QueryCost>,
}

/// A client of one shop's Admin GraphQL API. Cheap to clone (the throttle is shared by the
/// clones, as Shopify's bucket is shared by all requests of the app on the shop).
#[derive(Clone)]
pub struct AdminClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: Url,
    token: Secret,
    request_timeout: Duration,
    retry: RetryPolicy,
    throttle: Mutex<ThrottleState>,
    jitter: AtomicU64,
}

struct ThrottleState {
    bucket: CostBucket,
    estimates: HashMap<u64, f64>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("token", &self.inner.token)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawResponse {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<RawExtensions>,
}

#[derive(Deserialize)]
struct RawExtensions {
    #[serde(default)]
    cost: Option<QueryCost>,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(GraphQlResponse<T>),
    /// 5xx or a network error: back off and retry.
    Failed(ShopifyError),
    /// Throttled: wait for points and retry.
    Throttled {
        wait: Option<Duration>,
        requested: f64,
    },
}

impl AdminClient {
    /// A client for `config` (validated here; nothing is sent yet).
    pub fn new(config: ShopifyConfig) -> Result<Self, ShopifyError> {
        config.validate()?;
        let endpoint = config.graphql_endpoint()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(config.download_read_timeout)
            .build()
            .map_err(|e| ShopifyError::UnexpectedResponse {
                context: "building the HTTP client".to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                token: config.access_token,
                request_timeout: config.request_timeout,
                retry: config.retry,
                throttle: Mutex::new(ThrottleState {
                    bucket: CostBucket::new(
                        CostBucket::STANDARD_MAXIMUM,
                        CostBucket::STANDARD_RESTORE_RATE,
                        Instant::now(),
                    ),
                    estimates: HashMap::new(),
                }),
                jitter: AtomicU64::new(seed()),
            }),
        })
    }

    /// The GraphQL endpoint this client posts to.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The cost bucket as the client models it now.
    pub fn throttle_status(&self) -> ThrottleStatus {
        self.throttle().bucket.status(Instant::now())
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    fn throttle(&self) -> MutexGuard<'_, ThrottleState> {
        // A panic while holding the lock leaves plain numbers behind: still usable.
        self.inner
            .throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a GraphQL request and decodes `data` as `T`.
    ///
    /// Waits first until the cost bucket (as Shopify last reported it) holds the query's cost;
    /// retries `THROTTLED` answers after the wait they need, and 5xx answers and network errors
    /// with exponential backoff, as [`RetryPolicy`] allows. Errors in the answer (other than
    /// throttling), 4xx answers, and an answer that does not decode are returned at once.
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<GraphQlResponse<T>, ShopifyError> {
        let body = json!({ "query": query, "variables": variables });
        let key = {
            let mut h = DefaultHasher::new();
            query.hash(&mut h);
            h.finish()
        };
        let policy = &self.inner.retry;
        let mut failures = 0u32;
        let mut throttled = 0u32;
        loop {
            let estimate = self.wait_for_points(key).await;
            match self.attempt::<T>(&body, key, estimate).await {
                Attempt::Done(response) => return Ok(response),
                Attempt::Failed(error) => {
                    failures += 1;
                    if !error.is_transient() {
                        return Err(error);
                    }
                    // Shopify did not count a request it failed: give the points back.
                    self.throttle().bucket.refund(estimate, Instant::now());
                    if failures > policy.max_retries {
                        return Err(finalize(error, failures));
                    }
                    let delay = self.backoff(failures);
                    tracing::warn!(attempt = failures, ?delay, error = %error, "Shopify request failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Attempt::Throttled { wait, requested } => {
                    throttled += 1;
                    let maximum = self.throttle().bucket.maximum();
                    if throttled > policy.max_throttled {
                        return Err(ShopifyError::Throttled {
                            attempts: throttled,
                            requested,
                            maximum,
                        });
                    }
                    tracing::info!(
                        attempt = throttled,
                        requested,
                        ?wait,
                        "Shopify throttled the request; waiting for the bucket"
                    );
                    if let Some(wait) = wait {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }

    /// Waits until the bucket holds the query's estimated cost and takes it; returns the
    /// estimate.
    async fn wait_for_points(&self, key: u64) -> f64 {
        let (estimate, delay) = {
            let mut state = self.throttle();
            let estimate = state
                .estimates
                .get(&key)
                .copied()
                .unwrap_or(DEFAULT_COST_ESTIMATE);
            let now = Instant::now();
            let delay = state.bucket.delay_for(estimate, now);
            state.bucket.take(estimate, now + delay);
            (estimate, delay)
        };
        if !delay.is_zero() {
            tracing::debug!(?delay, estimate, "waiting for query-cost points");
            tokio::time::sleep(delay).await;
        }
        estimate
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        body: &Value,
        key: u64,
        estimate: f64,
    ) -> Attempt<T> {
        let endpoint = &self.inner.endpoint;
        let sent = self
            .inner
            .http
            .post(endpoint.clone())
            .timeout(self.inner.request_timeout)
            .header(ACCESS_TOKEN_HEADER, self.inner.token.expose())
            .header(ACCEPT, "application/json")
            .header(
                USER_AGENT,
                concat!("strata-shopify/", env!("CARGO_PKG_VERSION")),
            )
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(source) => return Attempt::Failed(network(endpoint, source)),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
            self.throttle().bucket.refund(estimate, Instant::now());
            return Attempt::Throttled {
                wait: Some(wait),
                requested: estimate,
            };
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(source) => return Attempt::Failed(network(endpoint, source)),
        };
        if status.is_server_error() {
            return Attempt::Failed(ShopifyError::Server {
                status: status.as_u16(),
                attempts: 1,
                body: excerpt(&bytes),
            });
        }
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Attempt::Failed(ShopifyError::Unauthorized {
                    status: status.as_u16(),
                    endpoint: endpoint.to_string(),
                });
            }
            StatusCode::NOT_FOUND => {
                return Attempt::Failed(ShopifyError::NotFound {
                    endpoint: endpoint.to_string(),
                });
            }
            s if !s.is_success() => {
                return Attempt::Failed(ShopifyError::Http {
                    status: s.as_u16(),
                    body: excerpt(&bytes),
                });
            }
            _ => {}
        }
        let raw: RawResponse = match serde_json::from_slice(&bytes) {
            Ok(raw) => raw,
            Err(e) => {
                return Attempt::Failed(ShopifyError::UnexpectedResponse {
                    context: "a GraphQL request".to_owned(),
                    reason: format!("not a GraphQL JSON answer ({e}): {}", excerpt(&bytes)),
                });
            }
        };
        let cost = raw.extensions.and_then(|e| e.cost);
        self.observe(key, cost.as_ref());
        let errors = parse_errors(raw.errors);
        if errors.iter().any(is_throttled) {
            let requested = cost
                .and_then(|c| c.requested_query_cost)
                .unwrap_or(estimate);
            if cost.and_then(|c| c.throttle_status).is_none() {
                // Throttled without a status: assume an empty bucket.
                self.throttle().bucket.set_available(0.0, Instant::now());
            }
            return Attempt::Throttled {
                wait: None,
                requested,
            };
        }
        if !errors.is_empty() {
            return Attempt::Failed(ShopifyError::GraphQl { errors });
        }
        let Some(data) = raw.data else {
            return Attempt::Failed(ShopifyError::UnexpectedResponse {
                context: "a GraphQL request".to_owned(),
                reason: "neither data nor errors".to_owned(),
            });
        };
        match serde_json::from_value(data) {
            Ok(data) => Attempt::Done(GraphQlResponse { data, cost }),
            Err(e) => Attempt::Failed(ShopifyError::UnexpectedResponse {
                context: "a GraphQL request".to_owned(),
                reason: format!("data does not decode: {e}"),
            }),
        }
    }

    /// Takes Shopify's report as the bucket's state, and remembers the query's requested cost.
    fn observe(&self, key: u64, cost: Option<&QueryCost>) {
        let Some(cost) = cost else { return };
        let mut state = self.throttle();
        if let Some(status) = &cost.throttle_status {
            state.bucket.observe(status, Instant::now());
        }
        if let Some(requested) = cost.requested_query_cost {
            if state.estimates.len() >= MAX_ESTIMATES {
                state.estimates.clear();
            }
            state.estimates.insert(key, requested);
        }
    }

    /// The backoff before retry number `attempt` (from 1): `base × 2^(attempt-1)`, at most
    /// `max_delay`, times a jitter in [0.5, 1].
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let policy = &self.inner.retry;
        let exp = policy
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(policy.max_delay);
        // xorshift64: spreads clients that failed together.
        let mut x = self.inner.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.inner.jitter.store(x, Ordering::Relaxed);
        let factor = 0.5 + (x % 1000) as f64 / 2000.0;
        capped.mul_f64(factor)
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    nanos | 1
}

fn network(endpoint: &Url, source: reqwest::Error) -> ShopifyError {
    if source.is_builder() {
        return ShopifyError::Request {
            endpoint: endpoint.to_string(),
            source,
        };
    }
    ShopifyError::Network {
        endpoint: endpoint.to_string(),
        attempts: 1,
        source,
    }
}

/// Records the number of attempts in the error returned after the last one.
fn finalize(error: ShopifyError, attempts: u32) -> ShopifyError {
    match error {
        ShopifyError::Server { status, body, .. } => ShopifyError::Server {
            status,
            attempts,
            body,
        },
        ShopifyError::Network {
            endpoint, source, ..
        } => ShopifyError::Network {
            endpoint,
            attempts,
            source,
        },
        other => other,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(300.0)))
}

/// `errors` is a list of objects, or (401s, some 4xx) a plain string.
fn parse_errors(errors: Option<Value>) -> Vec<GraphQlError> {
    match errors {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| {
                serde_json::from_value(item.clone()).unwrap_or_else(|_| GraphQlError {
                    message: item.to_string(),
                    extensions: None,
                    path: None,
                })
            })
            .collect(),
        Some(Value::String(message)) => vec![GraphQlError {
            message,
            extensions: None,
            path: None,
        }],
        Some(other) => vec![GraphQlError {
            message: other.to_string(),
            extensions: None,
            path: None,
        }],
    }
}

fn is_throttled(error: &GraphQlError) -> bool {
    error.code() == Some("THROTTLED") || error.message.eq_ignore_ascii_case("throttled")
}

pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_EXCERPT * 4)]);
    text.chars().take(BODY_EXCERPT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let mut config = ShopifyConfig::new("shop", "t");
        config.retry.base_delay = Duration::from_millis(100);
        config.retry.max_delay = Duration::from_millis(1000);
        let client = AdminClient::new(config).unwrap();
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (30, 1000),
        ] {
            let d = client.backoff(attempt);
            let full = Duration::from_millis(full);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn errors_as_a_string_or_a_list() {
        let list = parse_errors(Some(
            json!([{"message":"Throttled","extensions":{"code":"THROTTLED"}}]),
        ));
        assert!(is_throttled(&list[0]));
        let text = parse_errors(Some(json!("[API] Invalid API key or access token")));
        assert_eq!(text[0].message, "[API] Invalid API key or access token");
        assert!(parse_errors(Some(Value::Null)).is_empty());
    }

    #[test]
    fn debug_hides_the_token() {
        let client = AdminClient::new(ShopifyConfig::new("shop", "shpat_topsecret")).unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("topsecret"), "{printed}");
    }
}
