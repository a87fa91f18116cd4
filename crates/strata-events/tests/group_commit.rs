//! Group commit in the SQLite event log: concurrent appends share a transaction and an fsync, each
//! is answered only once its batch committed, and a failed batch fails every appender in it.

mod common;

use std::{
    collections::HashMap,
    future::Future,
    path::Path,
    sync::Arc,
    task::Poll,
    time::{Duration, Instant},
};

use common::publication;
use strata_events::{Event, EventLog, FsyncPolicy, LogError, SqliteLog, SqliteOptions, StreamName};

const S: StreamName = StreamName::Publication;

fn open(dir: &Path) -> SqliteLog {
    SqliteLog::open(dir, SqliteOptions::default()).expect("open log")
}

fn publications(n: usize) -> Vec<Event> {
    (0..n).map(|_| Event::from(publication("click"))).collect()
}

fn ids(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.event_id().as_str().to_owned())
        .collect()
}

/// A second connection to the log's file that holds SQLite's write lock until dropped or
/// committed, so the writer's next batch waits, and everything sent meanwhile queues up.
fn hold_write_lock(log: &SqliteLog) -> rusqlite::Connection {
    let side = rusqlite::Connection::open(log.path()).expect("side connection");
    side.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    side
}

/// Waits until `n` writes are queued behind the writer (which is itself waiting for the lock).
async fn until_queued(log: &SqliteLog, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while log.queued_writes() != n {
        assert!(
            Instant::now() < deadline,
            "expected {n} queued writes, have {}",
            log.queued_writes()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls `request` once, which queues it (small appends are encoded on the caller, so their first
/// poll reaches the writer's queue), then runs it to completion on a task.
async fn send<F>(request: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut request = Box::pin(request);
    let mut early = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = request.as_mut().poll(cx) {
            early = Some(v);
        }
        Poll::Ready(())
    })
    .await;
    match early {
        Some(v) => tokio::spawn(async move { v }),
        None => tokio::spawn(request),
    }
}

/// Every read of `stream` from the start, by a fresh consumer.
async fn read_all(log: &dyn EventLog, stream: StreamName) -> Vec<(u64, String)> {
    log.read(stream, "check", 1_000_000)
        .await
        .expect("read")
        .into_iter()
        .map(|d| (d.offset, d.event.event_id().as_str().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_land_exactly_once_in_order_per_appender() {
    const APPENDERS: usize = 32;
    const APPENDS: usize = 15;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    // One event every appender sends as well: stored once, all receipts agree on its offset.
    let shared = publications(1);

    let mut tasks = Vec::new();
    for a in 0..APPENDERS {
        let log = Arc::clone(&log);
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut offsets = Vec::new();
            let mut first = None;
            for i in 0..APPENDS {
                // Batches of 1 to 3 events, like a placed order's one event or a small ingest.
                let batch = publications(1 + (a + i) % 3);
                let receipt = log.append(S, batch.clone()).await.expect("append");
                assert_eq!(receipt.duplicates(), 0);
                let got: Vec<String> = receipt
                    .entries
                    .iter()
                    .map(|e| e.event_id.as_str().to_owned())
                    .collect();
                assert_eq!(got, ids(&batch), "the receipt follows the input order");
                assert!(
                    receipt
                        .entries
                        .iter()
                        .all(|e| e.offset <= receipt.head_offset)
                );
                offsets.extend(receipt.entries.iter().map(|e| e.offset));
                sent.extend(ids(&batch));
                first.get_or_insert(batch);
            }
            let shared = log.append(S, shared).await.expect("append shared");
            // A producer unsure whether its first append landed sends it again.
            let first = first.expect("first batch");
            let again = log.append(S, first.clone()).await.expect("retry");
            assert_eq!(again.duplicates(), first.len(), "a retry stores nothing");
            assert_eq!(
                again.entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
                offsets[..first.len()].to_vec(),
                "a retry reports where the first copy is"
            );
            (sent, offsets, shared)
        }));
    }
    let mut by_id: HashMap<String, u64> = HashMap::new();
    let mut shared_offsets = Vec::new();
    let mut per_appender = Vec::new();
    for task in tasks {
        let (sent, offsets, shared) = task.await.expect("task");
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "one appender's events are stored in the order it sent them"
        );
        for (id, offset) in sent.iter().zip(&offsets) {
            assert!(
                by_id.insert(id.clone(), *offset).is_none(),
                "ids are unique"
            );
        }
        shared_offsets.push((shared.entries[0].offset, shared.entries[0].duplicate));
        per_appender.push(sent);
    }
    assert_eq!(
        shared_offsets.iter().filter(|(_, dup)| !dup).count(),
        1,
        "the shared event is stored by exactly one appender"
    );
    let shared_offset = shared_offsets[0].0;
    assert!(shared_offsets.iter().all(|(o, _)| *o == shared_offset));

    let stored = read_all(log.as_ref(), S).await;
    let expected = by_id.len() + 1;
    assert_eq!(stored.len(), expected, "every event stored exactly once");
    assert_eq!(
        stored.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
        (1..=expected as u64).collect::<Vec<_>>(),
        "offsets are dense: no gaps, no reuse"
    );
    for (offset, id) in &stored {
        if *offset == shared_offset {
            assert_eq!(id, shared[0].event_id().as_str());
        } else {
            assert_eq!(by_id.get(id), Some(offset), "the receipt said where it is");
        }
    }
    // Read back in offset order, each appender's events appear in the order it sent them.
    let position: HashMap<&str, usize> = stored
        .iter()
        .enumerate()
        .map(|(i, (_, id))| (id.as_str(), i))
        .collect();
    for sent in &per_appender {
        let at: Vec<usize> = sent.iter().map(|id| position[id.as_str()]).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]));
    }
    assert_eq!(log.queued_writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_are_answered_only_after_their_batch_committed() {
    const APPENDERS: usize = 16;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    let side = hold_write_lock(&log);

    let mut tasks = Vec::new();
    let mut sent = Vec::new();
    for _ in 0..APPENDERS {
        let batch = publications(2);
        sent.extend(ids(&batch));
        let log = Arc::clone(&log);
        tasks.push(send(async move { log.append(S, batch).await }).await);
    }
    let commit = {
        let log = Arc::clone(&log);
        send(async move { log.commit(S, "lake-writer", 0).await }).await
    };
    // The writer holds the first request and waits for the lock; the rest wait behind it.
    until_queued(&log, APPENDERS).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tasks.iter().all(|t| !t.is_finished()) && !commit.is_finished(),
        "no append is answered while its transaction cannot commit"
    );
    assert!(
        read_all(log.as_ref(), S).await.is_empty(),
        "nothing is visible before the commit"
    );

    side.execute_batch("COMMIT").expect("release the lock");
    for task in tasks {
        task.await.expect("task").expect("append");
    }
    assert_eq!(commit.await.expect("task").expect("commit"), 0);

    // Answered means committed: an independent handle sees everything at once, and so does a
    // reopened log once every handle is gone.
    let other = open(dir.path());
    let seen: Vec<String> = read_all(&other, S)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(seen.len(), sent.len());
    drop(other);
    drop(log);
    let reopened = open(dir.path());
    let mut stored: Vec<String> = read_all(&reopened, S)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    stored.sort();
    sent.sort();
    assert_eq!(stored, sent, "every acknowledged event survives reopening");
}

/// Also shows that answers wait for the whole transaction: the appends applied before the
/// poisoned one were inserted without error, yet their callers hear of the failure, not success.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_batch_fails_every_appender_in_it_and_stores_nothing() {
    const APPENDERS: usize = 8;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    let batches: Vec<Vec<Event>> = (0..APPENDERS).map(|_| publications(3)).collect();
    // The fifth appender's second event cannot be stored (an injected storage failure).
    let poison = batches[4][1].event_id().as_str().to_owned();
    let side = hold_write_lock(&log);
    side.execute_batch(&format!(
        "CREATE TRIGGER poison BEFORE INSERT ON publication_events
         WHEN NEW.event_id = '{poison}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
    ))
    .expect("create trigger");

    let mut tasks = Vec::new();
    for batch in &batches {
        let log = Arc::clone(&log);
        let batch = batch.clone();
        // In order, so the poisoned append sits in the middle of the batch.
        tasks.push(send(async move { log.append(S, batch).await }).await);
    }
    // The writer took the first and waits for the lock; the other seven join its batch.
    until_queued(&log, APPENDERS - 1).await;
    side.execute_batch("COMMIT").expect("release the lock");
    for task in tasks {
        match task.await.expect("task") {
            Err(LogError::Storage(e)) => {
                assert!(e.to_string().contains("injected failure"), "{e}");
            }
            other => panic!("every appender of the failed batch hears of it: {other:?}"),
        }
    }
    assert_eq!(
        log.stats(S).await.expect("stats").head_offset,
        0,
        "nothing of the failed batch is stored"
    );

    // Once the cause is gone, the same appends succeed with dense offsets from 1.
    side.execute_batch("DROP TRIGGER poison")
        .expect("drop trigger");
    let mut next = 1;
    for batch in &batches {
        let receipt = log.append(S, batch.clone()).await.expect("append");
        assert_eq!(receipt.appended(), 3);
        let offsets: Vec<u64> = receipt.entries.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![next, next + 1, next + 2]);
        next += 3;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_commit_does_not_fail_its_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(open(dir.path()));
    let side = hold_write_lock(&log);
    let append = {
        let log = Arc::clone(&log);
        send(async move { log.append(S, publications(2)).await }).await
    };
    let beyond = {
        let log = Arc::clone(&log);
        send(async move { log.commit(S, "c", 5).await }).await
    };
    let fine = {
        let log = Arc::clone(&log);
        send(async move { log.commit(S, "d", 2).await }).await
    };
    until_queued(&log, 2).await;
    side.execute_batch("COMMIT").expect("release the lock");
    assert_eq!(append.await.expect("task").expect("append").head_offset, 2);
    assert!(matches!(
        beyond.await.expect("task"),
        Err(LogError::OffsetBeyondHead {
            offset: 5,
            head: 2,
            ..
        })
    ));
    assert_eq!(fine.await.expect("task").expect("commit"), 2);
}

/// One-event appends, as placed orders make them, from one appender (each append commits and
/// fsyncs alone: what every append cost before group commit) and from 32 concurrent ones (they
/// share commits). Prints the rates for both fsync policies; asserts only correctness, never
/// timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_small_append_throughput() {
    const TOTAL: usize = 1_600;
    for fsync in [FsyncPolicy::Always, FsyncPolicy::Normal] {
        for appenders in [1, 32] {
            let dir = tempfile::tempdir().expect("tempdir");
            let log = Arc::new(
                SqliteLog::open(
                    dir.path(),
                    SqliteOptions {
                        fsync,
                        ..SqliteOptions::default()
                    },
                )
                .expect("open"),
            );
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..appenders {
                let log = Arc::clone(&log);
                tasks.push(tokio::spawn(async move {
                    for _ in 0..TOTAL / appenders {
                        log.append(S, publications(1)).await.expect("append");
                    }
                }));
            }
            for task in tasks {
                task.await.expect("task");
            }
            let elapsed = started.elapsed().as_secs_f64();
            assert_eq!(log.stats(S).await.expect("stats").head_offset, TOTAL as u64);
            println!(
                "{appenders} appender(s) ({fsync:?}): {TOTAL} one-event appends in {elapsed:.3} s = {:.0} appends/s",
                TOTAL as f64 / elapsed
            );
        }
    }
}
