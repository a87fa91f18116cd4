//! The workflow endpoints through real HTTP: a real server over a fresh PostgreSQL database (API
//! keys, audit), a real engine on the embedded SQLite store in a temporary directory with the
//! real event log as its audit sink, running in the background on the system clock; every
//! answer checked against the served OpenAPI document.
//!
//! - instances: create (201), idempotent create (200), steps, list filters, events that complete
//!   an instance, 409 for an event to a finished one (nothing stored), 400 bad type, 413,
//!   pause/resume/terminate/restart and their 409s, 404s, scopes (`governance`);
//! - the Shopify sync trigger (503 without the workflow, 202 with it declared), `/api/ingest/runs`
//!   (with a stand-in sync's counts), `/analytics/pipelines`, `/api/health`'s `last_sync`;
//! - the webhook: HMAC verified before anything, the bulk-finish callback, topics, limits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strata_events::{SqliteLog, SqliteOptions};
use strata_workflow::{
    Context, Engine, EngineOptions, EventLogSink, RunError, Workflow,
    store::{Role, SqliteStore},
};
use tokio_util::sync::CancellationToken;

mod common;

use common::{Answer, Options, Schemas, Server, is_problem, start, start_customized};

// ---- workflows under test -------------------------------------------------------------------------

/// Waits (up to an hour, durably) for an `approval` event and completes with its payload.
struct Approval;

#[async_trait]
impl Workflow for Approval {
    fn name(&self) -> &str {
        "approval"
    }

    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
        let event = ctx
            .wait_for_event("await approval", "approval", Duration::from_secs(3600))
            .await?;
        Ok(json!({ "approved": event.payload, "params": params }))
    }
}

/// Sleeps an hour, durably.
struct Sleeper;

#[async_trait]
impl Workflow for Sleeper {
    fn name(&self) -> &str {
        "sleeper"
    }

    async fn run(&self, ctx: &Context, _params: Value) -> Result<Value, RunError> {
        ctx.sleep("nap", Duration::from_secs(3600)).await?;
        Ok(json!({ "slept": true }))
    }
}

/// A stand-in `daily_shopify_sync`: reports counts as the real one does, or fails when asked.
struct FakeSync;

#[async_trait]
impl Workflow for FakeSync {
    fn name(&self) -> &str {
        "daily_shopify_sync"
    }

    async fn run(&self, _ctx: &Context, params: Value) -> Result<Value, RunError> {
        if params["fail"] == json!(true) {
            return Err(RunError::failed(
                "Shopify answered 401: the token was revoked",
            ));
        }
        Ok(json!({
            "ingest": {"orders": 12, "products": 3},
            "watermark": "2026-11-29T04:59:00Z",
            "quarantined_total": 2,
        }))
    }
}

// ---- harness --------------------------------------------------------------------------------------

/// An engine over a temporary SQLite store, running until dropped.
struct Running {
    engine: Engine,
    token: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

fn engine(setup: impl FnOnce(Engine) -> Engine) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("workflows"), Role::Executor).expect("store");
    let log = SqliteLog::open(&dir.path().join("events"), SqliteOptions::default()).expect("log");
    let engine = setup(Engine::new(
        Arc::new(store),
        Arc::new(EventLogSink(Arc::new(log))),
        EngineOptions {
            poll_interval: Duration::from_millis(50),
            ..EngineOptions::default()
        },
    ));
    let token = CancellationToken::new();
    let (e, t) = (engine.clone(), token.clone());
    tokio::spawn(async move { e.run(t).await.expect("engine run") });
    Running {
        engine,
        token,
        _dir: dir,
    }
}

async fn serve_with(engine: &Running) -> Server {
    let e = engine.engine.clone();
    start_customized(Options::default(), move |s| s.with_workflows(Some(e))).await
}

async fn req(s: &Server, method: Method, path: &str, body: Option<Value>) -> Answer {
    s.req(method, path, Some(&s.admin_key), body).await
}

/// Polls the instance until `pred` holds (10 s at most).
async fn until(s: &Server, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (st, _, body) = s.get(&format!("/v1/workflows/{id}")).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        if pred(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached; last seen: {last:#}");
}

fn status_of(detail: &Value) -> &str {
    detail["instance"]["status"].as_str().unwrap_or_default()
}

fn assert_problem(answer: &Answer, status: StatusCode) {
    let (st, headers, body) = answer;
    assert_eq!(*st, status, "{body}");
    assert!(is_problem(headers), "{headers:?}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
}

async fn key(s: &Server, name: &str, scopes: &str) -> String {
    let mut client = s.db.client().await.expect("client");
    let c: &mut tokio_postgres::Client = &mut client;
    strata_domain::identity::create_key(
        c,
        name,
        &strata_domain::identity::Scopes::parse_list(scopes).expect("scopes"),
        None,
    )
    .await
    .expect("key")
    .1
}

// ---- tests ----------------------------------------------------------------------------------------

#[tokio::test]
async fn without_an_engine_the_workflow_endpoints_answer_503_after_auth() {
    let s = start().await;
    let (st, _, _) = s.req(Method::GET, "/v1/workflows", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let a = s
        .req(Method::GET, "/v1/workflows", Some(&s.read_key), None)
        .await;
    assert_problem(&a, StatusCode::FORBIDDEN);
    for (method, path, body) in [
        (Method::GET, "/v1/workflows", None),
        (
            Method::POST,
            "/v1/workflows",
            Some(json!({"workflow": "x"})),
        ),
        (Method::GET, "/v1/workflows/abc", None),
        (
            Method::POST,
            "/api/performance-metrics/sync",
            Some(json!({})),
        ),
        (Method::GET, "/api/ingest/runs", None),
    ] {
        let a = req(&s, method.clone(), path, body).await;
        assert_problem(&a, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            a.2["detail"]
                .as_str()
                .unwrap()
                .contains("workflows are not enabled"),
            "{method} {path}: {}",
            a.2
        );
        assert!(a.1.get("retry-after").is_some());
    }
    let doc = s.openapi().await;
    let schemas = Schemas::of(&doc);
    let (st, _, body) = s.get("/analytics/pipelines").await;
    assert_eq!(st, StatusCode::OK, "{body}");
    schemas.assert_valid("PipelinesOverview", &body);
    assert_eq!(body["workflows_enabled"], false);
    assert_eq!(body["workflows"], json!([]));
    let (st, _, health) = s.req(Method::GET, "/api/health", None, None).await;
    assert_eq!(st, StatusCode::OK, "{health}");
    schemas.assert_valid("ApiHealth", &health);
    assert_eq!(health["database"], true);
    assert_eq!(health["workflows"], false);
    assert!(health.get("last_sync").is_none(), "{health}");
    // No webhook secret: 503 for anything that looks like a delivery (a request without the
    // signature header is a 401, without the topic a 400, configured or not).
    let secret = strata_shopify::Secret::new("any");
    let sig = Some(strata_shopify::webhook::sign(&secret, b"{}"));
    let a = deliver(&s, Some("orders/create"), "{}", sig.clone()).await;
    assert_problem(&a, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        a.2["detail"]
            .as_str()
            .unwrap()
            .contains("SHOPIFY_WEBHOOK_SECRET")
    );
    let a = deliver(&s, Some("orders/create"), "{}", None).await;
    assert_problem(&a, StatusCode::UNAUTHORIZED);
    let a = deliver(&s, None, "{}", sig).await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn instances_are_created_idempotently_listed_and_completed_by_events() {
    let wf = engine(|e| e.register(Approval).register(Sleeper));
    let s = serve_with(&wf).await;
    let schemas = Schemas::of(&s.openapi().await);

    // Create, then the same id again: 200 with the same instance.
    let (st, headers, created) = s
        .post(
            "/v1/workflows",
            json!({"workflow": "approval", "id": "appr-1", "params": {"order": 7}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    schemas.assert_valid("WorkflowInstance", &created);
    assert_eq!(headers["location"], "/v1/workflows/appr-1");
    assert_eq!(created["id"], "appr-1");
    assert_eq!(created["trigger"], "api");
    assert_eq!(created["params"], json!({"order": 7}));
    let (st, _, again) = s
        .post(
            "/v1/workflows",
            json!({"workflow": "approval", "id": "appr-1", "params": {"order": 8}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["id"], "appr-1");
    assert_eq!(again["created_at"], created["created_at"]);
    assert_eq!(
        again["params"],
        json!({"order": 7}),
        "the first params are kept"
    );
    // The same id for another workflow is a conflict.
    let a = s
        .post(
            "/v1/workflows",
            json!({"workflow": "sleeper", "id": "appr-1"}),
        )
        .await;
    assert_problem(&a, StatusCode::CONFLICT);
    // Unknown workflow: 404 naming the known ones; bad ids and members: 400 naming the field.
    let a = s.post("/v1/workflows", json!({"workflow": "nope"})).await;
    assert_problem(&a, StatusCode::NOT_FOUND);
    let detail = a.2["detail"].as_str().unwrap();
    assert!(
        detail.contains("approval") && detail.contains("sleeper"),
        "{detail}"
    );
    for (body, field) in [
        (json!({"workflow": "approval", "id": "has space"}), "id"),
        (json!({"workflow": "approval", "params": [1]}), "params"),
        (
            json!({"workflow": "approval", "trigger": "cron"}),
            "trigger",
        ),
        (json!({"id": "x"}), "workflow"),
        (json!({"workflow": 5}), "workflow"),
    ] {
        let a = s.post("/v1/workflows", body.clone()).await;
        assert_problem(&a, StatusCode::BAD_REQUEST);
        assert_eq!(a.2["errors"][0]["field"], field, "{body}: {}", a.2);
    }
    let a = s.post_raw("/v1/workflows", Some("text/plain"), "{}").await;
    assert_problem(&a, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = s
        .post_raw("/v1/workflows", Some("application/json"), "{")
        .await;
    assert_problem(&a, StatusCode::BAD_REQUEST);

    // It runs and waits for its event; the step says so.
    let detail = until(&s, "appr-1", |d| status_of(d) == "waiting").await;
    schemas.assert_valid("WorkflowInstanceDetail", &detail);
    assert_eq!(detail["instance"]["waiting_for"], "approval");
    let steps = detail["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{detail:#}");
    assert_eq!(steps[0]["name"], "await approval");
    assert_eq!(steps[0]["state"], "waiting");
    assert_eq!(steps[0]["event_type"], "approval");
    assert_eq!(detail["events"], json!([]));

    // Lists and their filters.
    let (st, _, sleeper) = s
        .post("/v1/workflows", json!({"workflow": "sleeper"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sleeper}");
    let sleeper_id = sleeper["id"].as_str().unwrap().to_owned();
    assert!(sleeper_id.starts_with("wfi_"), "{sleeper_id}");
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (st, _, all) = s.get("/v1/workflows").await;
    assert_eq!(st, StatusCode::OK);
    schemas.assert_valid("WorkflowInstanceList", &all);
    assert_eq!(
        ids(&all),
        vec![sleeper_id.clone(), "appr-1".to_owned()],
        "newest first"
    );
    let (_, _, only) = s.get("/v1/workflows?workflow=approval").await;
    assert_eq!(ids(&only), vec!["appr-1"]);
    let (_, _, one) = s.get("/v1/workflows?limit=1").await;
    assert_eq!(ids(&one), vec![sleeper_id.clone()]);
    let (_, _, done) = s.get("/v1/workflows?status=complete,errored").await;
    assert_eq!(ids(&done), Vec::<String>::new());
    let (_, _, none) = s.get("/v1/workflows?workflow=nothing-by-this-name").await;
    assert_eq!(ids(&none), Vec::<String>::new());
    for bad in [
        "status=bogus",
        "status=waiting,",
        "limit=0",
        "limit=501",
        "limit=x",
        "workflow=",
        "colour=red",
        "limit=1&limit=2",
    ] {
        let a = s.get(&format!("/v1/workflows?{bad}")).await;
        assert_problem(&a, StatusCode::BAD_REQUEST);
    }

    // Events: a bad type is a 400, an oversized body a 413; the right one completes the instance.
    let a = s
        .post("/v1/workflows/appr-1/events", json!({"type": "bad type!"}))
        .await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    assert_eq!(a.2["errors"][0]["field"], "type");
    let a = s
        .post("/v1/workflows/appr-1/events", json!({"payload": 1}))
        .await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    let big = json!({"type": "approval", "payload": "x".repeat(1024 * 1024 + 1)});
    let a = s.post("/v1/workflows/appr-1/events", big).await;
    assert_problem(&a, StatusCode::PAYLOAD_TOO_LARGE);
    let (_, _, inbox) = s.get("/v1/workflows/appr-1/events").await;
    assert_eq!(
        inbox["items"],
        json!([]),
        "nothing stored by the refused sends"
    );
    let (st, _, event) = s
        .post(
            "/v1/workflows/appr-1/events",
            json!({"type": "approval", "payload": {"by": "ops", "ok": true}}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{event}");
    schemas.assert_valid("WorkflowEvent", &event);
    assert_eq!(event["type"], "approval");
    let done = until(&s, "appr-1", |d| status_of(d) == "complete").await;
    schemas.assert_valid("WorkflowInstanceDetail", &done);
    assert_eq!(
        done["instance"]["output"],
        json!({"approved": {"by": "ops", "ok": true}, "params": {"order": 7}})
    );
    assert_eq!(done["steps"][0]["state"], "done");
    assert!(done["instance"]["finished_at"].is_string());

    // A finished instance takes no event: 409, and nothing is stored.
    let a = s
        .post("/v1/workflows/appr-1/events", json!({"type": "approval"}))
        .await;
    assert_problem(&a, StatusCode::CONFLICT);
    let (st, _, inbox) = s.get("/v1/workflows/appr-1/events").await;
    assert_eq!(st, StatusCode::OK);
    schemas.assert_valid("WorkflowEventList", &inbox);
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1, "{inbox}");
    assert_eq!(inbox["items"][0]["seq"], event["seq"]);
    // Nor a pause: the 409 says what would work.
    let a = s.post("/v1/workflows/appr-1/pause", json!({})).await;
    assert_problem(&a, StatusCode::CONFLICT);
    assert!(
        a.2["detail"].as_str().unwrap().contains("restart"),
        "{}",
        a.2
    );

    // Control: pause, pause again (409), resume, terminate, terminate again (409), restart.
    let path = |action: &str| format!("/v1/workflows/{sleeper_id}/{action}");
    until(&s, &sleeper_id, |d| status_of(d) == "waiting").await;
    let (st, _, paused) = req(&s, Method::POST, &path("pause"), None).await;
    assert_eq!(st, StatusCode::OK, "{paused}");
    schemas.assert_valid("WorkflowInstance", &paused);
    assert_eq!(paused["status"], "paused");
    let a = req(&s, Method::POST, &path("pause"), None).await;
    assert_problem(&a, StatusCode::CONFLICT);
    let a = s.post(&path("pause"), json!({"force": true})).await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    let (st, _, resumed) = s.post(&path("resume"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "queued");
    until(&s, &sleeper_id, |d| status_of(d) == "waiting").await;
    let a = req(&s, Method::POST, &path("resume"), None).await;
    assert_problem(&a, StatusCode::CONFLICT);
    let (st, _, terminated) = req(&s, Method::POST, &path("terminate"), None).await;
    assert_eq!(st, StatusCode::OK, "{terminated}");
    assert_eq!(terminated["status"], "terminated");
    let a = req(&s, Method::POST, &path("terminate"), None).await;
    assert_problem(&a, StatusCode::CONFLICT);
    let (st, _, restarted) = req(&s, Method::POST, &path("restart"), None).await;
    assert_eq!(st, StatusCode::OK, "{restarted}");
    schemas.assert_valid("WorkflowInstance", &restarted);
    assert_eq!(restarted["generation"], 1);
    let again = until(&s, &sleeper_id, |d| status_of(d) == "waiting").await;
    assert_eq!(again["steps"][0]["state"], "sleeping", "{again:#}");
    let (_, _, filtered) = s.get("/v1/workflows?status=waiting&workflow=sleeper").await;
    assert_eq!(ids(&filtered), vec![sleeper_id.clone()]);

    // Unknown and malformed instances; methods the paths do not have.
    for (method, p) in [
        (Method::GET, "/v1/workflows/no-such-instance"),
        (Method::GET, "/v1/workflows/no-such-instance/events"),
        (Method::POST, "/v1/workflows/no-such-instance/pause"),
        (Method::POST, "/v1/workflows/no-such-instance/restart"),
    ] {
        let a = req(&s, method, p, None).await;
        assert_problem(&a, StatusCode::NOT_FOUND);
    }
    let a = s
        .post(
            "/v1/workflows/no-such-instance/events",
            json!({"type": "approval"}),
        )
        .await;
    assert_problem(&a, StatusCode::NOT_FOUND);
    let a = s.get("/v1/workflows/bad%20id").await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    let a = s.get(&format!("/v1/workflows/{}", "x".repeat(101))).await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    let a = req(&s, Method::DELETE, "/v1/workflows/appr-1", None).await;
    assert_problem(&a, StatusCode::METHOD_NOT_ALLOWED);

    // The sync is not registered here: 503 naming what to configure.
    let a = req(&s, Method::POST, "/api/performance-metrics/sync", None).await;
    assert_problem(&a, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        a.2["detail"]
            .as_str()
            .unwrap()
            .contains("SHOPIFY_ADMIN_TOKEN"),
        "{}",
        a.2
    );

    // Scopes: governance:read lists but cannot steer; other modules' keys get nothing.
    let reader = key(&s, "ops reader", "governance:read").await;
    let (st, _, _) = s
        .req(Method::GET, "/v1/workflows", Some(&reader), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = s
        .req(Method::GET, "/v1/workflows/appr-1", Some(&reader), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let a = s
        .req(Method::POST, &path("pause"), Some(&reader), None)
        .await;
    assert_problem(&a, StatusCode::FORBIDDEN);
    let a = s
        .req(
            Method::POST,
            "/v1/workflows",
            Some(&reader),
            Some(json!({"workflow": "sleeper"})),
        )
        .await;
    assert_problem(&a, StatusCode::FORBIDDEN);
    let a = s
        .req(Method::GET, "/v1/workflows", Some(&s.order_key), None)
        .await;
    assert_problem(&a, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_sync_trigger_creates_a_declared_sync_listed_as_an_ingest_run() {
    // As beside a `strata serve` that executes the sync: declared, not run here.
    let wf = engine(|e| e.declare(["daily_shopify_sync"]));
    let s = serve_with(&wf).await;
    let schemas = Schemas::of(&s.openapi().await);
    let (_, _, health) = s.req(Method::GET, "/api/health", None, None).await;
    assert_eq!(health["workflows"], true);
    assert!(health.get("last_sync").is_none(), "no sync yet: {health}");

    let (st, headers, first) = s
        .post(
            "/api/performance-metrics/sync",
            json!({"since": "2026-11-28T01:00:00+01:00"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{first}");
    schemas.assert_valid("WorkflowInstance", &first);
    assert_eq!(first["workflow"], "daily_shopify_sync");
    assert_eq!(first["trigger"], "api");
    assert_eq!(first["params"], json!({"since": "2026-11-28T00:00:00Z"}));
    let id = first["id"].as_str().unwrap();
    assert_eq!(headers["location"], format!("/v1/workflows/{id}").as_str());
    // No body at all is fine too; a bad `since` or member is a 400.
    let (st, _, second) = req(&s, Method::POST, "/api/performance-metrics/sync", None).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{second}");
    assert_eq!(second["params"], json!({}));
    for bad in [
        json!({"since": "yesterday"}),
        json!({"since": "2026-11-28 00:00:00Z"}),
        json!({"since": 5}),
        json!({"until": "2026-11-28T00:00:00Z"}),
    ] {
        let a = s.post("/api/performance-metrics/sync", bad.clone()).await;
        assert_problem(&a, StatusCode::BAD_REQUEST);
    }

    let (st, _, runs) = s.get("/api/ingest/runs").await;
    assert_eq!(st, StatusCode::OK, "{runs}");
    schemas.assert_valid("IngestRunList", &runs);
    let items = runs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{runs:#}");
    assert_eq!(items[0]["run_id"], second["id"], "newest first");
    assert_eq!(items[1]["run_id"], first["id"]);
    assert_eq!(items[1]["status"], "queued", "nobody executes it here");
    assert_eq!(items[1]["duration_ms"], Value::Null);
    let (_, _, one) = s.get("/api/ingest/runs?limit=1").await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let a = s.get("/api/ingest/runs?since=x").await;
    assert_problem(&a, StatusCode::BAD_REQUEST);

    let (st, _, health) = s.req(Method::GET, "/api/health", None, None).await;
    assert_eq!(st, StatusCode::OK, "{health}");
    schemas.assert_valid("ApiHealth", &health);
    assert_eq!(health["last_sync"]["id"], second["id"]);
    assert_eq!(health["last_sync"]["status"], "queued");
    assert_eq!(health["last_sync"]["finished_at"], Value::Null);

    let (st, _, overview) = s.get("/analytics/pipelines").await;
    assert_eq!(st, StatusCode::OK, "{overview}");
    schemas.assert_valid("PipelinesOverview", &overview);
    let sync = &overview["workflows"][0];
    assert_eq!(sync["workflow"], "daily_shopify_sync");
    assert_eq!(sync["registered"], false);
    assert_eq!(sync["runs_24h"], 2);
    assert_eq!(sync["last_run"]["id"], second["id"]);
}

#[tokio::test]
async fn ingest_runs_carry_the_syncs_counts_and_the_pipelines_view_its_failures() {
    let wf = engine(|e| e.register(FakeSync).register(Sleeper));
    let s = serve_with(&wf).await;
    let schemas = Schemas::of(&s.openapi().await);
    let (st, _, ok) = req(&s, Method::POST, "/api/performance-metrics/sync", None).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{ok}");
    let ok_id = ok["id"].as_str().unwrap().to_owned();
    until(&s, &ok_id, |d| status_of(d) == "complete").await;
    let (st, _, failing) = s
        .post(
            "/v1/workflows",
            json!({"workflow": "daily_shopify_sync", "id": "sync-broken", "params": {"fail": true}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{failing}");
    let broken = until(&s, "sync-broken", |d| status_of(d) == "errored").await;
    assert!(
        broken["instance"]["error"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{broken:#}"
    );

    let (_, _, runs) = s.get("/api/ingest/runs").await;
    schemas.assert_valid("IngestRunList", &runs);
    let items = runs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{runs:#}");
    let (failed, done) = (&items[0], &items[1]);
    assert_eq!(failed["run_id"], "sync-broken");
    assert_eq!(failed["status"], "errored");
    assert!(failed["error"].as_str().unwrap().contains("revoked"));
    assert_eq!(failed["ingest"], Value::Null);
    assert_eq!(done["run_id"], ok_id.as_str());
    assert_eq!(done["status"], "complete");
    assert_eq!(done["ingest"], json!({"orders": 12, "products": 3}));
    assert_eq!(done["watermark"], "2026-11-29T04:59:00Z");
    assert_eq!(done["quarantined_total"], 2);
    assert!(done["duration_ms"].as_i64().unwrap() >= 0);
    assert!(done["finished_at"].is_string());

    let (_, _, health) = s.req(Method::GET, "/api/health", None, None).await;
    schemas.assert_valid("ApiHealth", &health);
    assert_eq!(health["last_sync"]["id"], "sync-broken");
    assert_eq!(health["last_sync"]["status"], "errored");
    assert!(health["last_sync"]["finished_at"].is_string());

    let (_, _, overview) = s.get("/analytics/pipelines").await;
    schemas.assert_valid("PipelinesOverview", &overview);
    let workflows = overview["workflows"].as_array().unwrap();
    let by_name = |name: &str| {
        workflows
            .iter()
            .find(|w| w["workflow"] == name)
            .unwrap_or_else(|| panic!("{name} in {overview:#}"))
    };
    let sync = by_name("daily_shopify_sync");
    assert_eq!(sync["registered"], true);
    assert_eq!(sync["runs_24h"], 2);
    assert_eq!(sync["failures_24h"], 1);
    assert_eq!(sync["last_run"]["status"], "errored");
    let sleeper = by_name("sleeper");
    assert_eq!(sleeper["runs_24h"], 0);
    assert_eq!(sleeper["last_run"], Value::Null);
}

/// A delivery as Shopify sends it: signed with `secret` unless `signature` overrides it.
async fn deliver(s: &Server, topic: Option<&str>, body: &str, signature: Option<String>) -> Answer {
    let mut r = s
        .http
        .post(s.url("/webhooks/shopify"))
        .header("content-type", "application/json")
        .header(
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        )
        .header("X-Shopify-Shop-Domain", "example.myshopify.com")
        .body(body.to_owned());
    if let Some(t) = topic {
        r = r.header("X-Shopify-Topic", t);
    }
    if let Some(sig) = signature {
        r = r.header("X-Shopify-Hmac-Sha256", sig);
    }
    common::answer(r.send().await.expect("deliver")).await
}

#[tokio::test]
async fn shopify_webhooks_are_verified_before_anything_is_processed() {
    let secret = strata_shopify::Secret::new("whsec-test-0123456789");
    let finished: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = finished.clone();
    let callback: strata_server::state::BulkFinishedFn =
        Arc::new(move |gid: &str| seen.lock().unwrap().push(gid.to_owned()));
    let configured = secret.clone();
    let s = start_customized(Options::default(), move |st| {
        st.with_shopify_webhook_secret(Some(configured))
            .with_bulk_finished(Some(callback))
    })
    .await;
    let schemas = Schemas::of(&s.openapi().await);
    let sign = |body: &str| Some(strata_shopify::webhook::sign(&secret, body.as_bytes()));
    let bulk = r#"{"admin_graphql_api_id":"gid://shopify/BulkOperation/147595010","completed_at":"2024-01-28T19:10:06-05:00","created_at":"2024-01-28T19:10:03-05:00","error_code":null,"status":"completed","type":"query"}"#;

    // Not signed, signed wrongly, signed with another secret, or over another body: 401, and the
    // callback is never called.
    let other = strata_shopify::Secret::new("someone-else");
    for signature in [
        None,
        Some("not base64!".to_owned()),
        Some("AAAA".to_owned()),
        Some(strata_shopify::webhook::sign(&other, bulk.as_bytes())),
        sign(&bulk.replace("147595010", "147595011")),
    ] {
        let a = deliver(&s, Some("bulk_operations/finish"), bulk, signature.clone()).await;
        assert_problem(&a, StatusCode::UNAUTHORIZED);
        assert!(
            a.2["detail"]
                .as_str()
                .unwrap()
                .contains("nothing was processed"),
            "{}",
            a.2
        );
    }
    assert!(finished.lock().unwrap().is_empty());

    // A verified bulk_operations/finish: the GID goes to the callback (no API key needed).
    let (st, _, receipt) = deliver(&s, Some("bulk_operations/finish"), bulk, sign(bulk)).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{receipt}");
    schemas.assert_valid("ShopifyWebhookReceipt", &receipt);
    assert_eq!(receipt["outcome"], "delivered");
    assert_eq!(
        *finished.lock().unwrap(),
        vec!["gid://shopify/BulkOperation/147595010".to_owned()]
    );

    // Orders are acknowledged for the daily sync; other topics ignored; both 202.
    let order = r#"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","updated_at":"2022-01-01T10:00:00-05:00"}"#;
    for (topic, outcome) in [
        ("orders/create", "accepted"),
        ("orders/updated", "accepted"),
        ("app/uninstalled", "ignored"),
    ] {
        let (st, _, receipt) = deliver(&s, Some(topic), order, sign(order)).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{topic}: {receipt}");
        schemas.assert_valid("ShopifyWebhookReceipt", &receipt);
        assert_eq!(receipt["topic"], topic);
        assert_eq!(receipt["outcome"], outcome, "{topic}");
    }

    // Verified but unusable: no topic, a bulk payload that does not decode: 400.
    let a = deliver(&s, None, bulk, sign(bulk)).await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    let a = deliver(&s, Some("bulk_operations/finish"), order, sign(order)).await;
    assert_problem(&a, StatusCode::BAD_REQUEST);
    assert_eq!(
        finished.lock().unwrap().len(),
        1,
        "only the one verified delivery"
    );

    // Over 1 MiB: 413 before anything.
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1024 * 1024));
    let a = deliver(&s, Some("orders/create"), &huge, sign(&huge)).await;
    assert_problem(&a, StatusCode::PAYLOAD_TOO_LARGE);
    // A query string is refused like everywhere.
    let resp = s
        .http
        .post(s.url("/webhooks/shopify?x=1"))
        .header("X-Shopify-Topic", "orders/create")
        .header("X-Shopify-Hmac-Sha256", sign(order).unwrap())
        .body(order)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}
