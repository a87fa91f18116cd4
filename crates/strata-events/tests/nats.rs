//! What is particular to the NATS JetStream backend (the shared contract is in `log.rs`): errors
//! that teach, the documented layout on the server, the duplicate window's limit, readers removed
//! by the server. Real NATS at `STRATA_TEST_NATS_URL` (default `nats://127.0.0.1:4222`); these
//! tests fail, never skip, when it is unreachable.

mod common;

use std::{future::Future, panic::AssertUnwindSafe, time::Duration};

use common::{commerce, publication};
use futures_util::{FutureExt, TryStreamExt};
use strata_events::{Event, EventLog, LogError, NatsLog, NatsOptions, StreamName};

fn nats_url() -> String {
    std::env::var("STRATA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

fn isolated() -> NatsOptions {
    let tag = ulid::Ulid::new().to_string();
    NatsOptions {
        stream_prefix: format!("T{tag}_"),
        subject_prefix: format!("test.{tag}.telemetry"),
        ..NatsOptions::new(nats_url())
    }
}

/// Runs `test` with isolated options, then deletes its streams and bucket, even if it panicked.
async fn with_nats<F: Future<Output = ()>>(
    options: NatsOptions,
    test: impl FnOnce(NatsOptions) -> F,
) {
    let outcome = AssertUnwindSafe(test(options.clone())).catch_unwind().await;
    match NatsLog::open(options).await {
        Ok(log) => {
            if let Err(e) = log.delete_streams_and_offsets().await {
                eprintln!("could not delete the test's streams: {e}");
            }
        }
        Err(e) => eprintln!("could not reopen the log to clean up: {e}"),
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn open(options: &NatsOptions) -> NatsLog {
    NatsLog::open(options.clone())
        .await
        .unwrap_or_else(|e| panic!("open the NATS log (is nats-server running with -js?): {e}"))
}

async fn jetstream() -> async_nats::jetstream::Context {
    let client = async_nats::connect(nats_url())
        .await
        .expect("connect to NATS");
    async_nats::jetstream::new(client)
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_that_says_what_to_start() {
    // Nothing listens on port 1.
    let err = NatsLog::open(NatsOptions::new("nats://127.0.0.1:1"))
        .await
        .expect_err("no server there");
    let text = err.to_string();
    assert!(
        matches!(err, LogError::Nats { op: "connect", .. }),
        "{err:?}"
    );
    assert!(text.contains("nats://127.0.0.1:1"), "{text}");
    assert!(
        text.contains("nats-server") && text.contains("-js"),
        "{text}"
    );
}

#[tokio::test]
async fn settings_the_server_would_refuse_are_refused_before_connecting() {
    let cases = [
        NatsOptions {
            stream_prefix: "has.dot".to_owned(),
            ..NatsOptions::new("nats://127.0.0.1:1")
        },
        NatsOptions {
            subject_prefix: "strata.*".to_owned(),
            ..NatsOptions::new("nats://127.0.0.1:1")
        },
        NatsOptions {
            subject_prefix: "strata..telemetry".to_owned(),
            ..NatsOptions::new("nats://127.0.0.1:1")
        },
        NatsOptions {
            replicas: 0,
            ..NatsOptions::new("nats://127.0.0.1:1")
        },
        NatsOptions {
            max_age: Some(Duration::from_secs(60)),
            ..NatsOptions::new("nats://127.0.0.1:1")
        },
    ];
    for options in cases {
        match NatsLog::open(options.clone()).await {
            Err(LogError::Nats {
                op: "configure", ..
            }) => {}
            other => panic!("{options:?} must be refused as a setting: {other:?}"),
        }
    }
}

/// The names and settings the module docs and README promise, as `nats` (the CLI) would see them.
#[tokio::test]
async fn streams_messages_and_offsets_are_laid_out_as_documented() {
    with_nats(isolated(), |options| async move {
        let log = open(&options).await;
        let event = Event::from(commerce("order_created"));
        log.append(StreamName::Commerce, vec![event.clone()])
            .await
            .expect("append");
        log.commit(StreamName::Commerce, "lake.cursor", 1)
            .await
            .expect("commit");

        let js = jetstream().await;
        let name = format!("{}COMMERCE_TELEMETRY", options.stream_prefix);
        let mut stream = js.get_stream(&name).await.expect("the commerce stream");
        let info = stream.info().await.expect("info").clone();
        assert_eq!(
            info.config.subjects,
            vec![format!("{}.commerce", options.subject_prefix)]
        );
        assert_eq!(
            info.config.storage,
            async_nats::jetstream::stream::StorageType::File
        );
        assert_eq!(info.config.duplicate_window, Duration::from_secs(3600));
        assert_eq!(info.state.last_sequence, 1);

        let stored = stream.direct_get(1).await.expect("message 1");
        assert_eq!(
            stored
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.as_str().to_owned()),
            Some(event.event_id().as_str().to_owned())
        );
        assert_eq!(
            stored.payload.as_ref(),
            event.to_json().expect("json").as_bytes(),
            "the same JSON the embedded log stores"
        );

        let kv = js
            .get_key_value(format!("{}STRATA_OFFSETS", options.stream_prefix))
            .await
            .expect("the offsets bucket");
        let value = kv.get("commerce.lake.cursor").await.expect("get");
        assert_eq!(value.as_deref(), Some(b"1".as_slice()));

        // Opening again with other mutable settings updates the streams in place.
        drop(log);
        let wider = NatsOptions {
            duplicate_window: Duration::from_secs(7200),
            ..options.clone()
        };
        let log = open(&wider).await;
        let info = stream.info().await.expect("info");
        assert_eq!(info.config.duplicate_window, Duration::from_secs(7200));
        assert_eq!(info.state.last_sequence, 1, "no event lost by the update");
        let stats = log.stats(StreamName::Commerce).await.expect("stats");
        assert_eq!(stats.consumers[0].name, "lake.cursor");
    })
    .await;
}

/// The documented limit: past the duplicate window, JetStream stores a retried event again.
#[tokio::test]
async fn deduplication_holds_within_the_window_and_not_beyond() {
    let options = NatsOptions {
        duplicate_window: Duration::from_secs(1),
        ..isolated()
    };
    with_nats(options, |options| async move {
        let log = open(&options).await;
        let event = Event::from(publication("click"));
        let first = log
            .append(StreamName::Publication, vec![event.clone()])
            .await
            .expect("append");
        assert_eq!(first.entries[0].offset, 1);
        let retry = log
            .append(StreamName::Publication, vec![event.clone()])
            .await
            .expect("append");
        assert!(retry.entries[0].duplicate, "within the window");
        // The server forgets ids once the window has passed (it sweeps them periodically).
        let mut stored_again = None;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let late = log
                .append(StreamName::Publication, vec![event.clone()])
                .await
                .expect("append");
            if !late.entries[0].duplicate {
                stored_again = Some(late.entries[0].offset);
                break;
            }
        }
        assert_eq!(
            stored_again,
            Some(2),
            "beyond the window the same event_id is stored a second time"
        );
    })
    .await;
}

/// A reader (ephemeral consumer) the server removed, e.g. after a restart or idling, is
/// recreated and the read answers as if nothing happened.
#[tokio::test]
async fn a_reader_removed_by_the_server_is_recreated() {
    with_nats(isolated(), |options| async move {
        let log = open(&options).await;
        let s = StreamName::Publication;
        let events: Vec<Event> = (0..5).map(|_| Event::from(publication("view"))).collect();
        log.append(s, events).await.expect("append");
        let first = log.read(s, "c", 2).await.expect("read");
        log.commit(s, "c", 2).await.expect("commit");

        let js = jetstream().await;
        let stream = js
            .get_stream(format!("{}PUBLICATION_TELEMETRY", options.stream_prefix))
            .await
            .expect("stream");
        let names: Vec<String> = stream
            .consumer_names()
            .try_collect()
            .await
            .expect("consumer names");
        assert!(!names.is_empty(), "the read left a reader on the server");
        for name in names {
            stream.delete_consumer(&name).await.expect("delete reader");
        }

        let next = log
            .read(s, "c", 10)
            .await
            .expect("read after the reader vanished");
        assert_eq!(
            next.iter().map(|d| d.offset).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(first.len(), 2);
    })
    .await;
}
