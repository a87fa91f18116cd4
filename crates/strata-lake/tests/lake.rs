//! The lake on real files in a temporary directory: partitions, read-back through the Iceberg
//! scan, unique file names across writers, exactly-once commits, resuming from the lake's own
//! offsets, zstd Parquet, and the catalog layout other engines read.

mod common;

use std::collections::BTreeSet;

use common::{commerce_deliveries, day0, lake, local_path, open, publication, sync, total_of};
use parquet::{basic::Compression, file::reader::FileReader};
use rust_decimal::Decimal;
use strata_events::{Delivery, StreamName};
use strata_lake::{AppendOutcome, ColumnSum, CommitRange, DEFAULT_LANE, LakeTable, RejectedRecord};

const COMMERCE: LakeTable = LakeTable::Telemetry(StreamName::Commerce);

fn committed(outcome: &AppendOutcome) -> &strata_lake::CommitReport {
    outcome
        .committed()
        .unwrap_or_else(|| panic!("expected a commit, got {outcome:?}"))
}

#[tokio::test]
async fn three_days_of_commerce_make_three_partitions_that_scan_back_exactly() {
    let (_dir, lake) = lake().await;
    let deliveries = commerce_deliveries(1, 300, 3);
    let outcome = lake
        .write_deliveries(StreamName::Commerce, DEFAULT_LANE, &deliveries)
        .await
        .expect("write");
    let report = committed(&outcome);
    assert_eq!(report.rows, 300);
    assert_eq!(report.commit_id.as_deref(), Some("commerce:log:1-300"));
    let partitions: BTreeSet<_> = report.files.iter().map(|f| f.partition.as_str()).collect();
    assert_eq!(
        partitions,
        BTreeSet::from([
            "occurred_ts_day=2025-03-14",
            "occurred_ts_day=2025-03-15",
            "occurred_ts_day=2025-03-16",
        ])
    );

    let ident = COMMERCE.ident();
    let stats = lake.scan_stats(&ident, Some("total")).await.expect("scan");
    assert_eq!(stats.rows, 300);
    assert_eq!(stats.sum, Some(ColumnSum::Decimal(total_of(&deliveries))));
    // Event i costs i + 1 dollars: 2 + 3 + … + 301.
    assert_eq!(total_of(&deliveries), Decimal::from(45_450));
    let units = lake.scan_stats(&ident, Some("units")).await.expect("scan");
    assert_eq!(units.sum, Some(ColumnSum::Integer(600)));

    let described = lake.describe(&ident).await.expect("describe");
    assert_eq!(described.records, 300);
    assert_eq!(described.files.len(), 3);
    assert_eq!(described.bytes, report.bytes);
    assert_eq!(
        described.partition_spec,
        vec!["day(occurred_ts) as occurred_ts_day"]
    );
    assert_eq!(described.snapshots.len(), 1);
    assert_eq!(
        described.snapshots[0].commit_id.as_deref(),
        Some("commerce:log:1-300")
    );
    assert_eq!(described.committed_offsets.get(DEFAULT_LANE), Some(&300));
    assert_eq!(
        described.properties.get("write.parquet.compression-codec"),
        Some(&"zstd".to_owned())
    );
    let total = described
        .columns
        .iter()
        .find(|c| c.name == "total")
        .expect("total column");
    assert_eq!(total.r#type, "decimal(20, 4)");
    assert!(
        described
            .columns
            .iter()
            .any(|c| c.name == "occurred_ts" && c.r#type == "timestamptz")
    );
    for f in &described.files {
        assert!(local_path(&f.path).is_file(), "{} is missing", f.path);
    }
}

#[tokio::test]
async fn two_writers_in_one_table_never_overwrite_each_others_files() {
    let (dir, first) = lake().await;
    // A second process: its own catalog connection and writer, same table, same day.
    let second = open(dir.path()).await;
    let a = commerce_deliveries(1, 50, 1);
    let b = commerce_deliveries(1, 70, 1);
    // Sequentially first (the old trap: both jobs would name their file data-00000.parquet)…
    committed(
        &first
            .write_deliveries(StreamName::Commerce, "a", &a)
            .await
            .expect("a"),
    );
    committed(
        &second
            .write_deliveries(StreamName::Commerce, "b", &b)
            .await
            .expect("b"),
    );
    // …then racing, so one of them has to retry its commit on the other's snapshot.
    let a2 = commerce_deliveries(51, 90, 1);
    let b2 = commerce_deliveries(71, 100, 1);
    let (ra, rb) = tokio::join!(
        first.write_deliveries(StreamName::Commerce, "a", &a2),
        second.write_deliveries(StreamName::Commerce, "b", &b2),
    );
    let (ra, rb) = (ra.expect("a2"), rb.expect("b2"));
    committed(&ra);
    committed(&rb);

    let ident = COMMERCE.ident();
    let described = first.describe(&ident).await.expect("describe");
    assert_eq!(described.files.len(), 4, "one file per write job");
    let paths: BTreeSet<_> = described.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(paths.len(), 4, "file names are unique");
    // Every file still holds the rows its manifest entry says (an overwrite would change that).
    for f in &described.files {
        let file = std::fs::File::open(local_path(&f.path)).expect("data file exists");
        let reader = parquet::file::reader::SerializedFileReader::new(file).expect("parquet");
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as u64,
            f.records,
            "{}",
            f.path
        );
    }
    let stats = first.scan_stats(&ident, Some("total")).await.expect("scan");
    assert_eq!(stats.rows, 90 + 100);
    let expected = total_of(&a) + total_of(&b) + total_of(&a2) + total_of(&b2);
    assert_eq!(stats.sum, Some(ColumnSum::Decimal(expected)));
    let offsets = first.committed_offsets(COMMERCE).await.expect("offsets");
    assert_eq!(offsets.get("a"), Some(&90));
    assert_eq!(offsets.get("b"), Some(&100));
    let attempts = ra.committed().map(|r| r.attempts).unwrap_or(0)
        + rb.committed().map(|r| r.attempts).unwrap_or(0);
    assert!(attempts >= 2, "attempts {attempts}");
}

#[tokio::test]
async fn committing_the_same_commit_id_twice_writes_once() {
    let (_dir, lake) = lake().await;
    let batch = commerce_deliveries(1, 40, 2);
    let first = lake
        .write_deliveries(StreamName::Commerce, DEFAULT_LANE, &batch)
        .await
        .expect("first");
    let snapshot = committed(&first).snapshot_id;
    // The same batch again, as after a crash between the commit and the log acknowledgement.
    let again = lake
        .write_deliveries(StreamName::Commerce, DEFAULT_LANE, &batch)
        .await
        .expect("again");
    assert_eq!(
        again,
        AppendOutcome::AlreadyCommitted {
            commit_id: "commerce:log:1-40".to_owned(),
            snapshot_id: Some(snapshot),
            committed_offset: 40,
        }
    );
    // A batch that only partly overlaps (re-read with a different batch size): only the new tail.
    let overlapping = commerce_deliveries(31, 55, 2);
    let tail = lake
        .write_deliveries(StreamName::Commerce, DEFAULT_LANE, &overlapping)
        .await
        .expect("overlap");
    let report = committed(&tail);
    assert_eq!(report.rows, 15);
    assert_eq!(report.skipped_rows, 10);
    assert_eq!(report.commit_id.as_deref(), Some("commerce:log:41-55"));
    // A batch wholly below the committed offset: nothing.
    let old = lake
        .write_deliveries(
            StreamName::Commerce,
            DEFAULT_LANE,
            &commerce_deliveries(5, 9, 2),
        )
        .await
        .expect("old");
    assert!(matches!(
        old,
        AppendOutcome::AlreadyCommitted {
            snapshot_id: None,
            committed_offset: 55,
            ..
        }
    ));

    let ident = COMMERCE.ident();
    let stats = lake.scan_stats(&ident, None).await.expect("scan");
    assert_eq!(stats.rows, 55);
    let described = lake.describe(&ident).await.expect("describe");
    assert_eq!(described.snapshots.len(), 2);
    // Every event id once.
    let offsets = lake
        .scan_stats(&ident, Some("stream_offset"))
        .await
        .expect("scan");
    assert_eq!(offsets.sum, Some(ColumnSum::Integer((1..=55).sum())));
}

#[tokio::test]
async fn two_processes_racing_with_the_same_batch_commit_it_once() {
    let (dir, first) = lake().await;
    let second = open(dir.path()).await;
    let mut duplicates_seen = 0;
    for round in 0..5u64 {
        // Both hold the same deliveries, as after a redelivery to a second worker.
        let batch = commerce_deliveries(round * 20 + 1, round * 20 + 20, 2);
        let (a, b) = tokio::join!(
            first.write_deliveries(StreamName::Commerce, DEFAULT_LANE, &batch),
            second.write_deliveries(StreamName::Commerce, DEFAULT_LANE, &batch),
        );
        let outcomes = [a.expect("first"), b.expect("second")];
        let commits = outcomes.iter().filter(|o| o.committed().is_some()).count();
        assert_eq!(commits, 1, "round {round}: {outcomes:?}");
        duplicates_seen += outcomes
            .iter()
            .filter(|o| matches!(o, AppendOutcome::AlreadyCommitted { .. }))
            .count();
    }
    assert_eq!(duplicates_seen, 5);
    let ident = COMMERCE.ident();
    let stats = first
        .scan_stats(&ident, Some("stream_offset"))
        .await
        .expect("scan");
    assert_eq!(stats.rows, 100);
    assert_eq!(stats.sum, Some(ColumnSum::Integer((1..=100).sum())));
    // The loser's files were removed: only committed files remain in the table's data folder.
    let described = first.describe(&ident).await.expect("describe");
    let on_disk = parquet_files_under(&local_path(&described.location).join("data"));
    assert_eq!(on_disk.len(), described.files.len(), "{on_disk:?}");
}

fn parquet_files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn explicit_ranges_without_offsets_are_idempotent_too() {
    let (_dir, lake) = lake().await;
    let events: Vec<_> = commerce_deliveries(1, 10, 1)
        .into_iter()
        .map(|d| d.event)
        .collect();
    let range = CommitRange::new(StreamName::Commerce, "import", 1, 10).expect("range");
    committed(
        &lake
            .write_events(StreamName::Commerce, &events, Some(range.clone()))
            .await
            .expect("write"),
    );
    let again = lake
        .write_events(StreamName::Commerce, &events, Some(range))
        .await
        .expect("again");
    assert!(matches!(again, AppendOutcome::AlreadyCommitted { .. }));
    let stats = lake
        .scan_stats(&COMMERCE.ident(), None)
        .await
        .expect("scan");
    assert_eq!(stats.rows, 10);
}

#[tokio::test]
async fn offsets_resume_from_snapshot_summaries_after_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let lake = open(dir.path()).await;
        lake.ensure_tables().await.expect("tables");
        for (first, last) in [(1, 100), (101, 250)] {
            committed(
                &lake
                    .write_deliveries(
                        StreamName::Commerce,
                        DEFAULT_LANE,
                        &commerce_deliveries(first, last, 3),
                    )
                    .await
                    .expect("write"),
            );
        }
        committed(
            &lake
                .write_deliveries(
                    StreamName::Commerce,
                    "backfill",
                    &commerce_deliveries(1, 7, 1),
                )
                .await
                .expect("write"),
        );
    }
    // A new process: nothing but the data directory.
    let lake = open(dir.path()).await;
    assert!(lake.ensure_tables().await.expect("tables").is_empty());
    assert_eq!(
        lake.committed_offset(StreamName::Commerce, DEFAULT_LANE)
            .await
            .expect("offset"),
        250
    );
    assert_eq!(
        lake.committed_offset(StreamName::Commerce, "backfill")
            .await
            .expect("offset"),
        7
    );
    assert_eq!(
        lake.committed_offset(StreamName::Sync, DEFAULT_LANE)
            .await
            .expect("offset"),
        0
    );
    // Resuming from there writes the rest once.
    let next = lake
        .write_deliveries(
            StreamName::Commerce,
            DEFAULT_LANE,
            &commerce_deliveries(251, 260, 3),
        )
        .await
        .expect("resume");
    assert_eq!(
        committed(&next).commit_id.as_deref(),
        Some("commerce:log:251-260")
    );
    let stats = lake
        .scan_stats(&COMMERCE.ident(), None)
        .await
        .expect("scan");
    assert_eq!(stats.rows, 260 + 7);
}

#[tokio::test]
async fn data_files_are_zstd_parquet_with_column_statistics() {
    let (_dir, lake) = lake().await;
    let outcome = lake
        .write_deliveries(
            StreamName::Commerce,
            DEFAULT_LANE,
            &commerce_deliveries(1, 20, 1),
        )
        .await
        .expect("write");
    let report = committed(&outcome);
    assert_eq!(report.files.len(), 1);
    let path = local_path(&report.files[0].path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name");
    // `<uuidv7>-00000.parquet`: the job's UUID, then the generator's counter.
    let uuid = name
        .trim_end_matches(".parquet")
        .rsplit_once('-')
        .map(|(u, _)| u);
    assert!(
        uuid.and_then(|u| uuid::Uuid::parse_str(u).ok())
            .is_some_and(|u| u.get_version_num() == 7),
        "{name}"
    );
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).expect("open"))
            .expect("parquet");
    let metadata = reader.metadata();
    assert!(metadata.num_row_groups() > 0);
    for rg in metadata.row_groups() {
        for column in rg.columns() {
            assert!(
                matches!(column.compression(), Compression::ZSTD(_)),
                "{} is {:?}",
                column.column_path(),
                column.compression()
            );
        }
    }
    // The manifest carries bounds for pruning: occurred_ts of day 0.
    let table = lake.load(&COMMERCE.ident()).await.expect("load");
    let snapshot = table
        .metadata()
        .current_snapshot()
        .expect("snapshot")
        .clone();
    let list = table
        .manifest_list_reader(&snapshot)
        .load()
        .await
        .expect("manifest list");
    let manifest = list.entries()[0]
        .load_manifest(table.file_io())
        .await
        .expect("manifest");
    let ts_id = table
        .metadata()
        .current_schema()
        .field_id_by_name("occurred_ts")
        .expect("field");
    let data = manifest.entries()[0].data_file();
    let lower = data.lower_bounds().get(&ts_id).expect("lower bound");
    assert_eq!(
        lower.to_string(),
        iceberg::spec::Datum::timestamptz_micros(
            (day0() + chrono::Duration::seconds(1)).timestamp_micros()
        )
        .to_string()
    );
}

#[tokio::test]
async fn every_stream_and_the_dead_letter_tables_round_trip() {
    let (_dir, lake) = lake().await;
    let tables = lake.list_tables().await.expect("list");
    let names: Vec<_> = tables.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "commerce.rejected",
            "commerce.telemetry",
            "publication.rejected",
            "publication.telemetry",
            "sync.rejected",
            "sync.telemetry",
        ]
    );
    let pubs: Vec<Delivery> = (1..=30)
        .map(|offset| Delivery {
            offset,
            event: publication(offset),
        })
        .collect();
    committed(
        &lake
            .write_deliveries(StreamName::Publication, DEFAULT_LANE, &pubs)
            .await
            .expect("publication"),
    );
    let syncs: Vec<Delivery> = (1..=12)
        .map(|offset| Delivery {
            offset,
            event: sync(offset),
        })
        .collect();
    committed(
        &lake
            .write_deliveries(StreamName::Sync, DEFAULT_LANE, &syncs)
            .await
            .expect("sync"),
    );
    // A commerce event in the sync writer is refused, not written.
    let wrong = lake
        .write_deliveries(
            StreamName::Sync,
            DEFAULT_LANE,
            &commerce_deliveries(13, 13, 1),
        )
        .await;
    assert!(matches!(
        wrong,
        Err(strata_lake::LakeError::WrongStream { .. })
    ));

    let publication_table = LakeTable::Telemetry(StreamName::Publication).ident();
    let stats = lake
        .scan_stats(&publication_table, Some("amount"))
        .await
        .expect("scan");
    assert_eq!(stats.rows, 30);
    // Every third event is a conversion of 48.13.
    assert_eq!(
        stats.sum,
        Some(ColumnSum::Decimal(
            Decimal::new(4813, 2) * Decimal::from(10)
        ))
    );
    let sync_table = LakeTable::Telemetry(StreamName::Sync).ident();
    let stats = lake
        .scan_stats(&sync_table, Some("duration_ms"))
        .await
        .expect("scan");
    assert_eq!(stats.rows, 12);
    assert_eq!(
        stats.sum,
        Some(ColumnSum::Integer((1..=12).map(|i| 1_000 + i).sum()))
    );

    let rejected: Vec<RejectedRecord> = (1..=3)
        .map(|i| RejectedRecord {
            received_ts: day0(),
            reason: "missing required field `order_uid`".to_owned(),
            kind: Some("missing_field".to_owned()),
            event_id: None,
            offset: Some(i),
            raw: format!(r#"{{"event_type":"order_created","n":{i}}}"#),
        })
        .collect();
    committed(
        &lake
            .write_rejected(StreamName::Commerce, Some(DEFAULT_LANE), &rejected)
            .await
            .expect("rejected"),
    );
    let again = lake
        .write_rejected(StreamName::Commerce, Some(DEFAULT_LANE), &rejected)
        .await
        .expect("again");
    assert!(matches!(again, AppendOutcome::AlreadyCommitted { .. }));
    let dead = LakeTable::Rejected(StreamName::Commerce).ident();
    let described = lake.describe(&dead).await.expect("describe");
    assert_eq!(described.records, 3);
    assert_eq!(
        described.partition_spec,
        vec!["day(received_ts) as received_ts_day"]
    );
}

#[tokio::test]
async fn the_catalog_file_has_the_sql_catalog_layout_under_the_name_strata() {
    let (dir, lake) = lake().await;
    committed(
        &lake
            .write_deliveries(
                StreamName::Commerce,
                DEFAULT_LANE,
                &commerce_deliveries(1, 5, 1),
            )
            .await
            .expect("write"),
    );
    let db = dir.path().join("lake").join("catalog.db");
    let conn = rusqlite::Connection::open(&db).expect("catalog.db");
    let rows: Vec<(String, String, String, String)> = conn
        .prepare(
            "SELECT catalog_name, table_namespace, table_name, metadata_location
             FROM iceberg_tables ORDER BY table_namespace, table_name",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(|rows| rows.collect())
        })
        .expect("query");
    assert_eq!(rows.len(), 6);
    for (catalog, _, _, location) in &rows {
        assert_eq!(catalog, "strata");
        assert!(location.starts_with("file:///"), "{location}");
        assert!(local_path(location).is_file(), "{location}");
    }
    let (_, ns, tbl, location) = &rows[1];
    assert_eq!((ns.as_str(), tbl.as_str()), ("commerce", "telemetry"));
    let warehouse = dir
        .path()
        .join("lake")
        .join("warehouse")
        .canonicalize()
        .expect("warehouse");
    assert!(
        local_path(location).starts_with(
            warehouse
                .join("commerce")
                .join("telemetry")
                .join("metadata")
        ),
        "{location}"
    );
    let namespaces: i64 = conn
        .query_row(
            "SELECT count(DISTINCT namespace) FROM iceberg_namespace_properties
             WHERE catalog_name = 'strata' AND property_key = 'exists'",
            [],
            |r| r.get(0),
        )
        .expect("namespaces");
    assert_eq!(namespaces, 3);
}
