//! Replacing whole days in one snapshot: what the Iceberg scan reads afterwards (the same path
//! PyIceberg and Spark take through the manifests), what the snapshot says, and what is refused.

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use arrow_array::{Date32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use iceberg::spec::{Operation, PrimitiveType};
use strata_lake::{ColumnSum, Lake, LakeError, TableDef, col, long, string};

fn def() -> TableDef {
    TableDef {
        namespace: "measurement",
        name: "daily",
        columns: vec![
            col("day", PrimitiveType::Date, true, "the day"),
            string("key", true, "what is counted"),
            long("n", true, "how many"),
        ],
        partition_column: "day",
        comment: "test table",
    }
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// `rows` rows per day, each with `n = value`.
fn batch(days: &[&str], rows: usize, value: i64) -> RecordBatch {
    let epoch = NaiveDate::default();
    let mut day = Vec::new();
    let mut key = Vec::new();
    for dd in days {
        for i in 0..rows {
            day.push((d(dd) - epoch).num_days() as i32);
            key.push(format!("k{i}"));
        }
    }
    let n = day.len();
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("day", DataType::Date32, false),
            Field::new("key", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ])),
        vec![
            Arc::new(Date32Array::from(day)),
            Arc::new(StringArray::from(key)),
            Arc::new(Int64Array::from(vec![value; n])),
        ],
    )
    .expect("batch")
}

fn days(list: &[&str]) -> BTreeSet<NaiveDate> {
    list.iter().map(|s| d(s)).collect()
}

async fn replace(
    lake: &Lake,
    replaced: &[&str],
    batches: Vec<RecordBatch>,
) -> strata_lake::Result<strata_lake::ReplaceReport> {
    lake.replace_days(
        &def().ident(),
        &days(replaced),
        futures_util::stream::iter(batches.into_iter().map(Ok)),
        HashMap::from([("strata.test".to_owned(), "yes".to_owned())]),
    )
    .await
}

async fn stats(lake: &Lake) -> (u64, i64) {
    let s = lake
        .scan_stats(&def().ident(), Some("n"))
        .await
        .expect("scan");
    let sum = match s.sum {
        Some(ColumnSum::Integer(v)) => v as i64,
        None => 0,
        other => panic!("unexpected sum {other:?}"),
    };
    (s.rows, sum)
}

#[tokio::test]
async fn a_replaced_day_holds_only_its_new_rows_in_one_snapshot() {
    let (_dir, lake) = common::lake().await;
    assert!(lake.ensure_table(&def()).await.expect("create"));
    assert!(
        !lake.ensure_table(&def()).await.expect("exists"),
        "idempotent"
    );

    // Three days of 10 rows of n = 1.
    let first = replace(
        &lake,
        &["2025-01-01", "2025-01-02", "2025-01-03"],
        vec![batch(&["2025-01-01", "2025-01-02", "2025-01-03"], 10, 1)],
    )
    .await
    .expect("first write");
    assert_eq!(first.added_rows, 30);
    assert_eq!(first.removed_rows, 0);
    assert_eq!(stats(&lake).await, (30, 30));

    // Replace the middle day with 4 rows of n = 5, in two batches.
    let second = replace(
        &lake,
        &["2025-01-02"],
        vec![batch(&["2025-01-02"], 2, 5), batch(&["2025-01-02"], 2, 5)],
    )
    .await
    .expect("replace");
    assert_eq!((second.added_rows, second.removed_rows), (4, 10));
    assert_eq!(stats(&lake).await, (24, 20 + 20));

    let table = lake.load(&def().ident()).await.expect("load");
    let snapshot = table.metadata().current_snapshot().expect("snapshot");
    assert_eq!(Some(snapshot.snapshot_id()), second.snapshot_id);
    let summary = snapshot.summary();
    assert_eq!(summary.operation, Operation::Overwrite);
    let prop = |k: &str| summary.additional_properties.get(k).cloned();
    assert_eq!(prop("deleted-records").as_deref(), Some("10"));
    assert_eq!(prop("added-records").as_deref(), Some("4"));
    assert_eq!(prop("total-records").as_deref(), Some("24"));
    assert_eq!(prop("strata.test").as_deref(), Some("yes"));

    // The earlier snapshot still reads its rows (time travel is intact).
    let before = strata_lake::snapshot_files(&table, first.snapshot_id.expect("id"))
        .await
        .expect("old files");
    assert_eq!(before.data.iter().map(|f| f.records).sum::<u64>(), 30);
    let now = strata_lake::live_files(&table).await.expect("live files");
    assert_eq!(now.iter().map(|f| f.records).sum::<u64>(), 24);

    // Replacing with the same rows again keeps the content (a recomputed day changes nothing).
    replace(&lake, &["2025-01-02"], vec![batch(&["2025-01-02"], 4, 5)])
        .await
        .expect("same again");
    assert_eq!(stats(&lake).await, (24, 40));

    // A day replaced by nothing ends up empty; other days are untouched.
    let emptied = replace(&lake, &["2025-01-01"], vec![])
        .await
        .expect("empty a day");
    assert_eq!((emptied.added_rows, emptied.removed_rows), (0, 10));
    assert_eq!(stats(&lake).await, (14, 30));

    // Nothing there and nothing to add: no snapshot at all.
    let noop = replace(&lake, &["2030-01-01"], vec![])
        .await
        .expect("no-op");
    assert_eq!(noop.snapshot_id, None);
}

#[tokio::test]
async fn a_row_outside_the_replaced_days_is_refused_and_nothing_changes() {
    let (dir, lake) = common::lake().await;
    lake.ensure_table(&def()).await.expect("create");
    replace(&lake, &["2025-01-01"], vec![batch(&["2025-01-01"], 3, 1)])
        .await
        .expect("first");
    let err = replace(
        &lake,
        &["2025-01-01"],
        vec![batch(&["2025-01-01", "2025-01-09"], 3, 7)],
    )
    .await
    .expect_err("a stray day");
    assert!(
        matches!(&err, LakeError::OutsideReplacedDays { day, .. } if day == "2025-01-09"),
        "{err}"
    );
    assert_eq!(stats(&lake).await, (3, 3), "the table is as it was");
    // The stray attempt's files were removed: only the first write's file is on disk.
    let parquet = walk(&dir.path().join("lake/warehouse/measurement/daily/data"));
    assert_eq!(parquet, 1, "uncommitted files are deleted");

    // A failing input stream aborts before any commit too.
    let failing = lake
        .replace_days(
            &def().ident(),
            &days(&["2025-01-01"]),
            futures_util::stream::iter(vec![
                Ok(batch(&["2025-01-01"], 2, 9)),
                Err(LakeError::Task("the producer failed".into())),
            ]),
            HashMap::new(),
        )
        .await;
    assert!(failing.is_err());
    assert_eq!(stats(&lake).await, (3, 3));
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}
