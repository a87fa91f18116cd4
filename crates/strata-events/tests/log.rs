//! The event log's contract, run against both backends: `sqlite::*` on real files in a temporary
//! directory, `nats::*` on the NATS JetStream server at `STRATA_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`; `scripts/services nats` starts it). The NATS tests fail, never skip,
//! when the server is unreachable. Each NATS test has its own streams and offsets bucket (a ULID
//! prefix) and deletes them at the end, failed or not.

mod common;

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{commerce, every_type, publication, sync};
use futures_util::FutureExt;
use strata_events::{
    Event, EventLog, FsyncPolicy, LogError, NatsLog, NatsOptions, SqliteLog, SqliteOptions,
    StreamName, SyncOutcome,
};

/// The NATS server of the tests.
pub fn nats_url() -> String {
    std::env::var("STRATA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// Options naming streams, subjects and bucket no other test uses.
pub fn isolated_nats_options() -> NatsOptions {
    let tag = ulid::Ulid::new().to_string();
    NatsOptions {
        stream_prefix: format!("T{tag}_"),
        subject_prefix: format!("test.{tag}.telemetry"),
        ..NatsOptions::new(nats_url())
    }
}

/// A place a log lives, which can be opened more than once (as several processes would).
#[derive(Clone)]
enum Backend {
    Sqlite(Arc<tempfile::TempDir>),
    Nats(NatsOptions),
}

impl Backend {
    fn sqlite() -> Self {
        Self::Sqlite(Arc::new(tempfile::tempdir().expect("tempdir")))
    }

    fn nats() -> Self {
        Self::Nats(isolated_nats_options())
    }

    async fn open(&self) -> Arc<dyn EventLog> {
        match self {
            Self::Sqlite(dir) => Arc::new(
                SqliteLog::open(dir.path(), SqliteOptions::default()).expect("open the SQLite log"),
            ),
            Self::Nats(options) => {
                Arc::new(NatsLog::open(options.clone()).await.unwrap_or_else(|e| {
                    panic!("open the NATS log (is nats-server running with -js?): {e}")
                }))
            }
        }
    }

    /// Deletes what the test created on the server.
    async fn clean_up(&self) {
        if let Self::Nats(options) = self {
            match NatsLog::open(options.clone()).await {
                Ok(log) => {
                    if let Err(e) = log.delete_streams_and_offsets().await {
                        eprintln!("could not delete the test's streams: {e}");
                    }
                }
                Err(e) => eprintln!("could not reopen the log to clean up: {e}"),
            }
        }
    }
}

/// Runs one contract test on `backend`, then cleans up even if it panicked.
async fn run<F: Future<Output = ()>>(backend: Backend, test: impl FnOnce(Backend) -> F) {
    let outcome = AssertUnwindSafe(test(backend.clone())).catch_unwind().await;
    backend.clean_up().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Each contract test, once per backend: `sqlite::<name>` and `nats::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::run(super::Backend::sqlite(), super::$name).await;
                }
            )*
        }
        mod nats {
            $(
                #[tokio::test]
                async fn $name() {
                    super::run(super::Backend::nats(), super::$name).await;
                }
            )*
        }
    };
}

contract!(
    every_stream_round_trips_through_the_log,
    append_is_idempotent_on_event_id,
    offsets_and_events_survive_reopening,
    commit_never_moves_backwards,
    consumers_are_independent,
    misuse_is_refused_without_side_effects,
    concurrent_appends_and_reads_through_a_shared_handle,
    reading_does_not_move_the_offset,
    concurrent_commits_stay_monotonic,
    a_read_larger_than_one_fetch_returns_everything_asked,
);

fn publications(n: usize) -> Vec<Event> {
    (0..n).map(|_| Event::from(publication("click"))).collect()
}

fn offsets(deliveries: &[strata_events::Delivery]) -> Vec<u64> {
    deliveries.iter().map(|d| d.offset).collect()
}

async fn every_stream_round_trips_through_the_log(backend: Backend) {
    let log = backend.open().await;
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

async fn append_is_idempotent_on_event_id(backend: Backend) {
    let log = backend.open().await;
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

    // A retry through another handle (another process) is a duplicate as well.
    let other = backend.open().await;
    let receipt = other
        .append(StreamName::Commerce, vec![second.clone().into()])
        .await
        .expect("append");
    assert_eq!(receipt.duplicates(), 1);
    assert_eq!(receipt.entries[0].offset, 2);
    assert_eq!(
        receipt.head_offset, 2,
        "all duplicates: the head is unchanged"
    );

    let read = log.read(StreamName::Commerce, "c", 10).await.expect("read");
    assert_eq!(read.len(), 2, "stored once each");
    assert_eq!(read[0].event, Event::from(first));
    assert_eq!(read[1].event, Event::from(second));
}

async fn offsets_and_events_survive_reopening(backend: Backend) {
    {
        let log = backend.open().await;
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
    let log = backend.open().await;
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
        offsets(&rest),
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

async fn commit_never_moves_backwards(backend: Backend) {
    let log = backend.open().await;
    log.append(StreamName::Publication, publications(5))
        .await
        .expect("append");
    let s = StreamName::Publication;
    assert_eq!(log.commit(s, "c", 4).await.expect("commit"), 4);
    assert_eq!(log.commit(s, "c", 2).await.expect("late ack"), 4);
    assert_eq!(log.commit(s, "c", 4).await.expect("repeat"), 4);
    assert_eq!(log.commit(s, "c", 0).await.expect("zero"), 4);
    let next = log.read(s, "c", 10).await.expect("read");
    assert_eq!(offsets(&next), vec![5]);
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
    match log.commit(StreamName::Sync, "c", 1).await {
        Err(LogError::OffsetBeyondHead {
            offset: 1, head: 0, ..
        }) => {}
        other => panic!("committing on an empty stream must fail, got {other:?}"),
    }
    // A failed commit changed nothing.
    let stats = log.stats(s).await.expect("stats");
    assert_eq!(stats.consumers.len(), 1);
    assert_eq!(stats.consumers[0].committed, 5);
}

async fn consumers_are_independent(backend: Backend) {
    let log = backend.open().await;
    let s = StreamName::Publication;
    log.append(s, publications(6)).await.expect("append");

    let a = log.read(s, "lake-writer", 4).await.expect("read");
    assert_eq!(a.len(), 4);
    log.commit(s, "lake-writer", a[3].offset)
        .await
        .expect("commit");
    let b = log.read(s, "counters", 2).await.expect("read");
    assert_eq!(offsets(&b), vec![1, 2]);
    log.commit(s, "counters", 2).await.expect("commit");

    let a = log.read(s, "lake-writer", 10).await.expect("read");
    assert_eq!(offsets(&a), vec![5, 6]);
    let b = log.read(s, "counters", 10).await.expect("read");
    assert_eq!(offsets(&b), vec![3, 4, 5, 6]);

    // Names with characters a NATS key does not take are still distinct consumers.
    log.commit(s, "lake.cursor", 3).await.expect("commit");
    log.commit(s, "x=y/z*>", 1).await.expect("commit");

    let stats = log.stats(s).await.expect("stats");
    let committed: Vec<(&str, u64)> = stats
        .consumers
        .iter()
        .map(|c| (c.name.as_str(), c.committed))
        .collect();
    assert_eq!(
        committed,
        vec![
            ("counters", 2),
            ("lake-writer", 4),
            ("lake.cursor", 3),
            ("x=y/z*>", 1)
        ]
    );
    // Other streams are untouched.
    let other = log.stats(StreamName::Commerce).await.expect("stats");
    assert_eq!(other.head_offset, 0);
    assert!(other.consumers.is_empty());
}

async fn misuse_is_refused_without_side_effects(backend: Backend) {
    let log = backend.open().await;
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
    for bad in ["", "has space", &"x".repeat(129), "tab\t", "é"] {
        assert!(matches!(
            log.read(StreamName::Publication, bad, 1).await,
            Err(LogError::InvalidConsumer { .. })
        ));
        assert!(matches!(
            log.commit(StreamName::Publication, bad, 0).await,
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

async fn concurrent_appends_and_reads_through_a_shared_handle(backend: Backend) {
    let log = backend.open().await;
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

/// What the pipeline relies on: a read returns the same events until they are committed, a
/// commit may jump past what was read, and a read follows the committed offset wherever it was
/// moved (by this handle or another process).
async fn reading_does_not_move_the_offset(backend: Backend) {
    let log = backend.open().await;
    let s = StreamName::Publication;
    log.append(s, publications(6)).await.expect("append");

    let first = log.read(s, "c", 3).await.expect("read");
    assert_eq!(offsets(&first), vec![1, 2, 3]);
    let again = log.read(s, "c", 3).await.expect("read");
    assert_eq!(again, first, "the same events until committed");
    assert_eq!(
        offsets(&log.read(s, "c", 10).await.expect("read")),
        vec![1, 2, 3, 4, 5, 6]
    );

    log.commit(s, "c", 2).await.expect("commit");
    assert_eq!(
        offsets(&log.read(s, "c", 2).await.expect("read")),
        vec![3, 4]
    );
    // Committed further than read.
    assert_eq!(log.commit(s, "c", 5).await.expect("commit"), 5);
    assert_eq!(offsets(&log.read(s, "c", 10).await.expect("read")), vec![6]);
    log.commit(s, "c", 6).await.expect("commit");

    // Caught up: an empty read, promptly.
    let started = Instant::now();
    assert!(log.read(s, "c", 10).await.expect("read").is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a caught-up read must not block: {:?}",
        started.elapsed()
    );
    // New events are seen by the next read.
    log.append(s, publications(3)).await.expect("append");
    assert_eq!(
        offsets(&log.read(s, "c", 10).await.expect("read")),
        vec![7, 8, 9]
    );

    // Another process moves the offset: this handle's next read starts there.
    let other = backend.open().await;
    assert_eq!(other.commit(s, "c", 8).await.expect("commit"), 8);
    assert_eq!(offsets(&log.read(s, "c", 10).await.expect("read")), vec![9]);
    // And this handle's view of the committed offset follows too.
    assert_eq!(log.commit(s, "c", 7).await.expect("late ack"), 8);
    let stats = log.stats(s).await.expect("stats");
    assert_eq!(stats.head_offset, 9);
    assert_eq!(stats.consumers[0].committed, 8);
}

/// Commits racing from several tasks and handles: the offset ends at the largest, and no commit
/// answers with less than it asked for.
async fn concurrent_commits_stay_monotonic(backend: Backend) {
    let s = StreamName::Sync;
    let setup = backend.open().await;
    let events: Vec<Event> = (0..40)
        .map(|_| Event::from(sync(SyncOutcome::StepCompleted)))
        .collect();
    setup.append(s, events).await.expect("append");
    let handles = [setup, backend.open().await];
    let mut tasks = Vec::new();
    for t in 0..6u64 {
        let log = Arc::clone(&handles[(t % 2) as usize]);
        tasks.push(tokio::spawn(async move {
            // Each task commits every offset, in its own order.
            let mut order: Vec<u64> = (1..=40).collect();
            order.rotate_left((t * 7) as usize);
            if t % 3 == 0 {
                order.reverse();
            }
            for offset in order {
                let committed = log.commit(s, "racer", offset).await.expect("commit");
                assert!(committed >= offset, "asked {offset}, got {committed}");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let stats = handles[1].stats(s).await.expect("stats");
    assert_eq!(stats.consumers.len(), 1);
    assert_eq!(stats.consumers[0].committed, 40);
}

/// A read of more events than one server round trip carries still returns them all.
async fn a_read_larger_than_one_fetch_returns_everything_asked(backend: Backend) {
    let log = backend.open().await;
    let s = StreamName::Publication;
    for _ in 0..3 {
        log.append(s, publications(4_000)).await.expect("append");
    }
    let all = log.read(s, "big", 11_000).await.expect("read");
    assert_eq!(all.len(), 11_000);
    assert_eq!(all.first().map(|d| d.offset), Some(1));
    assert_eq!(all.last().map(|d| d.offset), Some(11_000));
    let rest = log.read(s, "big", 100_000).await.expect("read");
    assert_eq!(rest.len(), 12_000, "every event, from the committed offset");
}

#[tokio::test]
async fn the_sqlite_log_is_stored_where_documented() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = SqliteLog::open(dir.path(), SqliteOptions::default()).expect("open");
    assert_eq!(log.path(), dir.path().join("events.sqlite"));
}

/// Appends `batches` batches of `batch` publication events, then reads them back 5,000 at a
/// time with a commit after each; prints the rates. Asserts only correctness, never timing.
async fn measure(label: &str, log: &dyn EventLog, batch: usize, batches: usize) {
    let all: Vec<Vec<Event>> = (0..batches).map(|_| publications(batch)).collect();
    let started = Instant::now();
    for events in all {
        let receipt = log
            .append(StreamName::Publication, events)
            .await
            .expect("append");
        assert_eq!(receipt.appended(), batch);
    }
    let elapsed = started.elapsed();
    let total = batch * batches;
    let profile = if cfg!(debug_assertions) {
        "debug build; run with --release for representative numbers"
    } else {
        "release build"
    };
    println!(
        "append throughput ({label}): {total} publication events in {batches} batches of {batch} \
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
        "read+commit throughput ({label}): {read} events in {:.3} s = {:.0} events/s",
        started.elapsed().as_secs_f64(),
        read as f64 / started.elapsed().as_secs_f64()
    );
}

/// Measures batched append and read throughput of the SQLite log.
#[tokio::test]
async fn batched_append_throughput() {
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
        measure(&format!("SQLite, {fsync:?}"), &log, 10_000, 5).await;
    }
}

/// The same measurement on NATS JetStream (file storage, one server on this machine).
#[tokio::test]
async fn batched_append_throughput_on_nats() {
    run(Backend::nats(), |backend| async move {
        let log = backend.open().await;
        measure("NATS JetStream, file storage", log.as_ref(), 10_000, 5).await;
    })
    .await;
}
