//! DuckDB over a real lake on disk: the numbers DuckDB computes equal the events written and the
//! lake's own reading of its manifests; past snapshots stay readable; the sandbox holds.

use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use strata_events::{Event, StreamName, fixtures::commerce};
use strata_lake::{Lake, LakeConfig, LakeTable};
use strata_query::{
    QueryEngine, QueryError, QueryOptions, arrow::array::AsArray, arrow::datatypes::Int64Type,
};

/// Event `i` (a total of `i + 1` dollars) on one of 3 days.
fn order(i: u64) -> Event {
    commerce(i, 3)
}

async fn lake(dir: &std::path::Path) -> Lake {
    let lake = Lake::open(LakeConfig::embedded(dir))
        .await
        .expect("open lake");
    lake.ensure_tables().await.expect("create tables");
    lake
}

async fn engine(dir: &std::path::Path, lake: Lake) -> QueryEngine {
    QueryEngine::open(lake, QueryOptions::under(dir))
        .await
        .expect("open the engine")
}

/// The single i64 of a one-row, one-column answer.
async fn scalar(engine: &QueryEngine, sql: &str) -> i64 {
    let out = engine
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(out.rows(), 1, "{sql}");
    let col = out
        .batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .expect("a row")
        .column(0);
    let col =
        strata_query::arrow::compute::cast(col, &strata_query::arrow::datatypes::DataType::Int64)
            .expect("cast to BIGINT");
    col.as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn duckdb_reads_what_the_lake_holds_at_each_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = lake(dir.path()).await;
    let first: Vec<Event> = (0..300).map(order).collect();
    lake.write_events(StreamName::Commerce, &first, None)
        .await
        .expect("first commit");
    let ident = LakeTable::Telemetry(StreamName::Commerce).ident();
    let snap1 = lake
        .load(&ident)
        .await
        .expect("load")
        .metadata()
        .current_snapshot_id()
        .expect("a snapshot");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second: Vec<Event> = (300..500).map(order).collect();
    lake.write_events(StreamName::Commerce, &second, None)
        .await
        .expect("second commit");

    let engine = engine(dir.path(), lake.clone()).await;
    // Rows and the exact money sum (in cents) against the events and the lake's manifests.
    assert_eq!(
        scalar(&engine, "SELECT count(*) FROM commerce.telemetry").await,
        500
    );
    let cents: i64 = (0..500).map(|i| (i + 1) * 100).sum();
    assert_eq!(
        scalar(
            &engine,
            "SELECT CAST(sum(total) * 100 AS BIGINT) FROM commerce.telemetry"
        )
        .await,
        cents
    );
    let stats = lake.scan_stats(&ident, Some("total")).await.expect("scan");
    assert_eq!(stats.rows, 500);
    assert_eq!(
        stats.sum,
        Some(strata_lake::ColumnSum::Decimal(Decimal::new(cents, 2)))
    );
    // Day partitions come back as days.
    assert_eq!(
        scalar(
            &engine,
            "SELECT count(DISTINCT CAST(occurred_ts AS DATE)) FROM commerce.telemetry"
        )
        .await,
        3
    );
    // Time travel, by id and by time; the answer says which snapshot it read.
    let sql = format!("SELECT count(*) FROM commerce.telemetry AT SNAPSHOT {snap1}");
    assert_eq!(scalar(&engine, &sql).await, 300);
    let sql = format!(
        "SELECT count(*) FROM commerce.telemetry AS OF '{}'",
        between.to_rfc3339()
    );
    assert_eq!(scalar(&engine, &sql).await, 300);
    let sql = format!(
        "SELECT (SELECT count(*) FROM commerce.telemetry) - (SELECT count(*) FROM commerce.telemetry AT SNAPSHOT {snap1})"
    );
    assert_eq!(scalar(&engine, &sql).await, 200);
    let out = engine
        .query(&format!(
            "SELECT 1 FROM commerce.telemetry AT SNAPSHOT {snap1} LIMIT 1"
        ))
        .await
        .expect("query");
    assert_eq!(
        out.tables,
        [strata_query::TableRead {
            table: format!("commerce.telemetry AT SNAPSHOT {snap1}"),
            snapshot_id: Some(snap1),
        }],
    );
    // Tables without a snapshot read as empty, with their columns.
    assert_eq!(
        scalar(&engine, "SELECT count(event_id) FROM sync.telemetry").await,
        0
    );
}

#[tokio::test]
async fn bad_selectors_and_the_sandbox_are_client_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = lake(dir.path()).await;
    lake.write_events(StreamName::Commerce, &[order(1)], None)
        .await
        .expect("commit");
    let engine = engine(dir.path(), lake).await;
    for (sql, needle) in [
        (
            "SELECT * FROM commerce.telemetry AT SNAPSHOT 1",
            "no snapshot 1",
        ),
        (
            "SELECT * FROM commerce.telemetry AS OF '2001-01-01T00:00:00Z'",
            "no snapshot as of",
        ),
        (
            "SELECT * FROM nosuch.table AT SNAPSHOT 5",
            "not a lake table",
        ),
        ("SELECT * FROM read_csv('/etc/passwd')", "/etc/passwd"),
        (
            "COPY (SELECT 1) TO '/tmp/strata-query-escape.csv'",
            "strata-query-escape",
        ),
        ("ATTACH '/tmp/strata-query-escape.db' AS x", ""),
        ("INSTALL httpfs", ""),
        ("SET enable_external_access = true", ""),
        ("SELEC 1", "syntax"),
    ] {
        let e = engine
            .query(sql)
            .await
            .expect_err(&format!("`{sql}` must fail"));
        assert!(e.is_client_error(), "{sql}: {e:?}");
        assert!(
            e.to_string()
                .to_lowercase()
                .contains(&needle.to_lowercase()),
            "{sql}: {e}"
        );
        assert!(matches!(e, QueryError::Sql(_) | QueryError::Snapshot(_)));
    }
    assert!(!std::path::Path::new("/tmp/strata-query-escape.csv").exists());
    assert!(!std::path::Path::new("/tmp/strata-query-escape.db").exists());
    // The engine still answers after refusals.
    assert_eq!(
        scalar(&engine, "SELECT count(*) FROM commerce.telemetry").await,
        1
    );
}

#[tokio::test]
async fn an_open_engine_follows_new_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = lake(dir.path()).await;
    let engine = engine(dir.path(), lake.clone()).await;
    let count = "SELECT count(*) FROM commerce.telemetry";
    assert_eq!(scalar(&engine, count).await, 0);
    for round in 1..=2u64 {
        let events: Vec<Event> = ((round - 1) * 10..round * 10).map(order).collect();
        lake.write_events(StreamName::Commerce, &events, None)
            .await
            .expect("commit");
        assert_eq!(scalar(&engine, count).await, (round * 10) as i64);
        // Unchanged snapshot: the view is reused and answers the same.
        assert_eq!(scalar(&engine, count).await, (round * 10) as i64);
    }
}
