//! Pipelines on real files: a SQLite event log and Iceberg tables in a temporary directory.
//! Exactly once across a crash between the lake commit and the log ack, transform routing and
//! dead letters, time-based rolls, draining on shutdown, reloads, storage outages.

mod common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use common::{
    Env, commerce, commerce_events, commerce_numbered, fast_config, publication, string_column,
    sync, total_of, wait_for,
};
use strata_events::{Delivery, Event, EventLog, StreamName};
use strata_lake::{DEFAULT_LANE, LakeTable};
use strata_pipeline::{
    Definition, Definitions, Pipeline, PipelineConfig, PipelineError, PipelineSet, PipelineState,
    RunLock, Transform, render_prometheus, source::cursor_name,
};
use tokio_util::sync::CancellationToken;

const COMMERCE: StreamName = StreamName::Commerce;
const TELEMETRY: LakeTable = LakeTable::Telemetry(StreamName::Commerce);
const REJECTED: LakeTable = LakeTable::Rejected(StreamName::Commerce);
const CAUGHT_UP: Duration = Duration::from_secs(120);

fn pipeline(env: &Env, definition: Definition, config: PipelineConfig) -> Pipeline {
    Pipeline::new(env.log(), env.lake.clone(), COMMERCE, definition, config).expect("pipeline")
}

fn identity() -> Definition {
    Definition::Transform(Transform::identity(COMMERCE))
}

/// Runs `p` until its acknowledgement reaches `head`, then drains it; returns the final stats.
async fn run_to(p: Pipeline, head: u64) -> strata_pipeline::PipelineReport {
    let handle = p.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(p.run(cancel.clone()));
    wait_for(&handle, CAUGHT_UP, "the pipeline to catch up", |s| {
        s.acked_offset >= head || s.state == PipelineState::Failed
    })
    .await;
    cancel.cancel();
    task.await.expect("join").expect("pipeline ran")
}

#[tokio::test]
async fn n_events_land_exactly_once_and_the_consumer_offset_reaches_n() {
    let env = Env::new().await;
    let events = commerce_events(0, 2_500);
    let expected_total = total_of(&events);
    env.append(COMMERCE, events).await;

    let report = run_to(pipeline(&env, identity(), fast_config()), 2_500).await;

    assert_eq!(env.rows(TELEMETRY).await, 2_500);
    assert_eq!(env.decimal_sum(TELEMETRY, "total").await, expected_total);
    assert_eq!(env.rows(REJECTED).await, 0);
    assert_eq!(env.consumer_offset(COMMERCE, "lake").await, 2_500);
    assert_eq!(
        env.consumer_offset(COMMERCE, &cursor_name("lake")).await,
        2_500
    );
    let ids: HashSet<_> = string_column(&env.lake, TELEMETRY, "event_id")
        .await
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 2_500, "every event once");

    let s = &report.stats;
    assert_eq!(report.unflushed, 0);
    assert_eq!(s.state, PipelineState::Stopped);
    assert_eq!((s.events_in, s.events_out), (2_500, 2_500));
    assert_eq!((s.events_rejected, s.events_filtered), (0, 0));
    assert_eq!(s.rows_written, 2_500);
    assert!(s.commits >= 3, "batches of at most 1,000: {}", s.commits);
    assert_eq!((s.acked_offset, s.lag, s.buffered_events), (2_500, 0, 0));
    assert!(s.last_commit_latency_ms.is_some() && s.last_commit_unix_ms.is_some());

    let text = render_prometheus(std::slice::from_ref(s));
    assert!(text.contains("# TYPE strata_pipeline_events_in_total counter"));
    assert!(text.contains("strata_pipeline_events_out_total{stream=\"commerce\"} 2500"));
    assert!(text.contains("strata_pipeline_lag_events{stream=\"commerce\"} 0"));
    assert!(text.contains("strata_pipeline_state{stream=\"commerce\",state=\"stopped\"} 1"));

    // A second run finds nothing to do and writes nothing.
    let again = run_to(pipeline(&env, identity(), fast_config()), 2_500).await;
    assert_eq!(again.resume.resumed_at, 2_500);
    assert_eq!(again.stats.events_in, 0);
    assert_eq!(env.rows(TELEMETRY).await, 2_500);
}

#[tokio::test]
async fn a_crash_between_the_lake_commit_and_the_log_ack_duplicates_nothing() {
    let env = Env::new().await;
    let events = commerce_events(0, 1_200);
    let expected_total = total_of(&events);
    env.append(COMMERCE, events).await;

    // The state a killed pipeline leaves: offsets 1..=700 committed to the lake but never
    // acknowledged (the ack stayed at 300 from an earlier batch), and the read cursor at 900
    // because 701..=900 were in memory.
    let deliveries: Vec<Delivery> = env
        .log
        .read(COMMERCE, "probe", 700)
        .await
        .expect("read")
        .into_iter()
        .collect();
    env.lake
        .write_deliveries(COMMERCE, DEFAULT_LANE, &deliveries)
        .await
        .expect("lake commit");
    env.log.commit(COMMERCE, "lake", 300).await.expect("ack");
    env.log
        .commit(COMMERCE, &cursor_name("lake"), 900)
        .await
        .expect("cursor");
    assert_eq!(env.rows(TELEMETRY).await, 700);

    let report = run_to(pipeline(&env, identity(), fast_config()), 1_200).await;
    let r = &report.resume;
    assert_eq!(
        (r.acked_in_log, r.lake_committed, r.resumed_at, r.replayed),
        (300, 700, 700, 200),
        "{r:?}"
    );
    assert_eq!(env.rows(TELEMETRY).await, 1_200, "no duplicate, no gap");
    assert_eq!(env.decimal_sum(TELEMETRY, "total").await, expected_total);
    assert_eq!(env.consumer_offset(COMMERCE, "lake").await, 1_200);
    assert_eq!(report.stats.events_in, 500);

    // The same crash later in the stream, with nothing in memory: the lake is ahead of both the
    // acknowledgement and the cursor.
    env.append(COMMERCE, commerce_events(1_200, 300)).await;
    let tail = env.log.read(COMMERCE, "lake", 100).await.expect("read");
    env.lake
        .write_deliveries(COMMERCE, DEFAULT_LANE, &tail)
        .await
        .expect("lake commit");
    run_to(pipeline(&env, identity(), fast_config()), 1_500).await;
    assert_eq!(env.rows(TELEMETRY).await, 1_500);
    let ids: HashSet<_> = string_column(&env.lake, TELEMETRY, "event_id")
        .await
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 1_500);
}

#[tokio::test]
async fn the_where_filter_routes_events_away_and_failures_to_the_dead_letter_table() {
    let env = Env::new().await;
    // Every 7th order number is not numeric: the CAST fails and the event is a dead letter.
    // Returns (i % 5 == 4) are filtered. The projection drops the customer's e-mail address.
    let n = 1_400u64;
    let events: Vec<Event> = (0..n)
        .map(|i| {
            let number = if i % 7 == 0 {
                "N/A".to_owned()
            } else {
                (1000 + i).to_string()
            };
            commerce_numbered(i, 2, number)
        })
        .collect();
    let rejected = (0..n).filter(|i| i % 7 == 0).count() as u64;
    let filtered = (0..n).filter(|i| i % 7 != 0 && i % 5 == 4).count() as u64;
    let passed = n - rejected - filtered;
    let passed_total = total_of(
        &events
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 7 != 0 && i % 5 != 4)
            .map(|(_, e)| e.clone())
            .collect::<Vec<_>>(),
    );
    env.append(COMMERCE, events).await;

    let sql = "INSERT INTO commerce.telemetry \
               SELECT * EXCLUDE (customer_email) FROM commerce_telemetry \
               WHERE CAST(order_number AS BIGINT) >= 1000 AND event_type <> 'return_requested'";
    let t = Transform::parse(COMMERCE, sql).expect("definition");
    let report = run_to(pipeline(&env, Definition::Transform(t), fast_config()), n).await;

    let s = &report.stats;
    assert_eq!(
        (
            s.events_in,
            s.events_out,
            s.events_rejected,
            s.events_filtered
        ),
        (n, passed, rejected, filtered)
    );
    assert_eq!(
        s.events_out + s.events_rejected + s.events_filtered,
        s.events_in
    );
    assert_eq!(env.rows(TELEMETRY).await, passed);
    assert_eq!(env.decimal_sum(TELEMETRY, "total").await, passed_total);
    assert_eq!(env.rows(REJECTED).await, rejected);
    assert_eq!(
        env.consumer_offset(COMMERCE, "lake").await,
        n,
        "filtered and rejected events are acknowledged too"
    );

    let emails = string_column(&env.lake, TELEMETRY, "customer_email").await;
    assert_eq!(emails.len() as u64, passed);
    assert!(
        emails.iter().all(Option::is_none),
        "the projection dropped the e-mail"
    );
    let payloads = string_column(&env.lake, TELEMETRY, "payload").await;
    assert!(
        payloads
            .iter()
            .flatten()
            .all(|p| !p.contains("casey@example.com"))
    );

    let reasons = string_column(&env.lake, REJECTED, "reason").await;
    assert_eq!(reasons.len() as u64, rejected);
    for r in reasons.iter().flatten() {
        assert!(
            r.contains("CAST(order_number AS BIGINT)") && r.contains("`N/A` is not a valid BIGINT"),
            "{r}"
        );
    }
    let kinds = string_column(&env.lake, REJECTED, "kind").await;
    assert!(
        kinds
            .iter()
            .all(|k| k.as_deref() == Some("transform_error"))
    );
    let raws = string_column(&env.lake, REJECTED, "raw").await;
    assert!(
        raws.iter()
            .flatten()
            .all(|r| r.contains("\"order_number\":\"N/A\"")),
        "the event as it was"
    );
}

#[tokio::test]
async fn a_small_batch_is_committed_within_the_roll_interval() {
    let env = Env::new().await;
    let mut config = fast_config();
    config.batch.max_events = 10_000;
    config.buffer.max_events = 30_000;
    config.batch.roll_interval = Duration::from_millis(400);
    let p = pipeline(&env, identity(), config);
    let handle = p.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(p.run(cancel.clone()));
    wait_for(&handle, CAUGHT_UP, "the pipeline to start", |s| {
        s.state == PipelineState::Running
    })
    .await;

    for round in 1..=2u64 {
        let start = std::time::Instant::now();
        env.append(COMMERCE, commerce_events(round * 100, 5)).await;
        wait_for(&handle, Duration::from_secs(10), "the small batch", |s| {
            s.acked_offset == round * 5
        })
        .await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300),
            "a batch of 5 waits for the roll interval, not for 10,000 events: {took:?}"
        );
        assert!(
            took < Duration::from_secs(5),
            "queryable well inside the 10 s freshness target: {took:?}"
        );
        assert_eq!(env.rows(TELEMETRY).await, round * 5);
    }
    cancel.cancel();
    let report = task.await.expect("join").expect("run");
    assert_eq!(report.stats.commits, 2);
}

#[tokio::test]
async fn shutdown_flushes_the_buffer() {
    let env = Env::new().await;
    let mut config = fast_config();
    // Nothing would flush on its own for a minute.
    config.batch.roll_interval = Duration::from_secs(60);
    config.batch.max_events = 10_000;
    config.buffer.max_events = 30_000;
    env.append(COMMERCE, commerce_events(0, 700)).await;
    let p = pipeline(&env, identity(), config);
    let handle = p.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(p.run(cancel.clone()));
    wait_for(&handle, CAUGHT_UP, "700 buffered events", |s| {
        s.buffered_events == 700
    })
    .await;
    assert_eq!(env.rows(TELEMETRY).await, 0);
    assert_eq!(env.consumer_offset(COMMERCE, "lake").await, 0);

    cancel.cancel();
    let report = task.await.expect("join").expect("run");
    assert_eq!(report.unflushed, 0);
    assert_eq!(report.stats.state, PipelineState::Stopped);
    assert_eq!(report.stats.buffered_events, 0);
    assert_eq!(env.rows(TELEMETRY).await, 700);
    assert_eq!(env.consumer_offset(COMMERCE, "lake").await, 700);
}

#[tokio::test]
async fn reloading_the_definition_keeps_buffered_events() {
    let env = Env::new().await;
    let file = env.dir.path().join("commerce_telemetry.sql");
    std::fs::write(
        &file,
        "INSERT INTO commerce.telemetry SELECT * FROM commerce_telemetry",
    )
    .expect("write definition");
    let mut config = fast_config();
    config.batch.roll_interval = Duration::from_secs(60);
    config.batch.max_events = 10_000;
    config.buffer.max_events = 30_000;
    env.append(COMMERCE, commerce_events(0, 500)).await;
    let p = pipeline(&env, Definition::File(file.clone()), config.clone());
    let handle = p.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(p.run(cancel.clone()));
    wait_for(&handle, CAUGHT_UP, "500 buffered events", |s| {
        s.buffered_events == 500
    })
    .await;

    // A broken edit is refused and the running definition stays.
    std::fs::write(
        &file,
        "INSERT INTO commerce.telemetry SELECT * FROM commerce_telemetry WHERE nope = 1",
    )
    .expect("write definition");
    let err = handle.reload().expect_err("unknown field");
    assert!(matches!(err, PipelineError::Definition { .. }), "{err}");
    assert!(handle.transform().is_identity());

    // A good edit applies to the buffered events: nothing read so far is lost or skipped.
    std::fs::write(
        &file,
        "INSERT INTO commerce.telemetry SELECT * FROM commerce_telemetry WHERE event_type = 'order_created'",
    )
    .expect("write definition");
    handle.reload().expect("reload");
    cancel.cancel();
    let report = task.await.expect("join").expect("run");
    assert_eq!(report.stats.events_out, 100, "i % 5 == 0 are order_created");
    assert_eq!(report.stats.events_filtered, 400);
    assert_eq!(env.rows(TELEMETRY).await, 100);
    assert_eq!(env.consumer_offset(COMMERCE, "lake").await, 500);

    // Restarting with the edited file picks up where the last run stopped.
    env.append(COMMERCE, commerce_events(500, 50)).await;
    config.batch.roll_interval = Duration::from_millis(200);
    let report = run_to(pipeline(&env, Definition::File(file), config), 550).await;
    assert_eq!((report.stats.events_in, report.stats.events_out), (50, 10));
    assert_eq!(env.rows(TELEMETRY).await, 110);
}

#[tokio::test]
async fn a_storage_outage_is_retried_with_a_bounded_buffer_and_nothing_lost() {
    let env = Env::new().await;
    let mut config = fast_config();
    config.batch.max_events = 200;
    config.buffer.max_events = 600;
    config.read_chunk = 100;
    env.append(COMMERCE, commerce_events(0, 100)).await;
    let p = pipeline(&env, identity(), config);
    let handle = p.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(p.run(cancel.clone()));
    wait_for(&handle, CAUGHT_UP, "the first batch", |s| {
        s.acked_offset == 100
    })
    .await;

    // The warehouse disappears: a file where its directory was, so every read and write of
    // table files fails.
    let warehouse = env.dir.path().join("lake").join("warehouse");
    let aside = env.dir.path().join("lake").join("warehouse.aside");
    std::fs::rename(&warehouse, &aside).expect("move the warehouse");
    std::fs::write(&warehouse, b"not a directory").expect("block the path");

    let all = commerce_events(100, 2_000);
    let expected_total = total_of(&commerce_events(0, 100)) + total_of(&all);
    env.append(COMMERCE, all).await;
    wait_for(&handle, CAUGHT_UP, "retries with the buffer full", |s| {
        s.state == PipelineState::Retrying && s.retries >= 2 && s.buffered_events == 600
    })
    .await;
    // The bound holds: the pipeline stopped reading, the log keeps the rest.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = handle.stats();
    assert_eq!(stats.events_in, 100 + 600, "{stats:#?}");
    assert_eq!(stats.acked_offset, 100);
    assert!(stats.last_error.is_some());

    std::fs::remove_file(&warehouse).expect("unblock");
    std::fs::rename(&aside, &warehouse).expect("restore the warehouse");
    wait_for(&handle, CAUGHT_UP, "recovery", |s| s.acked_offset == 2_100).await;
    cancel.cancel();
    let report = task.await.expect("join").expect("run");
    assert_eq!(report.stats.state, PipelineState::Stopped);
    assert!(
        report.stats.last_error.is_none(),
        "cleared by the next commit"
    );
    assert_eq!(env.rows(TELEMETRY).await, 2_100);
    assert_eq!(env.decimal_sum(TELEMETRY, "total").await, expected_total);
}

#[tokio::test]
async fn a_log_behind_the_lake_is_refused() {
    let env = Env::new().await;
    let deliveries: Vec<Delivery> = (1..=50)
        .map(|offset| Delivery {
            offset,
            event: commerce(offset, 1),
        })
        .collect();
    env.lake
        .write_deliveries(COMMERCE, DEFAULT_LANE, &deliveries)
        .await
        .expect("lake commit");
    // The log is new (10 events): its offsets 1..=10 would be skipped as already written.
    env.append(COMMERCE, commerce_events(0, 10)).await;
    let err = pipeline(&env, identity(), fast_config())
        .run(CancellationToken::new())
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            PipelineError::LogBehindLake {
                lake: 50,
                head: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_three_shipped_definitions_run_as_a_set() {
    let env = Env::new().await;
    let definitions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
    env.append(COMMERCE, commerce_events(0, 300)).await;
    env.append(StreamName::Publication, (0..200).map(publication).collect())
        .await;
    env.append(StreamName::Sync, (0..100).map(sync).collect())
        .await;
    let cancel = CancellationToken::new();
    let set = PipelineSet::start(
        env.log() as Arc<dyn EventLog>,
        env.lake.clone(),
        &Definitions::Dir(definitions),
        fast_config(),
        cancel.clone(),
    )
    .await
    .expect("start");
    for (h, n) in set.handles().iter().zip([300, 200, 100]) {
        wait_for(h, CAUGHT_UP, "each stream", |s| s.acked_offset == n).await;
    }
    let text = set.render_prometheus();
    assert!(text.contains("strata_pipeline_events_out_total{stream=\"publication\"} 200"));
    for report in set.shutdown().await {
        assert_eq!(report.expect("run").unflushed, 0);
    }
    for (stream, n) in [
        (StreamName::Commerce, 300),
        (StreamName::Publication, 200),
        (StreamName::Sync, 100),
    ] {
        assert_eq!(env.rows(LakeTable::Telemetry(stream)).await, n, "{stream}");
    }
}

#[tokio::test]
async fn one_set_of_pipelines_per_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = RunLock::acquire(dir.path()).expect("first");
    let err = RunLock::acquire(dir.path()).expect_err("second");
    assert!(
        matches!(err, PipelineError::Locked { pid: Some(p), .. } if p == std::process::id()),
        "{err}"
    );
    drop(held);
    RunLock::acquire(dir.path()).expect("free again");
}
