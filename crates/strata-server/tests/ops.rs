//! The operations endpoints through real HTTP, with the real pipelines writing a real lake:
//! `/metrics` (parsed as Prometheus text; counters move after an NDJSON ingest) and `/api/health`
//! (200 with pipelines running, its shape without them; the 503 of a database outage is in
//! resilience.rs).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

mod common;

use common::{Options, Schemas, Server, start, start_with};

/// `/metrics`, parsed: `name{labels}` → value; checks the text format on the way.
async fn scrape(s: &Server) -> BTreeMap<String, f64> {
    let resp = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = resp.text().await.expect("body");
    let mut typed = std::collections::HashSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().expect("a name");
            let kind = parts.next().expect("a type");
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(typed.insert(name.to_owned()), "TYPE twice: {line}");
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let name = series.split('{').next().expect("a metric name");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        assert!(typed.contains(name), "a sample before its TYPE: {line}");
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        assert!(
            samples.insert(series.to_owned(), v).is_none(),
            "duplicate series: {line}"
        );
    }
    samples
}

async fn health(s: &Server) -> (StatusCode, Value) {
    let (st, headers, body) = s.req(reqwest::Method::GET, "/api/health", None, None).await;
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "{headers:?}"
    );
    (st, body)
}

fn stream<'a>(health: &'a Value, name: &str) -> &'a Value {
    health["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["stream"] == name)
        .unwrap_or_else(|| panic!("stream {name} in {health:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_health_follow_an_ndjson_batch_into_the_lake() {
    let s = start_with(Options {
        pipelines: true,
        ..Options::default()
    })
    .await;
    let schemas = Schemas::of(&s.openapi().await);

    // Running: 200, every stream's pipeline named, nothing lagging. Public: no key.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let (st, body) = health(&s).await;
        assert_eq!(st, StatusCode::OK, "{body:#}");
        schemas.assert_valid("ApiHealth", &body);
        if body["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .all(|x| x["state"] == "running")
        {
            break body;
        }
        assert!(Instant::now() < deadline, "pipelines not running: {body:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(first["status"], "ok", "{first:#}");
    assert_eq!(first["pipelines"], true);
    assert_eq!(first["database"], true);
    assert_eq!(first["event_log"], true);
    assert_eq!(first["streams"].as_array().map(Vec::len), Some(3));
    assert_eq!(stream(&first, "publication")["lag"], 0);

    let before = scrape(&s).await;
    let out = r#"strata_pipeline_events_out_total{stream="publication"}"#;
    let head = r#"strata_stream_head_offset{stream="publication"}"#;
    assert_eq!(before.get(out), Some(&0.0), "{before:#?}");
    assert_eq!(before.get(head), Some(&0.0), "{before:#?}");
    assert_eq!(before.get("strata_pipelines_enabled"), Some(&1.0));
    assert_eq!(
        before.get(r#"strata_pipeline_state{stream="commerce",state="running"}"#),
        Some(&1.0)
    );

    // NDJSON over HTTP: 3 good events, a malformed line and an unknown type, by line.
    let now = chrono::Utc::now().to_rfc3339();
    let event = |kind: &str| {
        json!({"event_type": kind, "occurred_ts": now, "source": "partner:pub_x",
            "publisher_uid": "pub_01HZY3K5V6W7X8Y9Z0ABCDEFGH"})
        .to_string()
    };
    let body = [
        event("click"),
        String::new(),
        "{not json".to_owned(),
        event("impression"),
        event("teleport"),
        event("view"),
    ]
    .join("\n");
    let (st, _, answer) = s
        .post_raw(
            "/v1/telemetry/publication",
            Some("application/x-ndjson"),
            &body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{answer:#}");
    assert_eq!(answer["accepted_count"], 3, "{answer:#}");
    assert_eq!(answer["rejected_count"], 2, "{answer:#}");
    let lines: Vec<&Value> = answer["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| &r["line"])
        .collect();
    assert_eq!(lines, [&json!(3), &json!(5)], "{answer:#}");

    // The counters follow the batch into the lake.
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        let m = scrape(&s).await;
        if m.get(out) == Some(&3.0) {
            break m;
        }
        assert!(Instant::now() < deadline, "not committed: {m:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(after.get(head), Some(&3.0), "{after:#?}");
    assert_eq!(
        after.get(r#"strata_pipeline_events_in_total{stream="publication"}"#),
        Some(&3.0)
    );
    assert!(after[r#"strata_pipeline_commits_total{stream="publication"}"#] >= 1.0);
    let lag = r#"strata_stream_consumer_lag_events{stream="publication",consumer="lake"}"#;
    let acked = r#"strata_stream_consumer_offset{stream="publication",consumer="lake"}"#;
    // The log's acknowledgement follows the commit.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut m = after.clone();
    while m.get(acked) != Some(&3.0) {
        assert!(Instant::now() < deadline, "not acknowledged: {m:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        m = scrape(&s).await;
    }
    assert_eq!(m.get(lag), Some(&0.0), "{m:#?}");
    let ok = r#"strata_http_requests_total{class="2xx"}"#;
    assert!(m[ok] > before[ok], "2xx answers counted: {m:#?}");

    let lake = s.lake.as_ref().expect("the lake");
    let table = strata_events::StreamName::Publication.lake_table();
    let ident = strata_lake::iceberg::TableIdent::from_strs(table.split('.')).expect("ident");
    assert_eq!(lake.summarize(&ident).await.expect("summary").records, 3);

    let (st, h) = health(&s).await;
    assert_eq!(st, StatusCode::OK, "{h:#}");
    schemas.assert_valid("ApiHealth", &h);
    let p = stream(&h, "publication");
    assert_eq!(p["head_offset"], 3, "{h:#}");
    assert_eq!(p["acked_offset"], 3, "{h:#}");
    assert_eq!(p["lag"], 0, "{h:#}");
    assert_eq!(p["state"], "running", "{h:#}");
    assert!(p["last_commit_age_seconds"].as_f64().is_some(), "{h:#}");
    assert!(p["last_error"].is_null(), "{h:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_pipelines_health_and_metrics_report_the_log() {
    let s = start().await;
    let schemas = Schemas::of(&s.openapi().await);
    let (st, h) = health(&s).await;
    assert_eq!(st, StatusCode::OK, "{h:#}");
    schemas.assert_valid("ApiHealth", &h);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["pipelines"], false);
    for x in h["streams"].as_array().expect("streams") {
        assert!(x["state"].is_null(), "{h:#}");
        assert_eq!(x["head_offset"], 0, "{h:#}");
    }
    let m = scrape(&s).await;
    assert_eq!(m.get("strata_pipelines_enabled"), Some(&0.0));
    assert_eq!(m.get("strata_event_log_up"), Some(&1.0));
    assert!(
        !m.keys().any(|k| k.starts_with("strata_pipeline_")),
        "{m:#?}"
    );

    // GET only, answered as problem+json like every other error.
    let (st, _, _) = s.req(reqwest::Method::POST, "/metrics", None, None).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
}
