//! Operations endpoints, public like `/healthz`: `/metrics` (Prometheus text) and `/api/health`
//! (JSON, 503 when something needs a person), over the event log, the pipelines this process
//! runs (if any) and the requests it answered.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use strata_events::{StreamName, StreamStats};
use strata_pipeline::{DEFAULT_CONSUMER, PipelineState, PipelineStats, render_prometheus};

use crate::state::AppState;

/// The running pipelines' metrics, read on every `/metrics` and `/api/health` request.
pub type PipelineStatsFn = Arc<dyn Fn() -> Vec<PipelineStats> + Send + Sync>;

/// The content type of the Prometheus text exposition format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Requests answered, by status class (1xx … 5xx).
#[derive(Debug, Default)]
pub struct HttpCounts([AtomicU64; 5]);

impl HttpCounts {
    fn record(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100);
        if let Some(c) = class.checked_sub(1).and_then(|i| self.0.get(i)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests answered with a status of class `class` (1 to 5) so far.
    pub fn get(&self, class: usize) -> u64 {
        class
            .checked_sub(1)
            .and_then(|i| self.0.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// Middleware: counts every answer by status class.
pub async fn count_requests(
    State(counts): State<Arc<HttpCounts>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let resp = next.run(req).await;
    counts.record(resp.status());
    resp
}

/// `GET /metrics`: the pipelines' metrics (when this process runs them), each stream's log head
/// and consumer offsets, and HTTP answers by status class.
pub async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    if let Some(stats) = &s.pipelines {
        out.push_str(&render_prometheus(&stats()));
    }
    let _ = writeln!(
        out,
        "# HELP strata_pipelines_enabled 1 if this process runs the telemetry pipelines."
    );
    let _ = writeln!(out, "# TYPE strata_pipelines_enabled gauge");
    let _ = writeln!(
        out,
        "strata_pipelines_enabled {}",
        u8::from(s.pipelines.is_some())
    );

    let streams = log_stats(&s).await;
    let ok: Vec<&StreamStats> = streams.iter().filter_map(|r| r.as_ref().ok()).collect();
    let _ = writeln!(
        out,
        "# HELP strata_event_log_up 1 if every stream's log could be read for this scrape."
    );
    let _ = writeln!(out, "# TYPE strata_event_log_up gauge");
    let _ = writeln!(
        out,
        "strata_event_log_up {}",
        u8::from(ok.len() == streams.len())
    );
    let _ = writeln!(
        out,
        "# HELP strata_stream_head_offset Offset of the last event appended to the stream's log."
    );
    let _ = writeln!(out, "# TYPE strata_stream_head_offset gauge");
    for st in &ok {
        let _ = writeln!(
            out,
            "strata_stream_head_offset{{stream=\"{}\"}} {}",
            st.stream.slug(),
            st.head_offset
        );
    }
    let _ = writeln!(
        out,
        "# HELP strata_stream_consumer_offset Last offset the consumer acknowledged."
    );
    let _ = writeln!(out, "# TYPE strata_stream_consumer_offset gauge");
    for st in &ok {
        for c in &st.consumers {
            let _ = writeln!(
                out,
                "strata_stream_consumer_offset{{stream=\"{}\",consumer=\"{}\"}} {}",
                st.stream.slug(),
                escape_label(&c.name),
                c.committed
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP strata_stream_consumer_lag_events Events in the log the consumer has not acknowledged."
    );
    let _ = writeln!(out, "# TYPE strata_stream_consumer_lag_events gauge");
    for st in &ok {
        for c in &st.consumers {
            let _ = writeln!(
                out,
                "strata_stream_consumer_lag_events{{stream=\"{}\",consumer=\"{}\"}} {}",
                st.stream.slug(),
                escape_label(&c.name),
                st.head_offset.saturating_sub(c.committed)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP strata_http_requests_total HTTP requests answered, by status class."
    );
    let _ = writeln!(out, "# TYPE strata_http_requests_total counter");
    for class in 1..=5 {
        let _ = writeln!(
            out,
            "strata_http_requests_total{{class=\"{class}xx\"}} {}",
            s.http_counts.get(class)
        );
    }
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
    );
    resp
}

async fn log_stats(s: &AppState) -> Vec<Result<StreamStats, String>> {
    let mut out = Vec::with_capacity(StreamName::ALL.len());
    for stream in StreamName::ALL {
        out.push(s.events.stats(stream).await.map_err(|e| e.to_string()));
    }
    out
}

/// Prometheus label values escape `\`, `"` and newlines.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /api/health`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`; `degraded` (a pipeline is retrying or reported an error: still 200); `failing` (503).
    pub status: &'static str,
    /// Whether a database round trip succeeded.
    pub database: bool,
    /// Whether every stream's log could be read.
    pub event_log: bool,
    /// Whether this process runs the pipelines (`strata serve --no-pipelines`: false).
    pub pipelines: bool,
    /// Whether this server has a workflow engine (`/v1/workflows`).
    pub workflows: bool,
    /// The latest `daily_shopify_sync` instance (`id`, `status`, `created_at`, `finished_at`,
    /// `error`); absent when there is none (or no engine, or its store cannot be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<serde_json::Value>,
    /// What made the status other than `ok`, one sentence each.
    pub problems: Vec<String>,
    /// One entry per stream.
    pub streams: Vec<StreamHealth>,
}

/// One stream's health.
#[derive(Debug, Serialize)]
pub struct StreamHealth {
    /// `commerce`, `publication`, `sync`.
    pub stream: &'static str,
    /// Its Iceberg table.
    pub table: &'static str,
    /// The pipeline's state; null when this process does not run the pipelines.
    pub state: Option<PipelineState>,
    /// The log's head offset (null if the log could not be read).
    pub head_offset: Option<u64>,
    /// The lake pipeline's acknowledged offset in the log.
    pub acked_offset: Option<u64>,
    /// `head_offset - acked_offset`: events not yet in the lake.
    pub lag: Option<u64>,
    /// Seconds since the pipeline's last commit in this process (null: none yet).
    pub last_commit_age_seconds: Option<f64>,
    /// The pipeline's last error, cleared by its next successful commit.
    pub last_error: Option<String>,
}

/// `GET /api/health`: 200 while the database answers and no pipeline has failed, 503 otherwise;
/// the body says which stream is where in either case.
pub async fn health(State(s): State<AppState>) -> Response {
    let database = match s.db.client().await {
        Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    let pipeline_stats = s.pipelines.as_ref().map(|f| f()).unwrap_or_default();
    let logs = log_stats(&s).await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut problems = Vec::new();
    let mut failing = !database;
    let mut degraded = false;
    if !database {
        problems.push("the database does not answer".to_owned());
    }
    let mut streams = Vec::new();
    for (stream, log) in StreamName::ALL.into_iter().zip(&logs) {
        let p = pipeline_stats.iter().find(|p| p.stream == stream.slug());
        let (head, acked) = match log {
            Ok(st) => {
                let acked = st
                    .consumers
                    .iter()
                    .find(|c| c.name == DEFAULT_CONSUMER)
                    .map_or(0, |c| c.committed);
                (Some(st.head_offset), Some(acked))
            }
            Err(e) => {
                failing = true;
                problems.push(format!(
                    "{}: the event log cannot be read: {e}",
                    stream.slug()
                ));
                (None, p.map(|p| p.acked_offset))
            }
        };
        if let Some(p) = p {
            match p.state {
                PipelineState::Failed => {
                    failing = true;
                    problems.push(format!(
                        "{}: the pipeline failed: {}",
                        stream.slug(),
                        p.last_error.as_deref().unwrap_or("no error recorded")
                    ));
                }
                PipelineState::Retrying => {
                    degraded = true;
                    problems.push(format!(
                        "{}: the pipeline is retrying: {}",
                        stream.slug(),
                        p.last_error.as_deref().unwrap_or("no error recorded")
                    ));
                }
                _ if p.last_error.is_some() => degraded = true,
                _ => {}
            }
        }
        streams.push(StreamHealth {
            stream: stream.slug(),
            table: stream.lake_table(),
            state: p.map(|p| p.state),
            head_offset: head,
            acked_offset: acked,
            lag: head.zip(acked).map(|(h, a)| h.saturating_sub(a)),
            last_commit_age_seconds: p
                .and_then(|p| p.last_commit_unix_ms)
                .map(|ms| (now_ms.saturating_sub(ms)).max(0) as f64 / 1000.0),
            last_error: p.and_then(|p| p.last_error.clone()),
        });
    }
    // The workflow store: a read failure degrades (the API and the lake still work).
    let last_sync = match crate::routes::workflows::last_sync(&s).await {
        Ok(v) => v,
        Err(e) => {
            degraded = true;
            problems.push(format!("workflows: the workflow store cannot be read: {e}"));
            None
        }
    };
    let (status, code) = if failing {
        ("failing", StatusCode::SERVICE_UNAVAILABLE)
    } else if degraded {
        ("degraded", StatusCode::OK)
    } else {
        ("ok", StatusCode::OK)
    };
    let body = Health {
        status,
        database,
        event_log: logs.iter().all(Result::is_ok),
        pipelines: s.pipelines.is_some(),
        workflows: s.workflows.is_some(),
        last_sync,
        problems,
        streams,
    };
    (code, axum::Json(body)).into_response()
}
