//! The shared harness of the server's integration tests: a real `strata serve` router over a
//! fresh PostgreSQL database (the test kit's), API keys of several scopes, a durable SQLite event
//! log that a test can make unwritable, HTTP helpers, and the OpenAPI document's schemas as a
//! validator for the answers.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::{Client, StatusCode};
use serde_json::{Map, Value, json};
use strata_domain::identity::{Scopes, Verifier, VerifierConfig, create_key};
use strata_events::{
    AppendReceipt, Delivery, EventLog, LogError, Offset, SqliteLog, SqliteOptions, StreamName,
    StreamStats,
};
use strata_schema::SchemaSource;
use strata_testkit::TestDb;

/// The SQLite log, with a switch that makes appends fail (an unwritable disk, say).
pub struct SwitchableLog {
    inner: SqliteLog,
    failing: AtomicBool,
}

impl SwitchableLog {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl EventLog for SwitchableLog {
    async fn append(
        &self,
        stream: StreamName,
        events: Vec<strata_events::Event>,
    ) -> Result<AppendReceipt, LogError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(LogError::Open {
                path: "test".into(),
                reason: "the test made the log unwritable".into(),
            });
        }
        self.inner.append(stream, events).await
    }

    async fn read(
        &self,
        stream: StreamName,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<Delivery>, LogError> {
        self.inner.read(stream, consumer, max).await
    }

    async fn commit(
        &self,
        stream: StreamName,
        consumer: &str,
        offset: Offset,
    ) -> Result<Offset, LogError> {
        self.inner.commit(stream, consumer, offset).await
    }

    async fn stats(&self, stream: StreamName) -> Result<StreamStats, LogError> {
        self.inner.stats(stream).await
    }
}

pub struct Server {
    pub base: String,
    /// Scope `*`.
    pub admin_key: String,
    /// The admin key's uid and principal, as audit rows name them.
    pub admin_key_uid: String,
    pub admin_principal: String,
    /// Scope `order:read`.
    pub read_key: String,
    /// Scope `order:write` only.
    pub order_key: String,
    /// Scope `product:read` only.
    pub product_read_key: String,
    pub http: Client,
    pub db: Arc<strata_domain::Database>,
    pub log: Arc<SwitchableLog>,
    /// The pipelines' lake (`<dir>/lake`), with [`Options::pipelines`] or [`Options::lake`];
    /// `POST /v1/query` reads it.
    pub lake: Option<strata_lake::Lake>,
    /// The data directory (event log, lake).
    pub dir: std::path::PathBuf,
    /// Stops the pipelines, with [`Options::pipelines`].
    pipelines: Option<tokio_util::sync::CancellationToken>,
    _tdb: TestDb,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(p) = self.pipelines.take() {
            p.cancel();
        }
    }
}

/// How a test server differs from the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Requests per second per caller (0: unlimited).
    pub rate_limit: f64,
    /// Reach PostgreSQL through this address (a relay the test controls) instead of directly.
    pub postgres_via: Option<SocketAddr>,
    /// Events a stream may hold unacknowledged by the `lake` consumer before ingest answers 503
    /// (0: no bound).
    pub max_backlog: u64,
    /// Run the three telemetry pipelines (log → an embedded lake under the data directory, 200 ms
    /// roll interval), as `strata serve` does, and report them on /metrics and /api/health.
    pub pipelines: bool,
    /// Serve an embedded lake (tables created) under the data directory at `/iceberg`.
    pub lake: bool,
    /// With `lake`: answer the staff analytics from it (a DuckDB engine of the server's own).
    pub analytics: bool,
}

pub async fn start() -> Server {
    start_with(Options::default()).await
}

pub async fn start_with(options: Options) -> Server {
    start_customized(options, |state| state).await
}

/// [`start_with`], with `customize` applied to the state last (a workflow engine, a webhook
/// secret, …).
pub async fn start_customized(
    options: Options,
    customize: impl FnOnce(strata_server::AppState) -> strata_server::AppState,
) -> Server {
    let tdb = TestDb::create().await;
    let dir = tempfile::tempdir().expect("create a temporary data directory");
    let url = match options.postgres_via {
        Some(via) => {
            let parsed: url::Url = tdb.url.parse().expect("test database url");
            format!("postgres://{}@{via}{}", parsed.username(), parsed.path())
        }
        None => tdb.url.clone(),
    };
    let db = strata_domain::Database::connect(&strata_domain::DbConfig::new(Some(url), dir.path()))
        .await
        .expect("connect to the test database");
    let db = Arc::new(db);
    let mut client = db.client().await.expect("client");
    strata_schema::migrate::apply(&mut client, &SchemaSource::embedded(), |_, _, _| {})
        .await
        .expect("apply");
    let c: &mut tokio_postgres::Client = &mut client;
    let (admin, admin_key) = key(c, "admin", "*").await;
    let (_, read_key) = key(c, "reader", "order:read").await;
    let (_, order_key) = key(c, "orders", "order:write").await;
    let (_, product_read_key) = key(c, "catalog reader", "product:read").await;
    drop(client);
    let schema = Arc::new(strata_schema::embedded().expect("schema"));
    let verifier = Verifier::new(VerifierConfig {
        cache_ttl: std::time::Duration::ZERO,
        ..VerifierConfig::default()
    });
    let log = Arc::new(SwitchableLog {
        inner: SqliteLog::open(dir.path(), SqliteOptions::default()).expect("event log"),
        failing: AtomicBool::new(false),
    });
    let events: Arc<dyn EventLog> = log.clone();
    let mut state = strata_server::state(
        db.clone(),
        schema,
        verifier,
        options.rate_limit,
        events.clone(),
    )
    .with_backlog(strata_server::backlog::Backlog::new(
        options.max_backlog,
        "lake",
    ));
    let (mut lake, mut pipelines) = (None, None);
    if options.lake && !options.pipelines {
        let opened = strata_lake::Lake::open(strata_lake::LakeConfig::embedded(dir.path()))
            .await
            .expect("lake");
        opened.ensure_tables().await.expect("lake tables");
        state = state.with_lake_catalog(opened.embedded_catalog().cloned());
        if options.analytics {
            let engine = strata_query::QueryEngine::open(
                opened.clone(),
                strata_query::QueryOptions::under(&dir.path().join("server")),
            )
            .await
            .expect("query engine");
            let analytics = strata_server::analytics::Analytics::open(Arc::new(engine))
                .await
                .expect("analytics");
            state = state.with_analytics(Some(Arc::new(analytics)));
        }
        lake = Some(opened);
    }
    if options.pipelines {
        let opened = strata_lake::Lake::open(strata_lake::LakeConfig::embedded(dir.path()))
            .await
            .expect("open the lake");
        if options.lake {
            opened.ensure_tables().await.expect("lake tables");
            state = state.with_lake_catalog(opened.embedded_catalog().cloned());
        }
        let mut config = strata_pipeline::PipelineConfig::default();
        config.batch.roll_interval = std::time::Duration::from_millis(200);
        let cancel = tokio_util::sync::CancellationToken::new();
        let set = strata_pipeline::PipelineSet::start(
            events,
            opened.clone(),
            &strata_pipeline::Definitions::BuiltIn,
            config,
            cancel.clone(),
        )
        .await
        .expect("start the pipelines");
        let handles = set.handles().to_vec();
        state = state.with_pipelines(Arc::new(move || {
            handles.iter().map(|h| h.stats()).collect()
        }));
        // The tasks run on; cancelling the token (on drop) drains and ends them.
        drop(set);
        lake = Some(opened);
        pipelines = Some(cancel);
    }
    if let Some(lake) = &lake {
        let engine = strata_query::QueryEngine::open(
            lake.clone(),
            strata_query::QueryOptions::under(dir.path()),
        )
        .await
        .expect("DuckDB over the lake");
        state = state.with_query_engine(Some(Arc::new(engine)));
    }
    let state = customize(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, strata_server::router(state))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Server {
        base: format!("http://{addr}"),
        admin_key,
        admin_key_uid: admin.uid,
        admin_principal: admin.principal_uid,
        read_key,
        order_key,
        product_read_key,
        http: Client::new(),
        db,
        log,
        lake,
        dir: dir.path().to_path_buf(),
        pipelines,
        _tdb: tdb,
        _dir: dir,
        stop: Some(tx),
    }
}

async fn key(
    c: &mut tokio_postgres::Client,
    name: &str,
    scopes: &str,
) -> (strata_domain::identity::ApiKeyInfo, String) {
    create_key(c, name, &Scopes::parse_list(scopes).expect("scope"), None)
        .await
        .expect("key")
}

pub type Answer = (StatusCode, reqwest::header::HeaderMap, Value);

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `body` as `application/json` (when given) with `key` (when given).
    pub async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut r = self.http.request(method, self.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        answer(r.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.req(reqwest::Method::GET, path, Some(&self.admin_key), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.req(
            reqwest::Method::POST,
            path,
            Some(&self.admin_key),
            Some(body),
        )
        .await
    }

    /// A POST with a raw body and content type, as the admin.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: &str) -> Answer {
        let mut r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.admin_key)
            .body(body.to_string());
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        answer(r.send().await.expect("request")).await
    }

    /// The document served at `/openapi.json`.
    pub async fn openapi(&self) -> Value {
        let (st, _, doc) = self
            .req(reqwest::Method::GET, "/openapi.json", None, None)
            .await;
        assert_eq!(st, StatusCode::OK);
        doc
    }
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, json)
}

pub fn is_problem(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

/// Checks instances against the document's `components.schemas`, with every `$ref` resolved
/// inside the document.
pub struct Schemas(jsonschema::Validator);

impl Schemas {
    pub fn of(doc: &Value) -> Self {
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let properties: Map<String, Value> = schemas
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    json!({"$ref": format!("#/components/schemas/{k}")}),
                )
            })
            .collect();
        let wrapper = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": {"schemas": schemas},
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        Self(
            jsonschema::options()
                .should_validate_formats(true)
                .build(&wrapper)
                .expect("the component schemas compile"),
        )
    }

    /// The errors of `instance` against `#/components/schemas/<name>` (empty when valid).
    pub fn errors(&self, name: &str, instance: &Value) -> Vec<String> {
        self.0
            .iter_errors(&json!({ name: instance }))
            .take(10)
            .map(|e| format!("{} at {}: {e}", e.schema_path(), e.instance_path()))
            .collect()
    }

    pub fn assert_valid(&self, name: &str, instance: &Value) {
        let errors = self.errors(name, instance);
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{instance:#}");
    }
}
