//! The SQLite event log, on real files in a temporary directory.

mod common;

use std::{sync::Arc, time::Instant};

use common::{commerce, every_type, publication, sync};
use strata_events::{
    Event, EventLog, FsyncPolicy, LogError, SqliteLog, SqliteOptions, StreamName, SyncOutcome,
};

fn open(dir: &std::path::Path) -> SqliteLog {
    SqliteLog::open(dir, SqliteOptions::default()).expect("open log")
}

fn publications(n: usize) -> Vec<Event> {
    (0..n).map(|_| Event::from(publication("click"))).collect()
}

#[tokio::test]
async fn every_stream_round_trips_through_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    assert_eq!(
        log.path(),
        dir.path().join("events.sqlite"),
        "stored where documented"
    );
    for stream in StreamName::ALL {
        let events: Vec<Event> = every_type()
            .into_iter()
            .filter(|e| e.stream() == stream)
            .collect();
        assert_eq!(events.len(), 5);
        let receipt = log.append(stream, events.clone()).await.expect("append");
        assert_eq!(receipt.appended(), 5);
        assert_eq!(receipt.duplicates(), 0);
        assert_eq!(receipt.head_offset, 5);
        let offsets: Vec<u64> = receipt.entries.iter().map(|e| e.offset).collect();
        assert_eq!(
            offsets,
            vec![1, 2, 3, 4, 5],
            "offsets count from 1 per stream"
        );

        let read = log.read(stream, "lake-writer", 100).await.expect("read");
        let got: Vec<Event> = read.iter().map(|d| d.event.clone()).collect();
        assert_eq!(got, events, "{stream}: events come back as appended");
        assert_eq!(read.iter().map(|d| d.offset).collect::<Vec<_>>(), offsets);
    }
}

#[tokio::test]
async fn append_is_idempotent_on_event_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let first = commerce("order_created");
    let second = commerce("order_completed");
    let receipt = log
        .append(StreamName::Commerce, vec![first.clone().into()])
        .await
        .expect("append");
    assert_eq!(receipt.appended(), 1);

    // A retry of the same event plus a new one, with the new one repeated inside the batch.
    let receipt = log
        .append(
            StreamName::Commerce,
            vec![
                first.clone().into(),
                second.clone().into(),
                second.clone().into(),
            ],
        )
        .await
        .expect("append");
    assert_eq!(receipt.appended(), 1);
    assert_eq!(receipt.duplicates(), 2);
    assert!(receipt.entries[0].duplicate);
    assert_eq!(
        receipt.entries[0].offset, 1,
        "a duplicate reports the stored copy"
    );
    assert!(!receipt.entries[1].duplicate);
    assert_eq!(receipt.entries[1].offset, 2);
    assert!(receipt.entries[2].duplicate);
    assert_eq!(receipt.entries[2].offset, 2);
    assert_eq!(receipt.head_offset, 2);

    let read = log.read(StreamName::Commerce, "c", 10).await.expect("read");
    assert_eq!(read.len(), 2, "stored once each");
    assert_eq!(read[0].event, Event::from(first));
    assert_eq!(read[1].event, Event::from(second));
}

#[tokio::test]
async fn offsets_and_events_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let log = open(dir.path());
        log.append(StreamName::Publication, publications(10))
            .await
            .expect("append");
        log.append(StreamName::Sync, vec![sync(SyncOutcome::Started).into()])
            .await
            .expect("append");
        assert_eq!(
            log.commit(StreamName::Publication, "lake-writer", 7)
                .await
                .expect("commit"),
            7
        );
    }
    let log = open(dir.path());
    let stats = log.stats(StreamName::Publication).await.expect("stats");
    assert_eq!(stats.head_offset, 10);
    assert_eq!(stats.consumers.len(), 1);
    assert_eq!(stats.consumers[0].name, "lake-writer");
    assert_eq!(stats.consumers[0].committed, 7);

    let rest = log
        .read(StreamName::Publication, "lake-writer", 100)
        .await
        .expect("read");
    assert_eq!(
        rest.iter().map(|d| d.offset).collect::<Vec<_>>(),
        vec![8, 9, 10],
        "reading resumes after the committed offset"
    );
    // Offsets keep growing after a restart, never reused.
    let receipt = log
        .append(StreamName::Publication, publications(1))
        .await
        .expect("append");
    assert_eq!(receipt.entries[0].offset, 11);
    assert_eq!(
        log.stats(StreamName::Sync)
            .await
            .expect("stats")
            .head_offset,
        1
    );
}

#[tokio::test]
async fn commit_never_moves_backwards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    log.append(StreamName::Publication, publications(5))
        .await
        .expect("append");
    let s = StreamName::Publication;
    assert_eq!(log.commit(s, "c", 4).await.expect("commit"), 4);
    assert_eq!(log.commit(s, "c", 2).await.expect("late ack"), 4);
    assert_eq!(log.commit(s, "c", 4).await.expect("repeat"), 4);
    let next = log.read(s, "c", 10).await.expect("read");
    assert_eq!(next.iter().map(|d| d.offset).collect::<Vec<_>>(), vec![5]);
    assert_eq!(log.commit(s, "c", 5).await.expect("commit"), 5);
    assert!(log.read(s, "c", 10).await.expect("read").is_empty());

    match log.commit(s, "c", 6).await {
        Err(LogError::OffsetBeyondHead {
            offset: 6, head: 5, ..
        }) => {}
        other => panic!("committing past the head must fail, got {other:?}"),
    }
    match log.commit(s, "c", u64::MAX).await {
        Err(LogError::OffsetBeyondHead { .. }) => {}
        other => panic!("committing past the head must fail, got {other:?}"),
    }
}

#[tokio::test]
async fn consumers_are_independent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let s = StreamName::Publication;
    log.append(s, publications(6)).await.expect("append");

    let a = log.read(s, "lake-writer", 4).await.expect("read");
    assert_eq!(a.len(), 4);
    log.commit(s, "lake-writer", a[3].offset)
        .await
        .expect("commit");
    let b = log.read(s, "counters", 2).await.expect("read");
    assert_eq!(b.iter().map(|d| d.offset).collect::<Vec<_>>(), vec![1, 2]);
    log.commit(s, "counters", 2).await.expect("commit");

    let a = log.read(s, "lake-writer", 10).await.expect("read");
    assert_eq!(a.iter().map(|d| d.offset).collect::<Vec<_>>(), vec![5, 6]);
    let b = log.read(s, "counters", 10).await.expect("read");
    assert_eq!(
        b.iter().map(|d| d.offset).collect::<Vec<_>>(),
        vec![3, 4, 5, 6]
    );

    let stats = log.stats(s).await.expect("stats");
    let committed: Vec<(&str, u64)> = stats
        .consumers
        .iter()
        .map(|c| (c.name.as_str(), c.committed))
        .collect();
    assert_eq!(committed, vec![("counters", 2), ("lake-writer", 4)]);
    // Other streams are untouched.
    let other = log.stats(StreamName::Commerce).await.expect("stats");
    assert_eq!(other.head_offset, 0);
    assert!(other.consumers.is_empty());
}

#[tokio::test]
async fn misuse_is_refused_without_side_effects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let mixed = vec![
        Event::from(publication("view")),
        Event::from(commerce("order_created")),
    ];
    match log.append(StreamName::Publication, mixed).await {
        Err(LogError::StreamMismatch {
            expected: StreamName::Publication,
            actual: StreamName::Commerce,
            ..
        }) => {}
        other => panic!("a commerce event must not go to the publication stream: {other:?}"),
    }
    assert_eq!(
        log.stats(StreamName::Publication)
            .await
            .expect("stats")
            .head_offset,
        0,
        "nothing of the refused batch was stored"
    );
    for bad in ["", "has space", &"x".repeat(129)] {
        assert!(matches!(
            log.read(StreamName::Publication, bad, 1).await,
            Err(LogError::InvalidConsumer { .. })
        ));
    }
    assert!(
        log.read(StreamName::Publication, "ok", 0)
            .await
            .expect("read")
            .is_empty()
    );
    let empty = log
        .append(StreamName::Sync, Vec::new())
        .await
        .expect("append");
    assert_eq!(empty.entries.len(), 0);
    assert_eq!(empty.head_offset, 0);
}

#[tokio::test]
async fn concurrent_appends_and_reads_through_a_shared_handle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log: Arc<dyn EventLog> = Arc::new(open(dir.path()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let log = Arc::clone(&log);
        tasks.push(tokio::spawn(async move {
            log.append(StreamName::Publication, publications(50)).await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("append");
    }
    let all = log
        .read(StreamName::Publication, "c", 1_000)
        .await
        .expect("read");
    assert_eq!(all.len(), 400);
    assert!(
        all.windows(2).all(|w| w[0].offset < w[1].offset),
        "offsets strictly increase"
    );
}

/// Measures batched append throughput and prints it; asserts only correctness, never timing.
#[tokio::test]
async fn batched_append_throughput() {
    const BATCH: usize = 10_000;
    const BATCHES: usize = 5;
    for fsync in [FsyncPolicy::Always, FsyncPolicy::Normal] {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = SqliteLog::open(
            dir.path(),
            SqliteOptions {
                fsync,
                ..SqliteOptions::default()
            },
        )
        .expect("open");
        let batches: Vec<Vec<Event>> = (0..BATCHES).map(|_| publications(BATCH)).collect();
        let started = Instant::now();
        for batch in batches {
            let receipt = log
                .append(StreamName::Publication, batch)
                .await
                .expect("append");
            assert_eq!(receipt.appended(), BATCH);
        }
        let elapsed = started.elapsed();
        let total = BATCH * BATCHES;
        let profile = if cfg!(debug_assertions) {
            "debug build; run with --release for representative numbers"
        } else {
            "release build"
        };
        println!(
            "append throughput ({fsync:?}): {total} publication events in {BATCHES} batches of {BATCH} \
             in {:.3} s = {:.0} events/s ({profile})",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64()
        );

        let started = Instant::now();
        let mut read = 0;
        loop {
            let page = log
                .read(StreamName::Publication, "bench", 5_000)
                .await
                .expect("read");
            let Some(last) = page.last() else { break };
            read += page.len();
            log.commit(StreamName::Publication, "bench", last.offset)
                .await
                .expect("commit");
        }
        assert_eq!(read, total);
        println!(
            "read+commit throughput ({fsync:?}): {read} events in {:.3} s = {:.0} events/s",
            started.elapsed().as_secs_f64(),
            read as f64 / started.elapsed().as_secs_f64()
        );
    }
}
