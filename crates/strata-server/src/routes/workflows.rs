//! Durable workflows over HTTP ([`strata_workflow::Engine`], the process's engine in
//! [`AppState::workflows`]): instances and their events, the manual Shopify sync, its runs, and
//! the pipelines' view.
//!
//! | route | does | scope |
//! |---|---|---|
//! | `GET /v1/workflows?workflow=&status=&limit=` | instances, newest first (`status` a comma list) | `governance:read` |
//! | `POST /v1/workflows` | `{workflow, id?, params?}` → 201 the new instance; 200 the existing one when `id` exists (idempotency) | `governance:write` |
//! | `GET /v1/workflows/{instance}` | `{instance, steps, events}` (steps of the current generation) | `governance:read` |
//! | `POST /v1/workflows/{instance}/pause`, `…/resume`, `…/terminate`, `…/restart` | 200 the instance; 409 when its status forbids it | `governance:write` |
//! | `GET /v1/workflows/{instance}/events` | the instance's inbox, oldest first | `governance:read` |
//! | `POST /v1/workflows/{instance}/events` | `{type, payload?}` → 202 the stored event; 409 for a finished instance | `governance:write` |
//! | `POST /api/performance-metrics/sync` | `{since?}` → 202 a new `daily_shopify_sync` instance (trigger `api`) | `governance:write` |
//! | `GET /api/ingest/runs?limit=` | the `daily_shopify_sync` runs, newest first, with their counts | `governance:read` |
//! | `GET /analytics/pipelines` | each telemetry pipeline's stats and each workflow's recent runs | `governance:read` |
//!
//! **Scope: `governance`.** The workflows' audit trail is the `sync` telemetry stream, whose
//! ingest and queries are gated by `governance:write` / `governance:read` (docs/api.md); the
//! governance module (audit, policy) is the schema's home for operational accountability, while
//! `macrodata` holds business artifacts (the classification spec). So reading runs needs
//! `governance:read` and starting or steering one `governance:write`.
//!
//! **Statuses.** A malformed body, query or instance id, an unknown member, a bad event type or
//! status name is a **400** (`errors` names the field); an unknown workflow is a **404** (as an
//! unknown store or region is for the domain commands), an unknown instance too; a status that
//! forbids the operation is a **409** whose detail says what would work; an event payload over
//! 1 MiB a **413**; a workflow store that fails a **503** (retry). Without an engine every route
//! here but `/analytics/pipelines` answers 503.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use strata_domain::resource::value::FieldError;
use strata_workflow::{
    CreateInstance, Engine, EngineError, Instance, InstanceId, InstanceStatus, ListFilter,
    StepRecord, StepState, WorkflowEvent,
};

use super::resources::{json_body, query_pairs};
use crate::auth::{Verb, authorize_module};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// The schema module whose scopes guard these routes.
pub const MODULE: &str = "governance";

/// The workflow the manual sync trigger and the ingest runs are about.
pub const DAILY_SYNC: &str = "daily_shopify_sync";

/// How an instance created over HTTP is recorded (`Instance::trigger`).
pub const API_TRIGGER: &str = "api";

/// Default and largest `limit` of the lists.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

/// Longest workflow name accepted in a body or a filter.
pub const MAX_WORKFLOW_NAME: usize = 200;

/// At most this many instances are counted per workflow for the last 24 hours.
const MAX_COUNTED: usize = 100_000;

// ---- engine errors --------------------------------------------------------------------------------

/// The engine, or 503 when this server has none.
pub(crate) fn engine(s: &AppState) -> ApiResult<&Engine> {
    s.workflows.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "workflows are not enabled in this server: `strata serve` runs them with its data directory's workflow store",
        )
    })
}

/// An engine error as problem+json: see the module's statuses.
pub(crate) fn engine_problem(e: EngineError) -> Problem {
    match &e {
        EngineError::UnknownWorkflow { .. } | EngineError::NotFound(_) => {
            Problem::new(StatusCode::NOT_FOUND, e.to_string())
        }
        EngineError::InvalidTransition { .. } | EngineError::ValueConflict { .. } => {
            Problem::new(StatusCode::CONFLICT, e.to_string())
        }
        EngineError::InvalidInstanceId(_)
        | EngineError::InvalidValueKey(_)
        | EngineError::InvalidStatus(_)
        | EngineError::InvalidCron { .. }
        | EngineError::InvalidEventType(_) => Problem::bad_request(e.to_string()),
        EngineError::PayloadTooLarge { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
        EngineError::AuditSink(_) | EngineError::Store(_) => {
            tracing::warn!(error = %e, "workflow store unavailable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the workflow store is unavailable; nothing was changed, retry shortly",
            )
        }
    }
}

// ---- requests -------------------------------------------------------------------------------------

/// The query's parameters, each at most once and each one of `allowed` (400 otherwise).
fn query(raw: Option<&str>, allowed: &[&str]) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in query_pairs(raw) {
        if !allowed.contains(&k.as_str()) {
            return Err(Problem::bad_request(format!(
                "unknown query parameter `{k}`{}",
                if allowed.is_empty() {
                    String::new()
                } else {
                    format!("; this path takes {}", allowed.join(", "))
                }
            )));
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(Problem::bad_request(format!(
                "query parameter `{k}` given twice"
            )));
        }
    }
    Ok(out)
}

fn limit(params: &BTreeMap<String, String>, default: usize) -> ApiResult<usize> {
    match params.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "`limit` must be an integer from 1 to {MAX_LIMIT}, not `{v}`"
                ))
            }),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::bad_request("the request body has invalid fields")
        .with_errors(vec![FieldError::new(field, message.into())])
}

/// The body as a JSON object; with `optional`, an empty body (no content type needed) is `{}`.
/// Only the `allowed` members are accepted.
fn object_body(
    headers: &HeaderMap,
    body: &Bytes,
    optional: bool,
    allowed: &[&str],
) -> ApiResult<Map<String, Value>> {
    if optional && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let Value::Object(map) = json_body(headers, body, false)? else {
        return Err(invalid("", "the body must be a JSON object"));
    };
    let unknown: Vec<FieldError> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            FieldError::new(
                k.clone(),
                if allowed.is_empty() {
                    "unknown member: this request takes no members".to_owned()
                } else {
                    format!("unknown member; the members are {}", allowed.join(", "))
                },
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(
            Problem::bad_request("the request body has invalid fields").with_errors(unknown)
        );
    }
    Ok(map)
}

/// An optional string member (`null` is the same as leaving it out).
fn opt_string(map: &Map<String, Value>, field: &str) -> ApiResult<Option<String>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

fn instance_id(text: &str) -> ApiResult<InstanceId> {
    InstanceId::parse(text).map_err(engine_problem)
}

/// An RFC 3339 time with `T` between date and time, as JSON Schema's `date-time` is.
pub(crate) fn rfc3339(text: &str) -> Option<DateTime<Utc>> {
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---- answers --------------------------------------------------------------------------------------

/// An instance as every route shows it (`WorkflowInstance` in the OpenAPI document).
pub fn instance_json(i: &Instance) -> Value {
    json!({
        "id": i.id.as_str(),
        "workflow": i.workflow,
        "status": i.status.as_str(),
        "params": i.params,
        "output": i.output,
        "error": i.error,
        "generation": i.generation,
        "trigger": i.trigger,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "started_at": i.started_at,
        "finished_at": i.finished_at,
        "wake_at": i.wake_at,
        "waiting_for": i.waiting_for,
        "lease": i.lease.as_ref().map(|l| json!({"owner": l.owner, "until": l.until})),
    })
}

/// A step record (`WorkflowStep`): its name, `state` and that state's fields.
pub fn step_json(r: &StepRecord) -> Value {
    let mut v = match &r.state {
        StepState::Done { result, attempts } => {
            json!({"state": "done", "result": result, "attempts": attempts})
        }
        StepState::Retrying {
            attempt,
            next_at,
            error,
        } => json!({"state": "retrying", "attempt": attempt, "next_at": next_at, "error": error}),
        StepState::Failed { attempts, error } => {
            json!({"state": "failed", "attempts": attempts, "error": error})
        }
        StepState::Sleeping { until } => json!({"state": "sleeping", "until": until}),
        StepState::Waiting {
            event_type,
            deadline,
        } => json!({"state": "waiting", "event_type": event_type, "deadline": deadline}),
        StepState::TimedOut { event_type } => {
            json!({"state": "timed_out", "event_type": event_type})
        }
    };
    v["name"] = json!(r.name);
    v["updated_at"] = json!(r.updated_at);
    v
}

/// An event of an instance's inbox (`WorkflowEvent`).
pub fn event_json(e: &WorkflowEvent) -> Value {
    json!({
        "seq": e.seq,
        "type": e.event_type,
        "payload": e.payload,
        "received_at": e.received_at,
    })
}

fn instance_location(id: &InstanceId) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("/v1/workflows/{id}")).ok()
}

fn instance_answer(status: StatusCode, i: &Instance, location: bool) -> Response {
    let mut resp = (status, axum::Json(instance_json(i))).into_response();
    if location && let Some(l) = instance_location(&i.id) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

// ---- /v1/workflows --------------------------------------------------------------------------------

/// `GET /v1/workflows?workflow=&status=&limit=`.
pub async fn list(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = query(q.as_deref(), &["workflow", "status", "limit"])?;
    let limit = limit(&params, DEFAULT_LIMIT)?;
    let workflow = match params.get("workflow") {
        Some(w) if w.is_empty() || w.chars().count() > MAX_WORKFLOW_NAME => {
            return Err(Problem::bad_request(format!(
                "`workflow` must be a workflow name of 1 to {MAX_WORKFLOW_NAME} characters"
            )));
        }
        w => w.cloned(),
    };
    let mut statuses = Vec::new();
    if let Some(list) = params.get("status") {
        for name in list.split(',') {
            let status = InstanceStatus::parse(name.trim()).map_err(engine_problem)?;
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
    }
    authorize_module(&s, &headers, MODULE, Verb::Read).await?;
    let engine = engine(&s)?;
    let items = engine
        .list(&ListFilter {
            workflow,
            statuses,
            created_after: None,
            limit,
        })
        .await
        .map_err(engine_problem)?;
    let items: Vec<Value> = items.iter().map(instance_json).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `POST /v1/workflows`: `{workflow, id?, params?}`.
pub async fn create(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    authorize_module(&s, &headers, MODULE, Verb::Write).await?;
    let engine = engine(&s)?;
    let body = object_body(&headers, &body, false, &["workflow", "id", "params"])?;
    let workflow = match body.get("workflow") {
        Some(Value::String(w)) if !w.is_empty() && w.chars().count() <= MAX_WORKFLOW_NAME => {
            w.clone()
        }
        Some(Value::String(_)) => {
            return Err(invalid(
                "workflow",
                format!("must be a workflow name of 1 to {MAX_WORKFLOW_NAME} characters"),
            ));
        }
        None | Some(Value::Null) => return Err(invalid("workflow", "is required")),
        Some(_) => return Err(invalid("workflow", "must be a string")),
    };
    let id = match opt_string(&body, "id")? {
        None => None,
        Some(text) => Some(InstanceId::parse(&text).map_err(|e| invalid("id", e.to_string()))?),
    };
    let params = match body.get("params") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(invalid("params", "must be a JSON object")),
    };
    let (instance, created) = engine
        .create(CreateInstance {
            workflow: workflow.clone(),
            id,
            params,
            trigger: API_TRIGGER.to_owned(),
        })
        .await
        .map_err(engine_problem)?;
    if created {
        tracing::info!(instance = %instance.id, workflow = %instance.workflow, "workflow instance created over HTTP");
        return Ok(instance_answer(StatusCode::CREATED, &instance, true));
    }
    if instance.workflow != workflow {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!(
                "instance `{}` already exists as an instance of `{}`, not `{workflow}`; choose another id",
                instance.id, instance.workflow
            ),
        ));
    }
    Ok(instance_answer(StatusCode::OK, &instance, true))
}

/// `GET /v1/workflows/{instance}`: `{instance, steps, events}`.
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    let id = instance_id(&id)?;
    authorize_module(&s, &headers, MODULE, Verb::Read).await?;
    let engine = engine(&s)?;
    let instance = engine.get(&id).await.map_err(engine_problem)?;
    let steps = engine.steps(&id).await.map_err(engine_problem)?;
    let events = engine.events(&id).await.map_err(engine_problem)?;
    Ok(axum::Json(json!({
        "instance": instance_json(&instance),
        "steps": steps.iter().map(step_json).collect::<Vec<_>>(),
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// What `POST /v1/workflows/{instance}/<action>` does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Pause,
    Resume,
    Terminate,
    Restart,
}

async fn control(
    s: AppState,
    action: Action,
    id: String,
    q: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    let id = instance_id(&id)?;
    authorize_module(&s, &headers, MODULE, Verb::Write).await?;
    let engine = engine(&s)?;
    object_body(&headers, &body, true, &[])?;
    let instance = match action {
        Action::Pause => engine.pause(&id).await,
        Action::Resume => engine.resume(&id).await,
        Action::Terminate => engine.terminate(&id).await,
        Action::Restart => engine.restart(&id).await,
    }
    .map_err(engine_problem)?;
    tracing::info!(instance = %id, action = ?action, status = %instance.status, "workflow instance controlled over HTTP");
    Ok(instance_answer(StatusCode::OK, &instance, false))
}

/// `POST /v1/workflows/{instance}/pause`.
pub async fn pause(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    control(s, Action::Pause, id, q, headers, body).await
}

/// `POST /v1/workflows/{instance}/resume`.
pub async fn resume(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    control(s, Action::Resume, id, q, headers, body).await
}

/// `POST /v1/workflows/{instance}/terminate`.
pub async fn terminate(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    control(s, Action::Terminate, id, q, headers, body).await
}

/// `POST /v1/workflows/{instance}/restart`.
pub async fn restart(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    control(s, Action::Restart, id, q, headers, body).await
}

/// `GET /v1/workflows/{instance}/events`.
pub async fn list_events(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    let id = instance_id(&id)?;
    authorize_module(&s, &headers, MODULE, Verb::Read).await?;
    let engine = engine(&s)?;
    let events = engine.events(&id).await.map_err(engine_problem)?;
    let items: Vec<Value> = events.iter().map(event_json).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `POST /v1/workflows/{instance}/events`: `{type, payload?}`.
pub async fn send_event(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    let id = instance_id(&id)?;
    authorize_module(&s, &headers, MODULE, Verb::Write).await?;
    let engine = engine(&s)?;
    let mut body = object_body(&headers, &body, false, &["type", "payload"])?;
    let event_type = match body.get("type") {
        Some(Value::String(t)) => t.clone(),
        None | Some(Value::Null) => return Err(invalid("type", "is required")),
        Some(_) => return Err(invalid("type", "must be a string")),
    };
    let payload = body.remove("payload").unwrap_or(Value::Null);
    let event = engine
        .send_event(&id, &event_type, payload)
        .await
        .map_err(|e| match e {
            EngineError::InvalidEventType(_) => invalid("type", e.to_string()),
            e => engine_problem(e),
        })?;
    tracing::info!(instance = %id, event_type = %event.event_type, seq = event.seq, "workflow event received over HTTP");
    Ok((StatusCode::ACCEPTED, axum::Json(event_json(&event))).into_response())
}

// ---- the Shopify sync -----------------------------------------------------------------------------

/// `POST /api/performance-metrics/sync`: `{since?}` → 202 a new `daily_shopify_sync` instance.
pub async fn trigger_sync(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    authorize_module(&s, &headers, MODULE, Verb::Write).await?;
    let engine = engine(&s)?;
    let body = object_body(&headers, &body, true, &["since"])?;
    let mut params = Map::new();
    if let Some(since) = opt_string(&body, "since")? {
        let at = rfc3339(&since).ok_or_else(|| {
            invalid(
                "since",
                "must be an RFC 3339 time with a time zone (2026-11-28T00:00:00Z)",
            )
        })?;
        params.insert("since".into(), json!(at));
    }
    let (instance, _) = engine
        .create(CreateInstance {
            workflow: DAILY_SYNC.to_owned(),
            id: None,
            params: Value::Object(params),
            trigger: API_TRIGGER.to_owned(),
        })
        .await
        .map_err(|e| match e {
            EngineError::UnknownWorkflow { .. } => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the Shopify sync is not configured on this server: set SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN and restart `strata serve`",
            ),
            e => engine_problem(e),
        })?;
    tracing::info!(instance = %instance.id, "Shopify sync requested over HTTP");
    Ok(instance_answer(StatusCode::ACCEPTED, &instance, true))
}

/// The counts a finished sync reported in its output, each only when it has the documented type.
fn run_counts(output: Option<&Value>) -> (Value, Value, Value) {
    let Some(out) = output else {
        return (Value::Null, Value::Null, Value::Null);
    };
    let ingest = match out.get("ingest") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Null,
    };
    let watermark = out.get("watermark").cloned().unwrap_or(Value::Null);
    let quarantined = out
        .get("quarantined_total")
        .or_else(|| out.get("ingest").and_then(|i| i.get("quarantined_total")))
        .and_then(Value::as_u64)
        .map_or(Value::Null, Value::from);
    (ingest, watermark, quarantined)
}

/// One sync run (`IngestRun`).
pub fn ingest_run_json(i: &Instance) -> Value {
    let (ingest, watermark, quarantined_total) = run_counts(i.output.as_ref());
    let duration_ms = i
        .started_at
        .zip(i.finished_at)
        .map(|(s, f)| (f - s).num_milliseconds().max(0));
    json!({
        "run_id": i.id.as_str(),
        "status": i.status.as_str(),
        "trigger": i.trigger,
        "params": i.params,
        "created_at": i.created_at,
        "started_at": i.started_at,
        "finished_at": i.finished_at,
        "duration_ms": duration_ms,
        "error": i.error,
        "ingest": ingest,
        "watermark": watermark,
        "quarantined_total": quarantined_total,
    })
}

/// `GET /api/ingest/runs?limit=`.
pub async fn ingest_runs(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let params = query(q.as_deref(), &["limit"])?;
    let limit = limit(&params, DEFAULT_LIMIT)?;
    authorize_module(&s, &headers, MODULE, Verb::Read).await?;
    let engine = engine(&s)?;
    let runs = engine
        .list(&ListFilter {
            workflow: Some(DAILY_SYNC.to_owned()),
            statuses: Vec::new(),
            created_after: None,
            limit,
        })
        .await
        .map_err(engine_problem)?;
    let items: Vec<Value> = runs.iter().map(ingest_run_json).collect();
    Ok(axum::Json(json!({ "workflow": DAILY_SYNC, "items": items })).into_response())
}

// ---- /analytics/pipelines -------------------------------------------------------------------------

fn unix_ms(ms: i64) -> Value {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or(Value::Null, |t| json!(t))
}

/// One telemetry pipeline's stats (`PipelineView`).
fn pipeline_json(p: &strata_pipeline::PipelineStats) -> Value {
    json!({
        "stream": p.stream,
        "table": p.table,
        "state": p.state,
        "definition": p.definition,
        "events_in": p.events_in,
        "events_out": p.events_out,
        "events_rejected": p.events_rejected,
        "events_filtered": p.events_filtered,
        "rows_written": p.rows_written,
        "commits": p.commits,
        "bytes_written": p.bytes_written,
        "retries": p.retries,
        "buffered_events": p.buffered_events,
        "buffered_bytes": p.buffered_bytes,
        "acked_offset": p.acked_offset,
        "head_offset": p.head_offset,
        "lag": p.lag,
        "last_commit_latency_ms": p.last_commit_latency_ms,
        "last_batch_age_ms": p.last_batch_age_ms,
        "last_commit_at": p.last_commit_unix_ms.map_or(Value::Null, unix_ms),
        "last_error": p.last_error,
    })
}

/// Each workflow's last run and its runs and failures of the last 24 hours: the registered
/// workflows and every workflow with an instance among the recent ones.
async fn workflow_summaries(
    engine: &Engine,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, EngineError> {
    let since = now - chrono::Duration::hours(24);
    let recent = engine
        .list(&ListFilter {
            created_after: Some(since),
            limit: MAX_COUNTED,
            ..ListFilter::default()
        })
        .await?;
    let latest = engine
        .list(&ListFilter {
            limit: 100,
            ..ListFilter::default()
        })
        .await?;
    let registered: BTreeSet<String> = engine.workflows().map(|w| w.name().to_owned()).collect();
    let mut names = registered.clone();
    names.extend(recent.iter().chain(&latest).map(|i| i.workflow.clone()));
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let last = engine
            .list(&ListFilter {
                workflow: Some(name.clone()),
                limit: 1,
                ..ListFilter::default()
            })
            .await?;
        let mine = recent.iter().filter(|i| i.workflow == name);
        let runs = mine.clone().count();
        let failures = mine.filter(|i| i.status == InstanceStatus::Errored).count();
        out.push(json!({
            "workflow": name,
            "registered": registered.contains(&name),
            "last_run": last.first().map(|i| json!({
                "id": i.id.as_str(),
                "status": i.status.as_str(),
                "created_at": i.created_at,
                "finished_at": i.finished_at,
                "error": i.error,
            })),
            "runs_24h": runs,
            "failures_24h": failures,
        }));
    }
    Ok(out)
}

/// `GET /analytics/pipelines`.
pub async fn pipelines(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    query(q.as_deref(), &[])?;
    authorize_module(&s, &headers, MODULE, Verb::Read).await?;
    let streams: Vec<Value> = s
        .pipelines
        .as_ref()
        .map(|f| f())
        .unwrap_or_default()
        .iter()
        .map(pipeline_json)
        .collect();
    let now = Utc::now();
    let workflows = match &s.workflows {
        Some(engine) => workflow_summaries(engine, now)
            .await
            .map_err(engine_problem)?,
        None => Vec::new(),
    };
    Ok(axum::Json(json!({
        "generated_at": now,
        "pipelines_enabled": s.pipelines.is_some(),
        "workflows_enabled": s.workflows.is_some(),
        "pipelines": streams,
        "workflows": workflows,
    }))
    .into_response())
}

/// The latest `daily_shopify_sync` instance, for `/api/health` (`None`: none, or no engine).
pub(crate) async fn last_sync(s: &AppState) -> Result<Option<Value>, EngineError> {
    let Some(engine) = &s.workflows else {
        return Ok(None);
    };
    let last = engine
        .list(&ListFilter {
            workflow: Some(DAILY_SYNC.to_owned()),
            limit: 1,
            ..ListFilter::default()
        })
        .await?;
    Ok(last.first().map(|i| {
        json!({
            "id": i.id.as_str(),
            "status": i.status.as_str(),
            "created_at": i.created_at,
            "finished_at": i.finished_at,
            "error": i.error,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_refuses_unknown_and_repeated_parameters() {
        assert!(query(Some("limit=5&status=waiting"), &["limit", "status"]).is_ok());
        assert_eq!(query(Some("x=1"), &["limit"]).unwrap_err().status, 400);
        assert_eq!(query(Some("x=1"), &[]).unwrap_err().status, 400);
        assert_eq!(
            query(Some("limit=1&limit=2"), &["limit"])
                .unwrap_err()
                .status,
            400
        );
        let p = query(Some("limit=0"), &["limit"]).unwrap();
        assert_eq!(limit(&p, 50).unwrap_err().status, 400);
        let p = query(Some("limit=500"), &["limit"]).unwrap();
        assert_eq!(limit(&p, 50).ok(), Some(500));
        let p = query(None, &["limit"]).unwrap();
        assert_eq!(limit(&p, 7).ok(), Some(7));
    }

    #[test]
    fn rfc3339_needs_the_t() {
        assert!(rfc3339("2026-11-28T00:00:00Z").is_some());
        assert!(rfc3339("2026-11-28T01:00:00+01:00").is_some());
        assert!(rfc3339("2026-11-28 00:00:00Z").is_none());
        assert!(rfc3339("2026-11-28").is_none());
        assert!(rfc3339("yesterday").is_none());
    }

    #[test]
    fn engine_errors_map_to_their_statuses() {
        let id = InstanceId::parse("x").unwrap();
        let cases: Vec<(EngineError, u16)> = vec![
            (
                EngineError::UnknownWorkflow {
                    name: "a".into(),
                    known: "none".into(),
                },
                404,
            ),
            (EngineError::NotFound(id.clone()), 404),
            (
                EngineError::InvalidTransition {
                    id,
                    action: "pause",
                    status: InstanceStatus::Complete,
                    hint: "",
                },
                409,
            ),
            (EngineError::InvalidInstanceId("a b".into()), 400),
            (EngineError::InvalidStatus("nope".into()), 400),
            (EngineError::InvalidEventType("".into()), 400),
            (EngineError::PayloadTooLarge { size: 2, limit: 1 }, 413),
            (EngineError::Store(strata_workflow::StoreError::Closed), 503),
        ];
        for (e, status) in cases {
            let text = e.to_string();
            assert_eq!(engine_problem(e).status, status, "{text}");
        }
    }

    #[test]
    fn run_counts_take_only_well_typed_members() {
        let out = json!({"ingest": {"orders": 3}, "watermark": "2026-11-28T00:00:00Z", "quarantined_total": 2});
        let (i, w, q) = run_counts(Some(&out));
        assert_eq!(i, json!({"orders": 3}));
        assert_eq!(w, json!("2026-11-28T00:00:00Z"));
        assert_eq!(q, json!(2));
        let nested = json!({"ingest": {"quarantined_total": 4}});
        assert_eq!(run_counts(Some(&nested)).2, json!(4));
        let odd = json!({"ingest": [1], "quarantined_total": -1});
        let (i, w, q) = run_counts(Some(&odd));
        assert_eq!((i, w, q), (Value::Null, Value::Null, Value::Null));
        assert_eq!(run_counts(None), (Value::Null, Value::Null, Value::Null));
    }
}
