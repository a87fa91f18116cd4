//! A pipeline reading from the NATS JetStream event log (real NATS at `STRATA_TEST_NATS_URL`,
//! default `nats://127.0.0.1:4222`) into an embedded lake in a temporary directory: every event
//! lands exactly once, including events appended while it runs and producer retries. Fails, never
//! skips, when NATS is unreachable; deletes its streams at the end.

mod common;

use std::{collections::HashSet, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use common::{commerce_events, fast_config, open_lake, string_column, total_of, wait_for};
use futures_util::FutureExt;
use strata_events::{EventLog, NatsLog, NatsOptions, StreamName};
use strata_lake::LakeTable;
use strata_pipeline::{Definition, Pipeline, PipelineState, Transform, source::cursor_name};
use tokio_util::sync::CancellationToken;

const COMMERCE: StreamName = StreamName::Commerce;
const TELEMETRY: LakeTable = LakeTable::Telemetry(StreamName::Commerce);
const REJECTED: LakeTable = LakeTable::Rejected(StreamName::Commerce);

fn options() -> NatsOptions {
    let url =
        std::env::var("STRATA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let tag = ulid::Ulid::new().to_string();
    NatsOptions {
        stream_prefix: format!("T{tag}_"),
        subject_prefix: format!("test.{tag}.telemetry"),
        ..NatsOptions::new(url)
    }
}

async fn committed(log: &dyn EventLog, consumer: &str) -> u64 {
    common::consumer_offset(log, COMMERCE, consumer).await
}

#[tokio::test]
async fn a_pipeline_on_nats_lands_every_event_exactly_once() {
    let options = options();
    let log =
        Arc::new(NatsLog::open(options.clone()).await.unwrap_or_else(|e| {
            panic!("open the NATS log (is nats-server running with -js?): {e}")
        }));
    let outcome = AssertUnwindSafe(exactly_once(log.clone()))
        .catch_unwind()
        .await;
    if let Err(e) = log.delete_streams_and_offsets().await {
        eprintln!("could not delete the test's streams: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn exactly_once(log: Arc<NatsLog>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = open_lake(dir.path()).await;
    lake.ensure_tables().await.expect("tables");
    let events = commerce_events(0, 3_500);
    let expected_total = total_of(&events);
    let (before, during) = events.split_at(2_000);

    for chunk in before.chunks(1_000) {
        let receipt = log.append(COMMERCE, chunk.to_vec()).await.expect("append");
        assert_eq!(receipt.duplicates(), 0);
    }
    // A producer retrying a batch that did land: nothing is stored twice.
    let retry = log
        .append(COMMERCE, before[500..1_000].to_vec())
        .await
        .expect("retry");
    assert_eq!((retry.appended(), retry.duplicates()), (0, 500));

    let dynamic: Arc<dyn EventLog> = log.clone();
    let identity = || Definition::Transform(Transform::identity(COMMERCE));
    let pipeline = Pipeline::new(
        dynamic.clone(),
        lake.clone(),
        COMMERCE,
        identity(),
        fast_config(),
    )
    .expect("pipeline");
    let handle = pipeline.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(pipeline.run(cancel.clone()));

    // More events while it runs, some of them sent twice.
    for chunk in during.chunks(500) {
        log.append(COMMERCE, chunk.to_vec()).await.expect("append");
        log.append(COMMERCE, chunk[..50].to_vec())
            .await
            .expect("retry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for(
        &handle,
        Duration::from_secs(120),
        "the pipeline to catch up",
        |s| s.acked_offset >= 3_500 || s.state == PipelineState::Failed,
    )
    .await;
    cancel.cancel();
    let report = task.await.expect("join").expect("pipeline ran");

    assert_eq!(report.stats.state, PipelineState::Stopped);
    assert_eq!(report.unflushed, 0);
    assert_eq!(report.stats.events_in, 3_500);
    assert_eq!(report.stats.acked_offset, 3_500);
    assert_eq!(
        lake.scan_stats(&TELEMETRY.ident(), None)
            .await
            .expect("scan")
            .rows,
        3_500
    );
    assert_eq!(
        lake.scan_stats(&REJECTED.ident(), None)
            .await
            .expect("scan")
            .rows,
        0
    );
    match lake
        .scan_stats(&TELEMETRY.ident(), Some("total"))
        .await
        .expect("scan")
        .sum
    {
        Some(strata_lake::ColumnSum::Decimal(sum)) => assert_eq!(sum, expected_total),
        other => panic!("unexpected sum {other:?}"),
    }
    let ids: HashSet<_> = string_column(&lake, TELEMETRY, "event_id")
        .await
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 3_500, "every event once");
    assert_eq!(committed(dynamic.as_ref(), "lake").await, 3_500);
    assert_eq!(
        committed(dynamic.as_ref(), &cursor_name("lake")).await,
        3_500
    );

    // A restart (a new handle, as a new process would open) finds nothing to do.
    let reopened: Arc<dyn EventLog> =
        Arc::new(NatsLog::open(log.options().clone()).await.expect("reopen"));
    let again = Pipeline::new(reopened, lake.clone(), COMMERCE, identity(), fast_config())
        .expect("pipeline");
    let handle = again.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(again.run(cancel.clone()));
    wait_for(
        &handle,
        Duration::from_secs(60),
        "the pipeline to open",
        |s| s.acked_offset >= 3_500 || s.state == PipelineState::Failed,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    let report = task.await.expect("join").expect("pipeline ran");
    assert_eq!(report.resume.resumed_at, 3_500);
    assert_eq!(report.stats.events_in, 0);
    assert_eq!(
        lake.scan_stats(&TELEMETRY.ident(), None)
            .await
            .expect("scan")
            .rows,
        3_500
    );
}
