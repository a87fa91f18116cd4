//! Shared by the integration tests: sample events, a log and a lake in a temporary directory,
//! fast pipeline settings, and reading the lake back.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use arrow_array::{Array, StringArray};
use chrono::{TimeZone, Utc};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
// Not every test file uses every fixture.
#[allow(unused_imports)]
pub use strata_events::fixtures::{amount, commerce, commerce_numbered, uid};
use strata_events::{
    CurrencyCode, DeviceType, Envelope, Event, EventLog, EventSource, PublicationBody,
    PublicationKind, SqliteLog, SqliteOptions, StreamName, SyncBody, SyncOutcome,
};
use strata_lake::{ColumnSum, Lake, LakeConfig, LakeTable};
use strata_pipeline::{BatchLimits, BufferLimits, PipelineConfig, PipelineHandle, RetryPolicy};
use tempfile::TempDir;

/// A data directory with an event log and a lake (tables created).
pub struct Env {
    pub dir: TempDir,
    pub log: Arc<SqliteLog>,
    pub lake: Lake,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = Arc::new(open_log(dir.path()));
        let lake = open_lake(dir.path()).await;
        lake.ensure_tables().await.expect("tables");
        Env { dir, log, lake }
    }

    pub fn log(&self) -> Arc<dyn EventLog> {
        self.log.clone()
    }

    pub async fn append(&self, stream: StreamName, events: Vec<Event>) {
        for chunk in events.chunks(5_000) {
            let receipt = self
                .log
                .append(stream, chunk.to_vec())
                .await
                .expect("append");
            assert_eq!(receipt.duplicates(), 0);
        }
    }

    /// The committed offset of `consumer` on `stream`.
    pub async fn consumer_offset(&self, stream: StreamName, consumer: &str) -> u64 {
        consumer_offset(self.log.as_ref(), stream, consumer).await
    }

    pub async fn rows(&self, table: LakeTable) -> u64 {
        self.lake
            .scan_stats(&table.ident(), None)
            .await
            .expect("scan")
            .rows
    }

    pub async fn decimal_sum(&self, table: LakeTable, column: &str) -> Decimal {
        match self
            .lake
            .scan_stats(&table.ident(), Some(column))
            .await
            .expect("scan")
            .sum
        {
            Some(ColumnSum::Decimal(d)) => d,
            Some(ColumnSum::Integer(0)) | None => Decimal::ZERO,
            other => panic!("unexpected sum {other:?}"),
        }
    }
}

pub fn open_log(dir: &Path) -> SqliteLog {
    SqliteLog::open(&dir.join("streams"), SqliteOptions::default()).expect("open log")
}

pub async fn open_lake(dir: &Path) -> Lake {
    Lake::open(LakeConfig::embedded(dir))
        .await
        .expect("lake opens")
}

pub async fn consumer_offset(log: &dyn EventLog, stream: StreamName, consumer: &str) -> u64 {
    log.stats(stream)
        .await
        .expect("stats")
        .consumers
        .iter()
        .find(|c| c.name == consumer)
        .map(|c| c.committed)
        .unwrap_or(0)
}

/// Settings that make tests quick: small batches, short intervals.
pub fn fast_config() -> PipelineConfig {
    PipelineConfig {
        batch: BatchLimits {
            max_events: 1_000,
            max_bytes: 8 * 1024 * 1024,
            roll_interval: Duration::from_millis(300),
        },
        buffer: BufferLimits {
            max_events: 3_000,
            max_bytes: 32 * 1024 * 1024,
        },
        read_chunk: 500,
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(500),
        },
        shutdown_timeout: Duration::from_secs(30),
        ..PipelineConfig::default()
    }
}

/// Waits until `done(stats)` holds, or panics after `timeout` with the last stats.
pub async fn wait_for(
    handle: &PipelineHandle,
    timeout: Duration,
    what: &str,
    done: impl Fn(&strata_pipeline::PipelineStats) -> bool,
) {
    let start = Instant::now();
    loop {
        let stats = handle.stats();
        if done(&stats) {
            return;
        }
        if start.elapsed() > timeout {
            panic!("timed out waiting for {what}: {stats:#?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Commerce events `from..from + n`.
pub fn commerce_events(from: u64, n: u64) -> Vec<Event> {
    (from..from + n).map(|i| commerce(i, 3)).collect()
}

/// The exact sum of `total` over commerce events.
pub fn total_of(events: &[Event]) -> Decimal {
    events
        .iter()
        .map(|e| match e {
            Event::Commerce(c) => c.body.order.total.value(),
            _ => Decimal::ZERO,
        })
        .sum()
}

pub fn publication(i: u64) -> Event {
    let publisher = uid("pub");
    let kind = match i % 3 {
        0 => PublicationKind::Click,
        1 => PublicationKind::Impression,
        _ => PublicationKind::Conversion {
            order_uid: Some(uid("ord")),
            amount: amount(4813),
            currency_code: CurrencyCode::parse("eur").expect("currency"),
        },
    };
    Envelope::new(
        EventSource::partner(&publisher),
        Utc.with_ymd_and_hms(2025, 3, 14, 0, 0, 0)
            .single()
            .expect("date")
            + chrono::Duration::hours(i as i64),
        PublicationBody {
            publisher_uid: publisher,
            publication_uid: None,
            referral_link_uid: None,
            product_uid: None,
            telemetry_source_uid: None,
            session_key_hash: None,
            device_type: DeviceType::Mobile,
            country_code: None,
            url: Some("https://casey.example/posts/best-cases".to_owned()),
            kind,
        },
    )
    .into()
}

pub fn sync(i: u64) -> Event {
    Envelope::new(
        EventSource::parse("strata-sync").expect("source"),
        Utc.with_ymd_and_hms(2025, 3, 14, 0, 0, 0)
            .single()
            .expect("date")
            + chrono::Duration::minutes(i as i64),
        SyncBody {
            run_id: format!("run_{i}"),
            workflow: "daily_shopify_sync".to_owned(),
            step: Some("upsert_orders".to_owned()),
            attempt: 1,
            outcome: SyncOutcome::StepCompleted,
            record_counts: BTreeMap::from([("orders".to_owned(), 12)]),
            watermark: None,
            duration_ms: 1_000 + i,
            error: None,
        },
    )
    .into()
}

/// Every value of a string column of `table` (through the Iceberg scan), nulls as `None`.
pub async fn string_column(lake: &Lake, table: LakeTable, column: &str) -> Vec<Option<String>> {
    let loaded = lake.load(&table.ident()).await.expect("load");
    if loaded.metadata().current_snapshot().is_none() {
        return Vec::new();
    }
    let batches: Vec<arrow_array::RecordBatch> = loaded
        .scan()
        .select([column])
        .build()
        .expect("scan")
        .to_arrow()
        .await
        .expect("arrow")
        .try_collect()
        .await
        .expect("batches");
    let mut out = Vec::new();
    for b in batches {
        let col = b
            .column_by_name(column)
            .expect("column")
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("a string column")
            .clone();
        for i in 0..col.len() {
            out.push((!col.is_null(i)).then(|| col.value(i).to_owned()));
        }
    }
    out
}
