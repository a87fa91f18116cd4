//! Interop with clients no one here wrote: events written into a lake, its catalog served over
//! real HTTP, then scripts/interop/check.py reads every table through the REST endpoint with
//! PyIceberg (RestCatalog) and with DuckDB's iceberg extension (ATTACH … TYPE iceberg, loaded
//! from the PyPI package's file). Their row counts and sums must equal `Lake::scan_stats`.
//!
//! Needs the venv of scripts/python-tools (scripts/test makes it): the test fails, never skips,
//! without it. Override the interpreter with STRATA_PYTHON.

mod common;

use std::{path::PathBuf, process::Command, str::FromStr};

use rust_decimal::Decimal;
use serde_json::Value;
use strata_events::StreamName;
use strata_lake::{ColumnSum, LakeTable};

#[path = "../../strata-lake/tests/common/mod.rs"]
mod events;

/// STRATA_PYTHON, else the python of the venv scripts/python-tools makes (STRATA_VENV or
/// ~/.cache/strata/venv), else `python3` on PATH (scripts/test puts the venv first).
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("STRATA_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("STRATA_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/strata/venv")));
    if let Some(py) = venv.map(|v| v.join("bin/python"))
        && py.exists()
    {
        return py;
    }
    PathBuf::from("python3")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/interop/check.py")
}

fn sum_text(sum: Option<ColumnSum>) -> Option<Decimal> {
    match sum? {
        ColumnSum::Integer(v) => Some(Decimal::from_i128_with_scale(v, 0)),
        ColumnSum::Decimal(d) => Some(d),
        ColumnSum::Float(f) => Decimal::from_str(&f.to_string()).ok(),
    }
}

/// `measurement.counts`: days 20000–20002 with two rows of n = 1 each, then day 20001 replaced
/// by one row of n = 7.
async fn replaced_table(lake: &strata_lake::Lake) -> strata_lake::iceberg::TableIdent {
    use std::{collections::HashMap, sync::Arc};

    use arrow_array::{Date32Array, Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use strata_lake::{TableDef, col, iceberg::spec::PrimitiveType, long};

    let def = TableDef {
        namespace: "measurement",
        name: "counts",
        columns: vec![
            col("day", PrimitiveType::Date, true, "the day"),
            long("n", true, "a count"),
        ],
        partition_column: "day",
        comment: "interop test",
    };
    lake.ensure_table(&def).await.expect("create");
    let rows = |days: Vec<i32>, n: i64| {
        let len = days.len();
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("day", DataType::Date32, false),
                Field::new("n", DataType::Int64, false),
            ])),
            vec![
                Arc::new(Date32Array::from(days)),
                Arc::new(Int64Array::from(vec![n; len])),
            ],
        )
        .expect("batch")
    };
    let day = |d: i64| chrono::NaiveDate::default() + chrono::Duration::days(d);
    lake.replace_days(
        &def.ident(),
        &[20_000, 20_001, 20_002].into_iter().map(day).collect(),
        futures_util::stream::iter(vec![Ok(rows(
            vec![20_000, 20_000, 20_001, 20_001, 20_002, 20_002],
            1,
        ))]),
        HashMap::new(),
    )
    .await
    .expect("write three days");
    lake.replace_days(
        &def.ident(),
        &[day(20_001)].into_iter().collect(),
        futures_util::stream::iter(vec![Ok(rows(vec![20_001], 7))]),
        HashMap::new(),
    )
    .await
    .expect("replace one day");
    def.ident()
}

#[tokio::test(flavor = "multi_thread")]
async fn pyiceberg_and_duckdb_read_what_strata_reports() {
    let server = common::start(true).await;
    let lake = &server.lake;
    let commerce: Vec<_> = (0..1500).map(|i| events::commerce(i, 4)).collect();
    for chunk in commerce.chunks(600) {
        lake.write_events(StreamName::Commerce, chunk, None)
            .await
            .expect("commerce");
    }
    let publication: Vec<_> = (0..300).map(events::publication).collect();
    lake.write_events(StreamName::Publication, &publication, None)
        .await
        .expect("publication");
    let sync: Vec<_> = (0..120).map(events::sync).collect();
    lake.write_events(StreamName::Sync, &sync, None)
        .await
        .expect("sync");

    // Every table of the lake, with a column to sum on the telemetry ones.
    let sum_column = |t: LakeTable| match t {
        LakeTable::Telemetry(StreamName::Commerce) => Some("total"),
        LakeTable::Telemetry(StreamName::Publication) => Some("amount"),
        LakeTable::Telemetry(StreamName::Sync) => Some("duration_ms"),
        LakeTable::Rejected(_) => None,
    };
    let mut args = vec![
        script().display().to_string(),
        "--uri".to_owned(),
        server.uri.clone(),
        "--token".to_owned(),
        common::READ_TOKEN.to_owned(),
    ];
    let mut expected = Vec::new();
    for table in LakeTable::all() {
        let stats = lake
            .scan_stats(&table.ident(), sum_column(table))
            .await
            .expect("scan_stats");
        let name = table.ident().to_string();
        args.push("--table".to_owned());
        args.push(format!("{name}={}", sum_column(table).unwrap_or_default()));
        expected.push((name, stats));
    }
    assert!(expected.iter().any(|(_, s)| s.rows == 1500));

    // A table with a day replaced in an overwrite snapshot (what the measurements commit): the
    // readers must see the new rows of that day and none of the old.
    let counts = replaced_table(lake).await;
    let stats = lake
        .scan_stats(&counts, Some("n"))
        .await
        .expect("scan_stats");
    assert_eq!(stats.rows, 5, "3 days of 2 rows, one day replaced by 1 row");
    args.push("--table".to_owned());
    args.push(format!("{counts}=n"));
    expected.push((counts.to_string(), stats));

    let python = python();
    let output = tokio::task::spawn_blocking({
        let python = python.clone();
        move || Command::new(&python).args(&args).output()
    })
    .await
    .expect("join")
    .unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}): run scripts/python-tools (scripts/test does) to create the \
             venv with PyIceberg and DuckDB, or set STRATA_PYTHON",
            python.display()
        )
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!(
            "the interop check's Python packages are missing under {}: run scripts/python-tools \
             (scripts/test does) and retry\n{stderr}",
            python.display()
        );
    }
    assert!(
        output.status.success(),
        "check.py failed ({}):\n{stderr}",
        output.status
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("check.py prints JSON");

    let names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    let mut listed: Vec<String> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    listed.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(listed, want, "PyIceberg lists every table: {report}");
    assert_eq!(
        report["namespaces"],
        serde_json::json!(["commerce", "measurement", "publication", "sync"])
    );

    for (name, stats) in &expected {
        for client in ["pyiceberg", "duckdb"] {
            let got = &report["results"][name][client];
            assert_eq!(
                got["rows"].as_u64(),
                Some(stats.rows),
                "{client} row count of {name}: {report}"
            );
            let sum = got["sum"]
                .as_str()
                .map(|s| Decimal::from_str(s).expect("a decimal sum"));
            assert_eq!(sum, sum_text(stats.sum), "{client} sum of {name}: {report}");
        }
    }
}
