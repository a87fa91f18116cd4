//! The stand-in's HTTP side: the GraphQL endpoint (recognizing the operations by name), the
//! bulk result downloads, the cost bucket, the bulk operations' lifecycle, the faults.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use url::Url;

use super::store::{Cursor, Export, ExportSize, Filter, Root, Store};
use super::{StandInStats, Truncation};
use crate::bulk::BulkOperationStatus;
use crate::client::ACCESS_TOKEN_HEADER;
use crate::config::Secret;
use crate::throttle::CostBucket;
use crate::webhook;

/// Bytes per chunk of a download.
const CHUNK: usize = 256 * 1024;

/// What every request shares.
pub(crate) struct Shared {
    pub(crate) token: String,
    pub(crate) webhook_secret: Secret,
    pub(crate) api_version: String,
    pub(crate) base_url: Url,
    pub(crate) store: Mutex<Store>,
    pub(crate) ops: Mutex<Ops>,
    pub(crate) bucket: Mutex<CostBucket>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) counters: Counters,
    pub(crate) webhook_url: Mutex<Option<Url>>,
    pub(crate) bulk_duration: Mutex<Duration>,
    pub(crate) http: reqwest::Client,
}

/// Locks, shrugging off poisoning (a panicking test thread must not wedge the server).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) graphql: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) injected_failures: AtomicU64,
    pub(crate) delayed: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
    pub(crate) bulk_operations: AtomicU64,
    pub(crate) downloads: AtomicU64,
    pub(crate) download_bytes: AtomicU64,
    pub(crate) webhooks_sent: AtomicU64,
    pub(crate) webhooks_failed: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> StandInStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StandInStats {
            requests: get(&self.requests),
            graphql_requests: get(&self.graphql),
            throttled: get(&self.throttled),
            injected_failures: get(&self.injected_failures),
            delayed: get(&self.delayed),
            unauthorized: get(&self.unauthorized),
            bulk_operations: get(&self.bulk_operations),
            downloads: get(&self.downloads),
            download_bytes: get(&self.download_bytes),
            webhooks_sent: get(&self.webhooks_sent),
            webhooks_failed: get(&self.webhooks_failed),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Faults armed by the test, each used up as it fires.
#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) fail_next: u32,
    pub(crate) fail_status: u16,
    pub(crate) delay_next: u32,
    pub(crate) delay: Duration,
    pub(crate) fail_next_bulk: Option<String>,
    pub(crate) corrupt_next_bulk: BTreeSet<u64>,
    pub(crate) truncate_next_download: Option<Truncation>,
    pub(crate) fail_next_downloads: u32,
}

pub(crate) struct Op {
    id: u64,
    status: BulkOperationStatus,
    error_code: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    size: ExportSize,
    query: String,
    signature: String,
    export: Arc<Export>,
}

#[derive(Default)]
pub(crate) struct Ops {
    next_id: u64,
    ops: BTreeMap<u64, Op>,
}

impl Op {
    fn to_json(&self, base: &Url) -> Value {
        let completed = self.status == BulkOperationStatus::Completed;
        let url = (completed && self.size.objects > 0).then(|| {
            let mut url = base.clone();
            url.set_path(&format!("/stand-in/bulk/{}.jsonl", self.id));
            url.set_query(Some(&format!("signature={}", self.signature)));
            url.to_string()
        });
        json!({
            "id": format!("gid://shopify/BulkOperation/{}", self.id),
            "status": self.status.as_str(),
            "errorCode": self.error_code,
            "createdAt": self.created_at,
            "completedAt": self.completed_at,
            "objectCount": self.size.objects.to_string(),
            "rootObjectCount": self.size.roots.to_string(),
            "fileSize": url.as_ref().map(|_| self.size.bytes.to_string()),
            "url": url,
            "partialDataUrl": Value::Null,
            "type": "QUERY",
            "query": self.query,
        })
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .route("/stand-in/bulk/{file}", get(download))
        .with_state(shared)
}

fn graphql_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errors": [{ "message": message }] })),
    )
        .into_response()
}

async fn graphql(
    State(shared): State<Arc<Shared>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bump(&shared.counters.requests);
    bump(&shared.counters.graphql);
    let token = headers
        .get(ACCESS_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    if token != Some(shared.token.as_str()) {
        bump(&shared.counters.unauthorized);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
            })),
        )
            .into_response();
    }
    let (delay, fail) = {
        let mut faults = lock(&shared.faults);
        let delay = (faults.delay_next > 0).then(|| {
            faults.delay_next -= 1;
            faults.delay
        });
        let fail = (faults.fail_next > 0).then(|| {
            faults.fail_next -= 1;
            faults.fail_status
        });
        (delay, fail)
    };
    if let Some(delay) = delay {
        bump(&shared.counters.delayed);
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = fail {
        bump(&shared.counters.injected_failures);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, "stand-in: injected failure").into_response();
    }
    if version != shared.api_version {
        tracing::debug!(%version, expected = %shared.api_version, "stand-in called with another API version");
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return graphql_error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}"));
        }
    };
    let query = request.get("query").and_then(Value::as_str).unwrap_or("");
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let operation = Operation::recognize(query);
    let cost = operation.cost();
    let now = Instant::now();
    let admitted = lock(&shared.bucket).try_take(cost, now);
    let status = lock(&shared.bucket).status(now);
    if admitted.is_err() {
        bump(&shared.counters.throttled);
        return axum::Json(json!({
            "errors": [{
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits"
                }
            }],
            "extensions": { "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": Value::Null,
                "throttleStatus": status,
            }}
        }))
        .into_response();
    }
    let data = match operation {
        Operation::RunBulk => run_bulk(&shared, query, &variables),
        Operation::CancelBulk => cancel_bulk(&shared, query, &variables),
        Operation::Node => node(&shared, query, &variables),
        Operation::Current => current(&shared),
        Operation::Shop => Ok(json!({ "shop": {
            "name": "Strata stand-in",
            "myshopifyDomain": "strata-stand-in.myshopify.com",
        }})),
        Operation::Unknown => Err(
            "stand-in: unsupported operation (it serves bulkOperationRunQuery, bulkOperationCancel, node(id:) on a BulkOperation, currentBulkOperation and shop)"
                .to_owned(),
        ),
    };
    let extensions = json!({ "cost": {
        "requestedQueryCost": cost,
        "actualQueryCost": cost,
        "throttleStatus": status,
    }});
    match data {
        Ok(data) => axum::Json(json!({ "data": data, "extensions": extensions })).into_response(),
        Err(message) => axum::Json(json!({
            "errors": [{ "message": message }],
            "extensions": extensions,
        }))
        .into_response(),
    }
}

/// The operations the stand-in recognizes, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    RunBulk,
    CancelBulk,
    Node,
    Current,
    Shop,
    Unknown,
}

impl Operation {
    fn recognize(query: &str) -> Self {
        if query.contains("bulkOperationRunQuery") {
            Self::RunBulk
        } else if query.contains("bulkOperationCancel") {
            Self::CancelBulk
        } else if query.contains("currentBulkOperation") {
            Self::Current
        } else if query.contains("node(") || query.contains("bulkOperation(") {
            Self::Node
        } else if query.contains("shop") {
            Self::Shop
        } else {
            Self::Unknown
        }
    }

    /// Shopify's prices: a mutation 10 points, an object query 1.
    fn cost(self) -> f64 {
        match self {
            Self::RunBulk | Self::CancelBulk => 10.0,
            _ => 1.0,
        }
    }
}

fn user_error(message: &str, code: &str) -> Value {
    json!({ "field": Value::Null, "message": message, "code": code })
}

fn run_bulk(shared: &Arc<Shared>, query: &str, variables: &Value) -> Result<Value, String> {
    let payload = |op: Value, errors: Vec<Value>| json!({ "bulkOperationRunQuery": { "bulkOperation": op, "userErrors": errors } });
    let Some(inner) = variables
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| inline_string_argument(query, "query"))
    else {
        return Ok(payload(
            Value::Null,
            vec![user_error("The query argument is missing.", "INVALID")],
        ));
    };
    let root = match root_connection(&inner).as_deref() {
        Some("orders") => Root::Orders,
        Some("products") => Root::Products,
        other => {
            return Ok(payload(
                Value::Null,
                vec![user_error(
                    &format!(
                        "stand-in: bulk queries must start at the orders or products connection, not {other:?}"
                    ),
                    "INVALID",
                )],
            ));
        }
    };
    let filter = match parse_filter(&inner) {
        Ok(filter) => filter,
        Err(message) => return Ok(payload(Value::Null, vec![user_error(&message, "INVALID")])),
    };
    let mut ops = lock(&shared.ops);
    if let Some(running) = ops.ops.values().find(|op| !op.status.is_finished()) {
        let message = format!(
            "A bulk query operation for this app and shop is already in progress: gid://shopify/BulkOperation/{}.",
            running.id
        );
        return Ok(payload(
            Value::Null,
            vec![user_error(&message, "OPERATION_IN_PROGRESS")],
        ));
    }
    let (corrupt, fail) = {
        let mut faults = lock(&shared.faults);
        (
            std::mem::take(&mut faults.corrupt_next_bulk),
            faults.fail_next_bulk.take(),
        )
    };
    let export = Arc::new(Export {
        snapshot: lock(&shared.store).snapshot(),
        root,
        filter,
        corrupt,
    });
    ops.next_id += 1;
    let id = 4_100_000_000 + ops.next_id;
    let signature = {
        let mac = webhook::sign(&shared.webhook_secret, format!("bulk:{id}").as_bytes());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(mac)
            .unwrap_or_default();
        URL_SAFE_NO_PAD.encode(raw)
    };
    let op = Op {
        id,
        status: BulkOperationStatus::Created,
        error_code: None,
        created_at: Utc::now(),
        completed_at: None,
        size: ExportSize::default(),
        query: inner,
        signature,
        export: Arc::clone(&export),
    };
    let json = op.to_json(&shared.base_url);
    ops.ops.insert(id, op);
    drop(ops);
    bump(&shared.counters.bulk_operations);
    tracing::debug!(id, ?root, ?filter, "stand-in bulk operation created");
    tokio::spawn(run_operation(Arc::clone(shared), id, export, fail));
    Ok(payload(json, Vec::new()))
}

/// An operation's life: RUNNING while the result is measured and `bulk_duration` passes, then
/// COMPLETED (or FAILED when the test armed it), then the webhook.
async fn run_operation(shared: Arc<Shared>, id: u64, export: Arc<Export>, fail: Option<String>) {
    let set_status = |status: BulkOperationStatus| {
        if let Some(op) = lock(&shared.ops).ops.get_mut(&id)
            && !op.status.is_finished()
        {
            op.status = status;
        }
    };
    set_status(BulkOperationStatus::Running);
    let started = Instant::now();
    let size = tokio::task::spawn_blocking(move || export.measure())
        .await
        .unwrap_or_default();
    let duration = *lock(&shared.bulk_duration);
    if let Some(rest) = duration.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let finished = {
        let mut ops = lock(&shared.ops);
        let Some(op) = ops.ops.get_mut(&id) else {
            return;
        };
        if op.status.is_finished() {
            // Cancelled meanwhile.
            return;
        }
        match fail {
            Some(code) => {
                op.status = BulkOperationStatus::Failed;
                op.error_code = Some(code);
                op.size.objects = size.objects / 2;
                op.size.roots = size.roots / 2;
            }
            None => {
                op.status = BulkOperationStatus::Completed;
                op.completed_at = Some(Utc::now());
                op.size = size;
            }
        }
        (
            op.status.clone(),
            op.error_code.clone(),
            op.created_at,
            op.completed_at,
        )
    };
    tracing::debug!(id, status = %finished.0, bytes = size.bytes, "stand-in bulk operation finished");
    let target = lock(&shared.webhook_url).clone();
    if let Some(target) = target {
        send_finish_webhook(&shared, target, id, finished).await;
    }
}

async fn send_finish_webhook(
    shared: &Shared,
    target: Url,
    id: u64,
    (status, error_code, created_at, completed_at): (
        BulkOperationStatus,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    ),
) {
    let body = json!({
        "admin_graphql_api_id": format!("gid://shopify/BulkOperation/{id}"),
        "completed_at": completed_at,
        "created_at": created_at,
        "error_code": error_code.map(|c| c.to_ascii_lowercase()),
        "status": status.as_str().to_ascii_lowercase(),
        "type": "query",
    })
    .to_string();
    let signature = webhook::sign(&shared.webhook_secret, body.as_bytes());
    let sent = shared
        .http
        .post(target)
        .header(header::CONTENT_TYPE, "application/json")
        .header(webhook::TOPIC_HEADER, "bulk_operations/finish")
        .header(webhook::HMAC_HEADER, signature)
        .header(webhook::SHOP_DOMAIN_HEADER, "strata-stand-in.myshopify.com")
        .header(webhook::API_VERSION_HEADER, &shared.api_version)
        .header(webhook::WEBHOOK_ID_HEADER, format!("stand-in-bulk-{id}"))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => bump(&shared.counters.webhooks_sent),
        Ok(response) => {
            tracing::warn!(status = %response.status(), "stand-in webhook refused");
            bump(&shared.counters.webhooks_failed);
        }
        Err(e) => {
            tracing::warn!(error = %e, "stand-in webhook not delivered");
            bump(&shared.counters.webhooks_failed);
        }
    }
}

fn requested_id(query: &str, variables: &Value) -> Option<u64> {
    let gid = variables
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| inline_string_argument(query, "id"))?;
    let parsed = crate::Gid::parse(&gid).ok()?;
    parsed.is("BulkOperation").then(|| parsed.id())
}

fn node(shared: &Shared, query: &str, variables: &Value) -> Result<Value, String> {
    let field = if query.contains("node(") {
        "node"
    } else {
        "bulkOperation"
    };
    let op = requested_id(query, variables).and_then(|id| {
        lock(&shared.ops)
            .ops
            .get(&id)
            .map(|op| op.to_json(&shared.base_url))
    });
    Ok(json!({ field: op }))
}

fn current(shared: &Shared) -> Result<Value, String> {
    let op = lock(&shared.ops)
        .ops
        .values()
        .next_back()
        .map(|op| op.to_json(&shared.base_url));
    Ok(json!({ "currentBulkOperation": op }))
}

fn cancel_bulk(shared: &Shared, query: &str, variables: &Value) -> Result<Value, String> {
    let payload = |op: Value, errors: Vec<Value>| json!({ "bulkOperationCancel": { "bulkOperation": op, "userErrors": errors } });
    let mut ops = lock(&shared.ops);
    let Some(op) = requested_id(query, variables).and_then(|id| ops.ops.get_mut(&id)) else {
        return Ok(payload(
            Value::Null,
            vec![json!({ "field": ["id"], "message": "Bulk operation does not exist" })],
        ));
    };
    if op.status.is_finished() {
        let message = format!(
            "A bulk operation cannot be canceled when it is {}",
            op.status.as_str().to_ascii_lowercase()
        );
        return Ok(payload(
            op.to_json(&shared.base_url),
            vec![json!({ "field": Value::Null, "message": message })],
        ));
    }
    op.status = BulkOperationStatus::Canceled;
    Ok(payload(op.to_json(&shared.base_url), Vec::new()))
}

/// The value of `name: "…"` or `name: """…"""` in a GraphQL document.
fn inline_string_argument(document: &str, name: &str) -> Option<String> {
    let mut rest = document;
    loop {
        let at = rest.find(name)?;
        let after = rest[at + name.len()..].trim_start();
        rest = &rest[at + name.len()..];
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let after = after.trim_start();
        if let Some(block) = after.strip_prefix("\"\"\"") {
            return block.find("\"\"\"").map(|end| block[..end].to_owned());
        }
        if after.starts_with('"') {
            // A GraphQL string: JSON's escapes.
            let bytes = after.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return serde_json::from_str(&after[..=i]).ok(),
                    _ => i += 1,
                }
            }
            return None;
        }
    }
}

/// The first field of the query's selection: its root connection.
fn root_connection(query: &str) -> Option<String> {
    let open = query.find('{')?;
    let name: String = query[open + 1..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `updated_at:>='…'` / `updated_at:>…` in the root connection's `query:` argument.
pub(crate) fn parse_filter(query: &str) -> Result<Filter, String> {
    let Some(at) = query.find("updated_at:") else {
        return Ok(Filter::default());
    };
    let rest = &query[at + "updated_at:".len()..];
    let (inclusive, rest) = if let Some(r) = rest.strip_prefix(">=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (false, r)
    } else {
        return Err(format!(
            "stand-in: only updated_at:>= and updated_at:> are supported, got updated_at:{}",
            rest.chars().take(20).collect::<String>()
        ));
    };
    let value: String = rest
        .trim_start_matches(['\'', '"', '\\'])
        .chars()
        .take_while(|c| !matches!(c, '\'' | '"' | '\\' | ' ' | ')'))
        .collect();
    let since = DateTime::parse_from_rfc3339(&value)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(&value, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| format!("stand-in: cannot read the time in updated_at filter {value:?}"))?;
    Ok(Filter {
        updated_since: Some(since),
        inclusive,
    })
}

async fn download(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    bump(&shared.counters.requests);
    bump(&shared.counters.downloads);
    if headers.contains_key(ACCESS_TOKEN_HEADER) {
        // Result URLs are on a storage host: a client must not hand it the shop's token.
        return (
            StatusCode::BAD_REQUEST,
            "stand-in: the access token was sent to the result URL",
        )
            .into_response();
    }
    let Some(id) = file
        .strip_suffix(".jsonl")
        .and_then(|id| id.parse::<u64>().ok())
    else {
        return (StatusCode::NOT_FOUND, "no such object").into_response();
    };
    let found = lock(&shared.ops).ops.get(&id).map(|op| {
        (
            op.signature.clone(),
            op.status.clone(),
            op.size,
            Arc::clone(&op.export),
        )
    });
    let Some((signature, status, size, export)) = found else {
        return (StatusCode::NOT_FOUND, "no such object").into_response();
    };
    if params.get("signature") != Some(&signature) {
        return (StatusCode::FORBIDDEN, "stand-in: bad or missing signature").into_response();
    }
    if status != BulkOperationStatus::Completed {
        return (StatusCode::NOT_FOUND, "no result for this operation").into_response();
    }
    let truncation = {
        let mut faults = lock(&shared.faults);
        if faults.fail_next_downloads > 0 {
            faults.fail_next_downloads -= 1;
            drop(faults);
            bump(&shared.counters.injected_failures);
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "stand-in: injected failure",
            )
                .into_response();
        }
        faults.truncate_next_download.take()
    };
    let short = |keep: u64| keep.min(size.bytes.saturating_sub(1));
    let (announced, limit, abort) = match truncation {
        None => (Some(size.bytes), size.bytes, false),
        Some(Truncation::CutConnection { keep_bytes }) => {
            (Some(size.bytes), short(keep_bytes), true)
        }
        Some(Truncation::ShortBody { keep_bytes }) => {
            (Some(short(keep_bytes)), short(keep_bytes), false)
        }
        Some(Truncation::Unsized { keep_bytes }) => (None, short(keep_bytes), false),
    };
    let state = BodyState {
        export,
        cursor: Cursor::default(),
        sent: 0,
        limit,
        abort,
        more: true,
        shared: Arc::clone(&shared),
    };
    let stream = futures_util::stream::unfold(state, next_chunk);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    if let Some(announced) = announced {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    }
    response
}

struct BodyState {
    export: Arc<Export>,
    cursor: Cursor,
    sent: u64,
    limit: u64,
    abort: bool,
    more: bool,
    shared: Arc<Shared>,
}

async fn next_chunk(mut state: BodyState) -> Option<(io::Result<Bytes>, BodyState)> {
    if state.sent >= state.limit {
        if state.abort {
            state.abort = false;
            state.more = false;
            let error = io::Error::new(io::ErrorKind::ConnectionAborted, "stand-in: cut download");
            return Some((Err(error), state));
        }
        return None;
    }
    if !state.more {
        return None;
    }
    let mut buf = Vec::with_capacity(CHUNK + 16 * 1024);
    state.more = state.export.render(&mut state.cursor, &mut buf, CHUNK);
    let room = (state.limit - state.sent) as usize;
    buf.truncate(room);
    if buf.is_empty() {
        return None;
    }
    state.sent += buf.len() as u64;
    state
        .shared
        .counters
        .download_bytes
        .fetch_add(buf.len() as u64, Ordering::Relaxed);
    // Rendering is CPU work: let other tasks run between chunks.
    tokio::task::yield_now().await;
    Some((Ok(Bytes::from(buf)), state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_updated_at_filter_however_quoted() {
        let t = DateTime::parse_from_rfc3339("2024-02-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for q in [
            r#"{ orders(query: "updated_at:>='2024-02-01T10:00:00Z'") { edges { node { id } } } }"#,
            r#"{ orders(query: "updated_at:>=\"2024-02-01T10:00:00Z\"") { edges { node { id } } } }"#,
            r#"{ orders(query: "updated_at:>=2024-02-01T10:00:00Z") { edges { node { id } } } }"#,
        ] {
            let f = parse_filter(q).unwrap();
            assert_eq!(f.updated_since, Some(t), "{q}");
            assert!(f.inclusive);
        }
        let strict = parse_filter(r#"orders(query: "updated_at:>'2024-02-01'")"#).unwrap();
        assert!(!strict.inclusive);
        assert_eq!(
            strict.updated_since,
            Some(
                DateTime::parse_from_rfc3339("2024-02-01T00:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
        assert!(parse_filter(r#"orders(query: "updated_at:<'2024-02-01'")"#).is_err());
        assert_eq!(
            parse_filter("{ orders { edges { node { id } } } }").unwrap(),
            Filter::default()
        );
    }

    #[test]
    fn finds_inline_arguments_and_the_root() {
        let doc = r#"mutation { bulkOperationRunQuery(query: """{ products { edges { node { id } } } }""") { bulkOperation { id } } }"#;
        let inner = inline_string_argument(doc, "query").unwrap();
        assert_eq!(root_connection(&inner).as_deref(), Some("products"));
        let doc = r#"query { node(id: "gid://shopify/BulkOperation/7") { id } }"#;
        assert_eq!(requested_id(doc, &Value::Null), Some(7));
        let escaped = r#"x(query: "{ orders(query: \"updated_at:>='2024-01-01'\") { id } }")"#;
        assert!(
            inline_string_argument(escaped, "query")
                .unwrap()
                .contains("updated_at")
        );
    }
}
