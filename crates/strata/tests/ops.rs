//! The operability commands end to end, driving the built binary: `strata events send` (arrays,
//! NDJSON, stdin, rejections and exit codes), the pipelines taking the events into the lake
//! (`strata pipeline run`, and `strata serve` while `events send` shares its data directory),
//! `strata lake tables | describe | snapshots`, and serve's `/api/health` and `/metrics`.

mod common;

use common::{run, show, stdout, strata_in};

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// `strata --data-dir <data>`, isolated from the caller's environment, quiet logs.
fn strata(data: &Path) -> Command {
    let mut cmd = strata_in(data.parent().expect("a parent"));
    cmd.arg("--data-dir").arg(data);
    cmd
}

/// Runs with `input` on stdin.
fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the strata binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for strata")
}

fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(out)))
}

fn event_id() -> String {
    format!("evt_{}", ulid::Ulid::new())
}

/// A valid publication event.
fn publication(kind: &str, id: Option<&str>) -> Value {
    let mut e = json!({
        "event_type": kind,
        "occurred_ts": chrono::Utc::now().to_rfc3339(),
        "source": "partner:pub_x",
        "publisher_uid": "pub_01HZY3K5V6W7X8Y9Z0ABCDEFGH",
    });
    if let Some(id) = id {
        e["event_id"] = json!(id);
    }
    e
}

/// SIGTERM, then the exit status (the pipelines drain first).
fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("strata did not stop within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `strata lake tables --json`: table → its summary.
fn lake_tables(data: &Path) -> Vec<Value> {
    let out = run(strata(data).args(["lake", "tables", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    json_out(&out).as_array().expect("an array").clone()
}

fn records(tables: &[Value], table: &str) -> Option<u64> {
    tables
        .iter()
        .find(|t| t["table"] == table)
        .and_then(|t| t["records"].as_u64())
}

/// Polls `strata lake tables` until `table` holds `rows`.
fn wait_for_rows(data: &Path, table: &str, rows: u64, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("strata ended early: {status}");
        }
        if data.join("lake/catalog.db").exists() && records(&lake_tables(data), table) == Some(rows)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{table} never held {rows} rows: {:#?}",
            lake_tables(data)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn events_send_then_pipeline_run_then_lake_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    // No lake yet: the error says what creates one.
    let out = run(strata(&data).args(["lake", "tables"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("strata pipeline run"),
        "{}",
        show(&out)
    );

    // A JSON array file, one event rejected: the others are appended, exit code 1.
    let kept = event_id();
    let batch = json!([
        publication("click", Some(&kept)),
        publication("teleport", None),
        publication("impression", None),
    ]);
    let file = dir.path().join("batch.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&batch).expect("json")).expect("write");
    let out = run(strata(&data)
        .args(["events", "send", "publication"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3 events read")
            && text.contains("2 accepted (2 new, 0 already in the log), 1 rejected")
            && text.contains("rejected #1")
            && text.contains("teleport"),
        "{}",
        show(&out)
    );

    // NDJSON on stdin (detected), one event already in the log: all accepted, exit code 0.
    let ndjson = [
        publication("view", None).to_string(),
        String::new(),
        publication("click", Some(&kept)).to_string(),
        publication("impression", None).to_string(),
    ]
    .join("\n");
    let out = run_with_stdin(
        strata(&data).args(["events", "send", "publication", "-", "--json"]),
        &ndjson,
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let answer = json_out(&out);
    assert_eq!(answer["accepted_count"], 3, "{answer:#}");
    assert_eq!(answer["duplicate_count"], 1, "{answer:#}");
    assert_eq!(answer["rejected_count"], 0, "{answer:#}");
    assert_eq!(answer["head_offset"], 4, "{answer:#}");
    let dup = answer["accepted"]
        .as_array()
        .expect("accepted")
        .iter()
        .find(|a| a["duplicate"] == true)
        .expect("a duplicate");
    assert_eq!(dup["event_id"], json!(kept));
    assert_eq!(dup["offset"], 1);

    // NDJSON rejections carry their line; --json lists them with reasons.
    let file = dir.path().join("bad.ndjson");
    std::fs::write(&file, "{\"event_type\": \"click\"\nnot json\n").expect("write");
    let out = run(strata(&data)
        .args(["events", "send", "publication", "--json"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let answer = json_out(&out);
    assert_eq!(answer["rejected_count"], 2, "{answer:#}");
    assert_eq!(answer["rejected"][1]["line"], 2, "{answer:#}");
    assert!(
        answer["rejected"][0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );

    // A batch refused as a whole appends nothing: exit code 2.
    let out = run(strata(&data)
        .args(["events", "send", "publication", "--format", "json"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing was appended"),
        "{}",
        show(&out)
    );
    let out = run(strata(&data).args(["events", "send", "clicks", "-"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("commerce, publication, sync"),
        "{}",
        show(&out)
    );

    // The pipelines take the 4 events into the lake.
    let mut child = strata(&data)
        .args([
            "pipeline",
            "run",
            "--roll-interval",
            "0.2",
            "--progress-interval",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strata pipeline run");
    wait_for_rows(&data, "publication.telemetry", 4, &mut child);
    let status = terminate(&mut child);
    let mut log = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut log));
    assert!(status.success(), "pipeline run: {status}\n{log}");

    // tables: every table, the telemetry one with its rows.
    let tables = lake_tables(&data);
    assert_eq!(tables.len(), 6, "{tables:#?}");
    assert_eq!(records(&tables, "commerce.telemetry"), Some(0));
    let out = run(strata(&data).args(["lake", "tables"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.starts_with("TABLE"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("publication.telemetry"))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[2], "4", "ROWS column: {row}");

    // describe: schema with field ids, day partitions, properties, files, totals.
    let out = run(strata(&data).args(["lake", "describe", "publication.telemetry", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let d = json_out(&out);
    assert_eq!(d["records"], 4, "{d:#}");
    assert!(d["columns"][0]["id"].as_i64().is_some(), "{d:#}");
    assert!(
        d["partition_spec"][0]
            .as_str()
            .is_some_and(|p| p.starts_with("day(")),
        "{d:#}"
    );
    assert!(d["sort_order"].is_array(), "{d:#}");
    assert!(!d["files"].as_array().expect("files").is_empty(), "{d:#}");
    assert!(d["properties"].as_object().is_some_and(|p| !p.is_empty()));
    let out = run(strata(&data).args(["lake", "describe", "publication.telemetry"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    for part in [
        "Schema",
        "Partition spec",
        "Sort order",
        "Properties",
        "Snapshots",
        "Live files",
        "Total: 4 rows",
        "publisher_uid",
    ] {
        assert!(text.contains(part), "describe shows {part}:\n{text}");
    }

    // snapshots: the commits add up to the rows, each naming its offsets.
    let out = run(strata(&data).args(["lake", "snapshots", "publication.telemetry", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let snaps = json_out(&out);
    let snaps = snaps.as_array().expect("snapshots");
    let added: u64 = snaps
        .iter()
        .filter_map(|s| s["summary"]["added-records"].as_str())
        .map(|n| n.parse::<u64>().expect("a count"))
        .sum();
    assert_eq!(added, 4, "{snaps:#?}");
    let last = snaps.last().expect("a snapshot");
    assert!(
        last["commit_id"]
            .as_str()
            .is_some_and(|c| c.ends_with("-4")),
        "{last:#}"
    );
    assert_eq!(last["operation"], "append");
    let out = run(strata(&data).args(["lake", "snapshots", "publication.telemetry"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout(&out).contains("COMMIT ID"), "{}", show(&out));

    // query: DuckDB over the same snapshot, in every format; time travel; refusals exit 2.
    let snapshot = last["snapshot_id"].as_i64().expect("a snapshot id");
    let out = run(strata(&data).args([
        "query",
        "SELECT event_type, count(*) AS n FROM publication.telemetry GROUP BY ALL ORDER BY ALL",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("event_type") && text.contains("| n "),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("publication.telemetry at snapshot {snapshot}")),
        "{}",
        show(&out)
    );
    let out = run(strata(&data).args([
        "query",
        "--format",
        "json",
        &format!("SELECT count(*) AS n FROM publication.telemetry AT SNAPSHOT {snapshot}"),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(json_out(&out), serde_json::json!([{"n": 4}]));
    let out = run(strata(&data).args([
        "query",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM commerce.telemetry",
    ]));
    assert_eq!(stdout(&out), "n\n0\n", "{}", show(&out));
    let out = run_with_stdin(
        strata(&data).args(["query", "--format", "ndjson", "-"]),
        "SELECT count(*) AS n FROM publication.telemetry",
    );
    assert_eq!(stdout(&out), "{\"n\":4}\n", "{}", show(&out));
    let parquet = data.join("out.parquet");
    let out = run(strata(&data).args([
        "query",
        "--format",
        "parquet",
        "-o",
        parquet.to_str().expect("utf-8 path"),
        "SELECT * FROM publication.telemetry",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        std::fs::read(&parquet)
            .expect("parquet file")
            .starts_with(b"PAR1")
    );
    for sql in [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM publication.telemetry AT SNAPSHOT 1",
    ] {
        let out = run(strata(&data).args(["query", sql]));
        assert_eq!(out.status.code(), Some(2), "{sql}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: "),
            "{}",
            show(&out)
        );
    }

    // An unknown table: the error lists the tables.
    let out = run(strata(&data).args(["lake", "describe", "publication.telemtry"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no table `publication.telemtry`") && err.contains("publication.telemetry"),
        "{}",
        show(&out)
    );
}

/// A plain HTTP/1.1 GET: status and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn events_send_shares_the_data_directory_with_serve() {
    let test_db = common::TestDb::create().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut serve = strata(&data)
        .env("DATABASE_URL", &test_db.url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--roll-interval", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn strata serve");
    let deadline = Instant::now() + Duration::from_secs(180);
    while http_get(port, "/healthz").map(|r| r.0) != Some(200) {
        if let Some(status) = serve.try_wait().expect("wait") {
            panic!("strata serve ended: {status}");
        }
        assert!(Instant::now() < deadline, "strata serve did not come up");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The log is shared: a second process appends while serve (and its pipelines) hold it.
    let batch = json!([
        publication("click", None),
        publication("view", None),
        publication("impression", None),
    ]);
    let out = run_with_stdin(
        strata(&data).args(["events", "send", "publication"]),
        &batch.to_string(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // serve's pipelines commit them; /api/health and /metrics say so.
    let deadline = Instant::now() + Duration::from_secs(120);
    let health = loop {
        let (status, body) = http_get(port, "/api/health").expect("GET /api/health");
        let h: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(status, 200, "{h:#}");
        let p = h["streams"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["stream"] == "publication"))
            .cloned()
            .unwrap_or_default();
        if p["acked_offset"] == 3 {
            break h;
        }
        assert!(Instant::now() < deadline, "not acknowledged: {h:#}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(health["status"], "ok", "{health:#}");
    assert_eq!(health["pipelines"], true, "{health:#}");
    let (status, metrics) = http_get(port, "/metrics").expect("GET /metrics");
    assert_eq!(status, 200);
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"strata_pipeline_events_out_total{stream="publication"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l
                == r#"strata_stream_consumer_lag_events{stream="publication",consumer="lake"} 0"#),
        "{metrics}"
    );

    let status = terminate(&mut serve);
    assert!(status.success(), "serve: {status}");
    assert_eq!(
        records(&lake_tables(&data), "publication.telemetry"),
        Some(3)
    );
}
