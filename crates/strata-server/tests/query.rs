//! `POST /v1/query` against a real lake on disk and real API keys (PostgreSQL): answers in JSON,
//! NDJSON and CSV, the row and time limits, read-only refusals before anything runs, scopes per
//! namespace, time travel, and problem+json for every client mistake.

mod common;

use std::time::{Duration, Instant};

use common::{Options, Server, start_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use strata_events::{StreamName, fixtures::commerce};
use strata_lake::LakeTable;

async fn lake_server() -> Server {
    start_with(Options {
        lake: true,
        ..Options::default()
    })
    .await
}

/// Writes events `range` to commerce.telemetry (one commit) and returns the new snapshot id.
async fn commit(s: &Server, range: std::ops::Range<u64>) -> i64 {
    let lake = s.lake.as_ref().expect("the server has a lake");
    let events: Vec<_> = range.map(|i| commerce(i, 3)).collect();
    lake.write_events(StreamName::Commerce, &events, None)
        .await
        .expect("write events");
    lake.load(&LakeTable::Telemetry(StreamName::Commerce).ident())
        .await
        .expect("load")
        .metadata()
        .current_snapshot_id()
        .expect("a snapshot")
}

async fn query(s: &Server, key: Option<&str>, body: Value) -> common::Answer {
    s.req(reqwest::Method::POST, "/v1/query", key, Some(body))
        .await
}

/// The raw answer: status, headers, body text.
async fn raw(
    s: &Server,
    body: Value,
    accept: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut r = s
        .http
        .post(s.url("/v1/query"))
        .bearer_auth(&s.admin_key)
        .json(&body);
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    let resp = r.send().await.expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.expect("body"))
}

fn problem(answer: &common::Answer, status: StatusCode) -> String {
    let (got, headers, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert!(common::is_problem(headers), "{headers:?}");
    body["detail"].as_str().expect("detail").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_read_the_lake_in_json_ndjson_and_csv_and_travel_in_time() {
    let s = lake_server().await;
    let first = commit(&s, 0..200).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = commit(&s, 200..300).await;
    let schemas = common::Schemas::of(&s.openapi().await);

    let (st, headers, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM commerce.telemetry"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    schemas.assert_valid("QueryResult", &body);
    assert_eq!(body["rows"], json!([{"n": 300, "ids": 300}]));
    assert_eq!(body["columns"][0], json!({"name": "n", "type": "Int64"}));
    assert_eq!(
        body["snapshots"],
        json!([{"table": "commerce.telemetry", "snapshot_id": second}])
    );
    assert_eq!(body["truncated"], json!(false));
    assert_eq!(body["row_count"], json!(1));
    assert!(body.get("error").is_none(), "{body}");
    assert_eq!(
        headers["x-strata-snapshots"],
        format!("commerce.telemetry={second}").as_str()
    );
    assert_eq!(headers["x-strata-max-rows"], "10000");

    // Time travel: by snapshot id and by timestamp.
    let (st, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": format!("SELECT count(*) AS n FROM commerce.telemetry AT SNAPSHOT {first}")}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], json!([{"n": 200}]));
    assert_eq!(
        body["snapshots"],
        json!([{"table": format!("commerce.telemetry AT SNAPSHOT {first}"), "snapshot_id": first}])
    );
    let (st, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": format!(
            "SELECT (SELECT count(*) FROM commerce.telemetry AS OF '{}') AS before, \
                    (SELECT count(*) FROM commerce.telemetry) AS now",
            between.to_rfc3339()
        )}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], json!([{"before": 200, "now": 300}]));
    let e = problem(
        &query(
            &s,
            Some(&s.admin_key),
            json!({"sql": "SELECT count(*) FROM commerce.telemetry AT SNAPSHOT 42"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert!(e.contains("no snapshot 42"), "{e}");

    // NDJSON, asked for in the body: one object per row, nulls written out, nothing else.
    let sql =
        "SELECT event_id, event_type, NULL AS nothing FROM commerce.telemetry ORDER BY event_id";
    let (st, headers, text) = raw(&s, json!({"sql": sql, "format": "ndjson"}), None).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 300);
    assert!(
        lines
            .iter()
            .all(|l| l["event_id"].is_string() && l["nothing"].is_null())
    );
    assert!(
        lines
            .iter()
            .all(|l| l.as_object().is_some_and(|o| o.len() == 3))
    );
    // ... or in the Accept header; CSV likewise.
    let (st, headers, text) = raw(&s, json!({"sql": sql}), Some("application/x-ndjson")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    assert_eq!(text.lines().count(), 300);
    let (st, headers, text) = raw(&s, json!({"sql": sql}), Some("text/csv")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("event_id,event_type,nothing"));
    assert_eq!(lines.count(), 300);
    // An empty result still has its header (CSV) or its columns (JSON).
    let (_, _, text) = raw(
        &s,
        json!({"sql": "SELECT event_id FROM commerce.telemetry WHERE false", "format": "csv"}),
        None,
    )
    .await;
    assert_eq!(text, "event_id\n");
    let (st, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": "DESCRIBE commerce.telemetry"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(
        body["rows"].as_array().is_some_and(|r| r.len() > 5),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn results_stream_and_stop_at_the_row_limit() {
    let s = lake_server().await;
    let schemas = common::Schemas::of(&s.openapi().await);

    // JSON: cut at max_rows, and says so; exactly max_rows rows is not a cut.
    let (st, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": "SELECT i FROM range(100000) t(i)", "max_rows": 10}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    schemas.assert_valid("QueryResult", &body);
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(10));
    assert_eq!(body["rows"][9], json!({"i": 9}));
    assert_eq!(body["truncated"], json!(true));
    assert_eq!(body["row_count"], json!(10));
    let (_, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": "SELECT i FROM range(10) t(i)", "max_rows": 10}),
    )
    .await;
    assert_eq!(body["truncated"], json!(false), "{body}");
    // Across batches (DuckDB hands over 2048 rows at a time).
    let (_, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": "SELECT i FROM range(100000) t(i)", "max_rows": 5000}),
    )
    .await;
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(5000));
    assert_eq!(body["rows"][4999], json!({"i": 4999}));

    // NDJSON and CSV end with a marker line when cut.
    let (_, _, text) = raw(
        &s,
        json!({"sql": "SELECT i FROM range(100000) t(i)", "max_rows": 3, "format": "ndjson"}),
        None,
    )
    .await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[3],
        json!({"$strata": {"truncated": true, "row_count": 3, "max_rows": 3}})
    );
    let (_, _, text) = raw(
        &s,
        json!({"sql": "SELECT i FROM range(100000) t(i)", "max_rows": 3, "format": "csv"}),
        None,
    )
    .await;
    assert_eq!(
        text,
        "i\n0\n1\n2\n# strata: truncated at max_rows=3 (3 rows sent)\n"
    );

    // Compressed answers end cleanly too (the compression layer polls past the end).
    for format in ["json", "ndjson", "csv"] {
        let resp = s
            .http
            .post(s.url("/v1/query"))
            .bearer_auth(&s.admin_key)
            .header("accept-encoding", "gzip")
            .json(&json!({"sql": "SELECT i FROM range(5000) t(i)", "format": format}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        let body = resp.bytes().await.expect("the whole compressed body");
        assert!(body.len() > 100, "{format}");
    }

    // A large result arrives in pieces as DuckDB produces it, not as one buffered body.
    let resp = s
        .http
        .post(s.url("/v1/query"))
        .bearer_auth(&s.admin_key)
        .json(&json!({"sql": "SELECT i, i * 2 AS j FROM range(1000000) t(i)", "max_rows": 1000000, "format": "ndjson"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-length").is_none());
    let mut resp = resp;
    let mut chunks = 0;
    let mut bytes = 0;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        chunks += 1;
        bytes += chunk.len();
    }
    assert!(chunks > 10, "{chunks} chunks");
    assert!(bytes > 10_000_000, "{bytes} bytes");

    // A client that goes away stops its query: the next one runs at once.
    let mut resp = s
        .http
        .post(s.url("/v1/query"))
        .bearer_auth(&s.admin_key)
        .json(&json!({"sql": "SELECT a.range AS a, b.range AS b FROM range(1000000) a, range(1000000) b", "max_rows": 1000000, "timeout_ms": 25000}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.chunk().await.expect("a first chunk").is_some());
    drop(resp);
    let started = Instant::now();
    let (st, _, body) = query(&s, Some(&s.admin_key), json!({"sql": "SELECT 1 AS one"})).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_past_its_time_limit_is_stopped_with_408() {
    let s = lake_server().await;
    let started = Instant::now();
    let answer = query(
        &s,
        Some(&s.admin_key),
        json!({
            "sql": "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b",
            "timeout_ms": 300,
        }),
    )
    .await;
    let e = problem(&answer, StatusCode::REQUEST_TIMEOUT);
    assert!(e.contains("300 ms"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The engine is free and not left interrupted.
    for _ in 0..3 {
        let (st, _, body) = query(&s, Some(&s.admin_key), json!({"sql": "SELECT 42 AS x"})).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["rows"], json!([{"x": 42}]));
    }
    // A stream that outlives its limit (its client reads too slowly) ends with the error in
    // the body: the status was sent with the first rows.
    let mut resp = s
        .http
        .post(s.url("/v1/query"))
        .bearer_auth(&s.admin_key)
        .json(&json!({
            "sql": "SELECT a.range AS a, b.range AS b FROM range(1000000) a, range(1000000) b",
            "max_rows": 1000000,
            "timeout_ms": 1000,
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut text = Vec::new();
    text.extend_from_slice(&resp.chunk().await.expect("chunk").expect("a first chunk"));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        text.extend_from_slice(&chunk);
    }
    let body: Value = serde_json::from_slice(&text).expect("a whole JSON document");
    assert_eq!(body["truncated"], json!(true), "{}", body["row_count"]);
    assert_eq!(body["error"]["status"], json!(408), "{}", body["error"]);
    let rows = body["row_count"].as_u64().expect("row_count");
    assert!(rows > 0 && rows < 1_000_000, "{rows}");
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(rows as usize));
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_that_are_not_read_only_queries_are_refused_before_they_run() {
    let s = lake_server().await;
    let dir = s.dir.display().to_string();
    for (sql, kind) in [
        (format!("COPY (SELECT 1) TO '{dir}/x.csv'"), "COPY"),
        (format!("ATTACH '{dir}/x.db' AS x"), "ATTACH"),
        ("INSTALL httpfs".to_owned(), "INSTALL"),
        ("LOAD httpfs".to_owned(), "LOAD"),
        ("CREATE TABLE t AS SELECT 1".to_owned(), "CREATE TABLE"),
        (
            "CREATE VIEW commerce.v AS SELECT 1".to_owned(),
            "CREATE VIEW",
        ),
        (
            "INSERT INTO commerce.telemetry SELECT * FROM commerce.telemetry".to_owned(),
            "INSERT",
        ),
        ("DROP VIEW commerce.telemetry".to_owned(), "DROP"),
        ("PRAGMA enable_profiling".to_owned(), "PRAGMA"),
        ("SET enable_external_access = true".to_owned(), "SET"),
        (
            "SELECT 1; DROP VIEW commerce.telemetry".to_owned(),
            "one statement",
        ),
        (
            "SELECT * FROM read_csv('/etc/passwd')".to_owned(),
            "read_csv",
        ),
        (
            "SELECT * FROM read_text('/etc/passwd')".to_owned(),
            "read_text",
        ),
        ("SELECT * FROM query('SELECT 1')".to_owned(), "query"),
    ] {
        let answer = query(&s, Some(&s.admin_key), json!({"sql": sql})).await;
        let e = problem(&answer, StatusCode::BAD_REQUEST);
        assert!(e.contains(kind), "{sql}: {e}");
    }
    // A file named as a table is not a lake table.
    let e = problem(
        &query(
            &s,
            Some(&s.admin_key),
            json!({"sql": "SELECT * FROM \"/etc/passwd.csv\""}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert!(e.contains("not a lake table"), "{e}");
    // Nothing was written: no file, and the lake's view is intact.
    assert!(!s.dir.join("x.csv").exists() && !s.dir.join("x.db").exists());
    let (st, _, body) = query(
        &s,
        Some(&s.admin_key),
        json!({"sql": "SELECT count(*) AS n FROM commerce.telemetry"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], json!([{"n": 0}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_read_only_the_namespaces_their_scopes_allow() {
    let s = lake_server().await;
    commit(&s, 0..10).await;
    let commerce = json!({"sql": "SELECT count(*) AS n FROM commerce.telemetry"});
    let sync = json!({"sql": "SELECT count(*) AS n FROM sync.telemetry"});
    let both = json!({"sql": "SELECT * FROM commerce.telemetry, Sync.Telemetry"});

    problem(
        &query(&s, None, commerce.clone()).await,
        StatusCode::UNAUTHORIZED,
    );
    problem(
        &query(&s, Some("sk_nope_nope"), commerce.clone()).await,
        StatusCode::UNAUTHORIZED,
    );
    // order:read reads commerce, not sync (governance), nor a join that touches sync.
    let (st, _, body) = query(&s, Some(&s.read_key), commerce.clone()).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], json!([{"n": 10}]));
    let e = problem(
        &query(&s, Some(&s.read_key), sync.clone()).await,
        StatusCode::FORBIDDEN,
    );
    assert!(e.contains("governance:read"), "{e}");
    let e = problem(
        &query(&s, Some(&s.read_key), both).await,
        StatusCode::FORBIDDEN,
    );
    assert!(e.contains("sync.telemetry"), "{e}");
    // Hidden in a subquery, a CTE or time travel: still checked.
    for sql in [
        "SELECT (SELECT count(*) FROM sync.telemetry)",
        "WITH x AS (SELECT * FROM sync.telemetry) SELECT count(*) FROM x",
        "SELECT count(*) FROM sync.telemetry AS OF '2030-01-01T00:00:00Z'",
        "DESCRIBE sync.telemetry",
    ] {
        problem(
            &query(&s, Some(&s.read_key), json!({"sql": sql})).await,
            StatusCode::FORBIDDEN,
        );
    }
    // product:read reads no lake namespace; a query over no table needs only a valid key.
    problem(
        &query(&s, Some(&s.product_read_key), commerce).await,
        StatusCode::FORBIDDEN,
    );
    let (st, _, body) = query(
        &s,
        Some(&s.product_read_key),
        json!({"sql": "SELECT 1 AS one"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    // `*` reads everything.
    let (st, _, _) = query(&s, Some(&s.admin_key), sync).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_mistakes_are_problems_not_500s() {
    let s = lake_server().await;
    for (body, status) in [
        (json!({"sql": "SELEC 1"}), StatusCode::BAD_REQUEST),
        (json!({"sql": "   "}), StatusCode::BAD_REQUEST),
        (
            json!({"sql": "SELECT 1", "max_rows": null, "timeout_ms": null, "format": null}),
            StatusCode::OK,
        ),
        (
            json!({"sql": "SELECT no_such_column FROM commerce.telemetry"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"sql": "SELECT 1/'x'"}), StatusCode::BAD_REQUEST),
        (
            json!({"sql": "SELECT * FROM commerce.nope"}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"sql": "SELECT * FROM nope"}), StatusCode::NOT_FOUND),
        (
            json!({"sql": "SELECT * FROM commerce.telemetry AT SNAPSHOT latest"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"sql": "SELECT * FROM commerce.telemetry AS OF 'yesterday'"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"sql": "SELECT 1", "max_rows": 1_000_001}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"sql": "SELECT 1", "timeout_ms": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"sql": "SELECT 1", "timeout_ms": 60_000}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"sql": "SELECT 1", "format": "xml"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"sql": "SELECT 1", "limit": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(["SELECT 1"]), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let answer = query(&s, Some(&s.admin_key), body.clone()).await;
        if status == StatusCode::OK {
            assert_eq!(answer.0, status, "{body}: {}", answer.2);
        } else {
            problem(&answer, status);
        }
    }
    let (st, headers, _) = s
        .post_raw("/v1/query", Some("text/plain"), "SELECT 1")
        .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(common::is_problem(&headers));
    let (st, _, _) = s.post_raw("/v1/query", Some("application/json"), "{").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_lake_there_is_nothing_to_query() {
    let s = start_with(Options::default()).await;
    let answer = query(&s, Some(&s.admin_key), json!({"sql": "SELECT 1"})).await;
    problem(&answer, StatusCode::NOT_FOUND);
}
