//! The NATS JetStream store against a real server (`STRATA_TEST_NATS_URL`, default
//! `nats://127.0.0.1:4222`; in this repository `scripts/services nats` starts one). Without a
//! server these tests fail, never skip.
//!
//! Each test works in buckets of its own (`T<ulid>_*`), removed when it ends. The engine's
//! semantics are checked as in `engine.rs` (manual clock, the real event log as the audit sink),
//! then the store's contracts directly, then what only a shared store does: two processes taking
//! over and pausing each other's instances, with the system clock and short leases.

mod common;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use common::{Harness, Script};
use serde_json::{Value, json};
use strata_workflow::{
    Backoff, Context, CreateInstance, CronSchedule, Engine, EngineError, EngineOptions,
    EventLogSink, Instance, InstanceId, InstanceStatus, ListFilter, RetryPolicy, RunError,
    StepConfig, StepError, StepRecord, StepState, Workflow, WorkflowOptions,
    store::{AuditRecord, Created, NatsStore, NatsStoreOptions, Store},
};
use tokio_util::sync::CancellationToken;

fn nats_url() -> String {
    std::env::var("STRATA_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A test's own buckets, deleted when it ends (passed or failed).
struct Buckets {
    options: NatsStoreOptions,
}

impl Buckets {
    fn new() -> Self {
        Self {
            options: NatsStoreOptions {
                prefix: format!("T{}", ulid::Ulid::new()),
                request_timeout: Duration::from_secs(5),
                ..NatsStoreOptions::new(nats_url())
            },
        }
    }

    /// A store on the buckets: another process's view when opened again.
    async fn open(&self) -> NatsStore {
        NatsStore::open(self.options.clone())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need nats-server with JetStream at {} (STRATA_TEST_NATS_URL; \
                     `scripts/services nats` starts one): {e}",
                    self.options.url
                )
            })
    }

    /// A handle on one bucket, to read or plant records as another writer would.
    async fn raw(&self, kind: &str) -> async_nats::jetstream::kv::Store {
        let client = async_nats::connect(&self.options.url).await.unwrap();
        async_nats::jetstream::new(client)
            .get_key_value(self.options.bucket(kind))
            .await
            .unwrap()
    }
}

impl Drop for Buckets {
    fn drop(&mut self) {
        // A fresh connection on a thread of its own: the test's runtime may be gone or panicking.
        let options = self.options.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(client) = async_nats::connect(&options.url).await else {
                    return;
                };
                let js = async_nats::jetstream::new(client);
                for kind in ["INSTANCES", "STEPS", "EVENTS", "VALUES", "AUDIT"] {
                    let _ = js
                        .delete_stream(format!("KV_{}", options.bucket(kind)))
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// An engine on `store` with the harness's manual clock and event log.
fn engine_on(h: &Harness, store: NatsStore, register: impl FnOnce(Engine) -> Engine) -> Engine {
    let engine = Engine::with_clock(
        Arc::new(store),
        Arc::new(EventLogSink(Arc::new(h.log.clone()))),
        Harness::options(),
        Arc::new(h.clock.clone()),
    );
    register(engine)
}

/// An engine with the system clock, short leases, and its own owner name: one "process".
fn process(h: &Harness, store: NatsStore, owner: &str, lease_ttl: Duration) -> Engine {
    Engine::new(
        Arc::new(store),
        Arc::new(EventLogSink(Arc::new(h.log.clone()))),
        EngineOptions {
            owner: owner.to_owned(),
            lease_ttl,
            poll_interval: Duration::from_millis(50),
            ..EngineOptions::default()
        },
    )
}

/// [`Harness::until`] after an advance of the manual clock, nudging it by a poll interval per
/// look. The scheduler computes its next tick from the clock *after* a tick's work, so an advance
/// landing during a tick (wider on NATS than on SQLite: each store call is a round trip) leaves it
/// asleep until the clock moves again.
async fn until_nudging(
    h: &Harness,
    engine: &Engine,
    id: &InstanceId,
    pred: impl Fn(&Instance) -> bool,
) -> Instance {
    let mut last = None;
    for _ in 0..500 {
        let i = engine.get(id).await.unwrap();
        if pred(&i) {
            return i;
        }
        last = Some(i);
        h.clock.advance(chrono::Duration::milliseconds(50));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached; last seen: {last:#?}");
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 5, 0, 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// Runs step `a`, sleeps an hour durably, runs step `b`; counts every execution of each step.
struct SleepyWorkflow {
    runs: Arc<Mutex<BTreeMap<String, u32>>>,
}

#[async_trait]
impl Workflow for SleepyWorkflow {
    fn name(&self) -> &str {
        "sleepy"
    }

    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
        let bump = |name: &str| {
            *self
                .runs
                .lock()
                .unwrap()
                .entry(name.to_owned())
                .or_default() += 1;
        };
        let a: i64 = ctx
            .step("a", StepConfig::default(), |_| {
                bump("a");
                let n = params["n"].as_i64().unwrap_or(0);
                async move { Ok(n * 2) }
            })
            .await?;
        ctx.sleep("nap", Duration::from_secs(3600)).await?;
        let b: i64 = ctx
            .step("b", StepConfig::default(), |_| {
                bump("b");
                async move { Ok(a + 1) }
            })
            .await?;
        Ok(json!({ "a": a, "b": b }))
    }
}

#[tokio::test]
async fn replay_skips_completed_steps_across_a_restart_and_create_is_idempotent() {
    let buckets = Buckets::new();
    let runs = Arc::new(Mutex::new(BTreeMap::new()));
    let h = Harness::new(t0());
    let engine = engine_on(&h, buckets.open().await, |e| {
        e.register(SleepyWorkflow { runs: runs.clone() })
    });
    let running = h.start(&engine);
    let id = InstanceId::parse("nap-1").unwrap();
    let (instance, created) = engine
        .create(CreateInstance {
            workflow: "sleepy".into(),
            id: Some(id.clone()),
            params: json!({ "n": 20 }),
            trigger: "manual".into(),
        })
        .await
        .unwrap();
    assert!(created);
    assert!(instance.version > 0);
    let waiting = h
        .until(&engine, &id, |i| i.status == InstanceStatus::Waiting)
        .await;
    assert_eq!(waiting.wake_at, Some(t0() + chrono::Duration::hours(1)));
    running.stop().await;
    drop(engine);

    // Another process on the same buckets: the sleep's end is stored, `a` does not run again.
    let engine = engine_on(&h, buckets.open().await, |e| {
        e.register(SleepyWorkflow { runs: runs.clone() })
    });
    let running = h.start(&engine);
    h.clock.advance(chrono::Duration::minutes(59));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        engine.get(&id).await.unwrap().status,
        InstanceStatus::Waiting
    );
    h.clock.advance(chrono::Duration::minutes(1));
    let done = until_nudging(&h, &engine, &id, |i| i.status.is_finished()).await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Complete, "{:?}", done.error);
    assert_eq!(done.output, Some(json!({ "a": 40, "b": 41 })));
    assert_eq!(
        *runs.lock().unwrap(),
        BTreeMap::from([("a".into(), 1), ("b".into(), 1)])
    );
    let steps: Vec<String> = engine
        .steps(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(steps, ["a", "nap", "b"]);

    let (again, created) = engine
        .create(CreateInstance {
            workflow: "sleepy".into(),
            id: Some(id.clone()),
            params: json!({ "n": 1 }),
            trigger: "manual".into(),
        })
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.status, InstanceStatus::Complete);
    assert_eq!(again.params, json!({ "n": 20 }));

    assert_eq!(
        h.audit_types("nap-1").await,
        [
            "started",
            "step_completed:a",
            "step_completed:b",
            "completed"
        ]
    );
}

#[tokio::test]
async fn retries_are_recorded_and_follow_the_backoff() {
    let buckets = Buckets::new();
    let h = Harness::new(t0());
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let config = StepConfig::default().with_retries(RetryPolicy {
        limit: 5,
        delay: Duration::from_secs(10),
        backoff: Backoff::Exponential,
    });
    let script = Script::new(
        "flaky",
        move |ctx: &Context, attempts: Arc<Mutex<Vec<DateTime<Utc>>>>| {
            Box::pin(async move {
                let v: u32 = ctx
                    .step("call", config, |a| {
                        attempts.lock().unwrap().push(ctx.now());
                        async move {
                            if a.number < 4 {
                                Err(StepError::retryable(format!("503 on attempt {}", a.number)))
                            } else {
                                Ok(a.number)
                            }
                        }
                    })
                    .await?;
                Ok(json!(v))
            })
        },
        attempts.clone(),
    );
    let engine = engine_on(&h, buckets.open().await, |e| e.register(script));
    let running = h.start(&engine);
    let id = h.create(&engine, "flaky").await;
    let done = h.drive(&engine, &id, secs(1), 200).await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Complete, "{:?}", done.error);
    assert_eq!(done.output, Some(json!(4)));
    let times = attempts.lock().unwrap().clone();
    let expected = [0, 10, 30, 70];
    assert_eq!(times.len(), expected.len(), "{times:?}");
    for (t, e) in times.iter().zip(expected) {
        let offset = (*t - t0()).num_seconds();
        assert!(
            (e..e + 2).contains(&offset),
            "attempt at +{offset}s, expected +{e}s: {times:?}"
        );
    }
    let steps = engine.steps(&id).await.unwrap();
    assert!(
        matches!(
            steps[..],
            [StepRecord {
                state: StepState::Done { attempts: 4, .. },
                ..
            }]
        ),
        "{steps:?}"
    );
    assert_eq!(
        h.audit_types(id.as_str()).await,
        [
            "started",
            "retried:call",
            "retried:call",
            "retried:call",
            "step_completed:call",
            "completed"
        ]
    );
}

/// Waits for `approval` (1 h), and on a timeout waits again under another name.
fn approval_script() -> Script<()> {
    Script::new(
        "approval",
        |ctx: &Context, _: ()| {
            Box::pin(async move {
                match ctx
                    .wait_for_event("first", "approval", Duration::from_secs(3600))
                    .await
                {
                    Ok(e) => Ok(json!({ "first": e.payload })),
                    Err(RunError::WaitTimedOut { .. }) => {
                        let e = ctx
                            .wait_for_event("second", "approval", Duration::from_secs(3600))
                            .await?;
                        Ok(json!({ "second": e.payload }))
                    }
                    Err(e) => Err(e),
                }
            })
        },
        (),
    )
}

#[tokio::test]
async fn wait_for_event_takes_early_and_late_events_and_no_stale_waiter_takes_one() {
    let buckets = Buckets::new();
    let h = Harness::new(t0());
    let engine = engine_on(&h, buckets.open().await, |e| e.register(approval_script()));
    let running = h.start(&engine);

    // Sent before the wait begins: kept and consumed.
    let early = InstanceId::parse("early").unwrap();
    engine
        .create(CreateInstance {
            workflow: "approval".into(),
            id: Some(early.clone()),
            params: Value::Null,
            trigger: "t".into(),
        })
        .await
        .unwrap();
    engine
        .send_event(&early, "approval", json!("yes"))
        .await
        .unwrap();
    let done = h.until(&engine, &early, |i| i.status.is_finished()).await;
    assert_eq!(done.output, Some(json!({ "first": "yes" })));

    // A waiting instance is woken by its event, not by another type.
    let late = h.create(&engine, "approval").await;
    h.until(&engine, &late, |i| i.status == InstanceStatus::Waiting)
        .await;
    engine
        .send_event(&late, "other-type", json!(1))
        .await
        .unwrap();
    engine
        .send_event(&late, "approval", json!({ "by": "ops" }))
        .await
        .unwrap();
    let done = h.until(&engine, &late, |i| i.status.is_finished()).await;
    assert_eq!(done.output, Some(json!({ "first": { "by": "ops" } })));
    let inbox: Vec<(u64, String)> = engine
        .events(&late)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.event_type))
        .collect();
    assert_eq!(
        inbox,
        [(1, "other-type".to_owned()), (2, "approval".to_owned())]
    );

    // After the first wait times out, a late event goes to the second waiter, never the stale one.
    let stale = h.create(&engine, "approval").await;
    h.until(&engine, &stale, |i| i.status == InstanceStatus::Waiting)
        .await;
    h.clock.advance(chrono::Duration::minutes(61));
    let waiting = until_nudging(&h, &engine, &stale, |i| {
        i.status == InstanceStatus::Waiting
            && i.wake_at > Some(t0() + chrono::Duration::minutes(61))
    })
    .await;
    assert_eq!(waiting.waiting_for.as_deref(), Some("approval"));
    engine
        .send_event(&stale, "approval", json!("late"))
        .await
        .unwrap();
    let done = h.until(&engine, &stale, |i| i.status.is_finished()).await;
    assert_eq!(done.output, Some(json!({ "second": "late" })));
    let steps = engine.steps(&stale).await.unwrap();
    assert!(
        matches!(
            (&steps[0].state, &steps[1].state),
            (StepState::TimedOut { .. }, StepState::Done { .. })
        ),
        "{steps:?}"
    );
    running.stop().await;
}

#[tokio::test]
async fn named_values_compare_and_set_and_cron_fires_once() {
    let buckets = Buckets::new();
    let h = Harness::new(Utc.with_ymd_and_hms(2026, 11, 29, 5, 59, 0).unwrap());
    struct Daily;
    #[async_trait]
    impl Workflow for Daily {
        fn name(&self) -> &str {
            "daily"
        }
        fn options(&self) -> WorkflowOptions {
            WorkflowOptions {
                concurrency: Some(1),
                cron: Some(CronSchedule::parse("0 6 * * *").unwrap()),
            }
        }
        async fn run(&self, _: &Context, params: Value) -> Result<Value, RunError> {
            Ok(params)
        }
    }
    let engine = engine_on(&h, buckets.open().await, |e| e.register(Daily));

    // Revisions are KV revisions: compared for equality only, never counted.
    let values = engine.values();
    let key = "watermark/shopify/orders";
    assert!(values.get(key).await.unwrap().is_none());
    let v1 = values.put(key, json!("2026-11-01"), Some(0)).await.unwrap();
    let conflict = values.put(key, json!("x"), Some(0)).await.unwrap_err();
    assert!(
        matches!(conflict, EngineError::ValueConflict { found: Some(f), .. } if f == v1.revision),
        "{conflict}"
    );
    let v2 = values
        .put(key, json!("2026-11-02"), Some(v1.revision))
        .await
        .unwrap();
    assert_ne!(v2.revision, v1.revision);
    let stale = values
        .put(key, json!("x"), Some(v1.revision))
        .await
        .unwrap_err();
    assert!(
        matches!(stale, EngineError::ValueConflict { found: Some(f), .. } if f == v2.revision),
        "{stale}"
    );
    let read = values.get(key).await.unwrap().unwrap();
    assert_eq!(
        (read.value, read.revision),
        (json!("2026-11-02"), v2.revision)
    );
    let v3 = values.put(key, json!("any"), None).await.unwrap();
    assert_ne!(v3.revision, v2.revision);
    let absent = values
        .put("cursor/none", json!(1), Some(v3.revision))
        .await
        .unwrap_err();
    assert!(
        matches!(absent, EngineError::ValueConflict { found: None, .. }),
        "{absent}"
    );

    // Cron triggers fire once per scheduled time through those compare-and-sets.
    let running = h.start(&engine);
    tokio::time::sleep(Duration::from_millis(150)).await;
    for _ in 0..10 {
        h.clock.advance(secs(15));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let id = InstanceId::parse("daily-cron-20261129T060000Z").unwrap();
    let done = h.until(&engine, &id, |i| i.status.is_finished()).await;
    assert_eq!(
        done.output,
        Some(json!({ "scheduled_time": "2026-11-29T06:00:00Z" }))
    );
    running.stop().await;
    assert_eq!(engine.list(&ListFilter::default()).await.unwrap().len(), 1);
}

/// An instance as the engine would store it (built from JSON: `Lease` is not exported).
fn instance(
    id: &str,
    workflow: &str,
    status: &str,
    created: DateTime<Utc>,
    extra: Value,
) -> Instance {
    let mut doc = json!({
        "id": id, "workflow": workflow, "status": status, "params": { "p": id },
        "output": null, "error": null, "generation": 0, "trigger": "test",
        "created_at": created, "updated_at": created, "started_at": null, "finished_at": null,
        "wake_at": null, "waiting_for": null, "lease": null, "version": 0,
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    serde_json::from_value(doc).unwrap()
}

fn audit(tag: &str) -> AuditRecord {
    AuditRecord {
        event_id: format!("evt_{}", ulid::Ulid::new()),
        json: format!("{{\"tag\":\"{tag}\"}}"),
    }
}

fn ids(instances: &[Instance]) -> Vec<&str> {
    instances.iter().map(|i| i.id.as_str()).collect()
}

#[tokio::test]
async fn store_instances_versions_scheduling_listing_leases_and_the_outbox() {
    let buckets = Buckets::new();
    let store = buckets.open().await;
    let lease =
        |owner: &str, until: DateTime<Utc>| json!({ "lease": { "owner": owner, "until": until } });
    let plan = [
        instance("i1", "w", "queued", t0() + secs(1), json!({})),
        instance(
            "i2",
            "w",
            "waiting",
            t0() + secs(2),
            json!({ "wake_at": t0() + secs(3600) }),
        ),
        instance(
            "i3",
            "w",
            "running",
            t0() + secs(3),
            lease("p1", t0() + secs(10)),
        ),
        instance("i4", "w", "complete", t0() + secs(4), json!({})),
        instance("i5", "other", "queued", t0() + secs(5), json!({})),
    ];
    let r1 = audit("created i1");
    let mut versions = BTreeMap::new();
    for (n, i) in plan.iter().enumerate() {
        let records = if n == 0 { vec![r1.clone()] } else { Vec::new() };
        match store.create(i.clone(), records).await.unwrap() {
            Created::New(created) => versions.insert(created.id.to_string(), created.version),
            Created::Existing(e) => panic!("{e:?} existed"),
        };
    }
    // Creating an existing id returns it unchanged, and its audit records are not kept.
    let r2 = audit("not created");
    let again = instance("i1", "w", "paused", t0(), json!({}));
    match store.create(again, vec![r2]).await.unwrap() {
        Created::Existing(e) => {
            assert_eq!(
                (e.status, e.version),
                (InstanceStatus::Queued, versions["i1"])
            )
        }
        Created::New(n) => panic!("created twice: {n:?}"),
    }
    let i1 = store
        .get(&InstanceId::parse("i1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(i1.params, json!({ "p": "i1" }));
    assert_eq!(i1.version, versions["i1"]);

    // Scheduling, from this process and from a fresh one (its cache filled by the watch).
    let other = buckets.open().await;
    for s in [&store, &other] {
        assert_eq!(ids(&s.due(t0(), 10).await.unwrap()), ["i1", "i5"]);
        assert_eq!(
            ids(&s.due(t0() + secs(7200), 10).await.unwrap()),
            ["i1", "i2", "i3", "i5"]
        );
        assert_eq!(
            ids(&s.due(t0() + secs(7200), 2).await.unwrap()),
            ["i1", "i2"]
        );
        assert_eq!(s.count_leased("w", t0()).await.unwrap(), 1);
        assert_eq!(s.count_leased("w", t0() + secs(10)).await.unwrap(), 0);
        assert_eq!(s.count_leased("other", t0()).await.unwrap(), 0);
    }

    // Listing: newest first, filtered.
    let list = |filter: ListFilter| {
        let store = store.clone();
        async move { ids(&store.list(&filter).await.unwrap()).join(",") }
    };
    assert_eq!(list(ListFilter::default()).await, "i5,i4,i3,i2,i1");
    let w = ListFilter {
        workflow: Some("w".into()),
        ..ListFilter::default()
    };
    assert_eq!(list(w).await, "i4,i3,i2,i1");
    let queued = ListFilter {
        statuses: vec![InstanceStatus::Queued, InstanceStatus::Complete],
        ..ListFilter::default()
    };
    assert_eq!(list(queued).await, "i5,i4,i1");
    let recent = ListFilter {
        created_after: Some(t0() + secs(3)),
        limit: 2,
        ..ListFilter::default()
    };
    assert_eq!(list(recent).await, "i5,i4");

    // Compare-and-set: a stale version loses (and its audit record goes), the winner's version
    // changes.
    let mut stale = i1.clone();
    let mut fresh = i1.clone();
    fresh.status = InstanceStatus::Paused;
    let r3 = audit("paused i1");
    let updated = store
        .update(fresh, vec![r3.clone()])
        .await
        .unwrap()
        .unwrap();
    assert_ne!(updated.version, i1.version);
    stale.status = InstanceStatus::Terminated;
    assert!(
        store
            .update(stale, vec![audit("lost")])
            .await
            .unwrap()
            .is_none()
    );
    // The other process schedules by the change (through its watch) and reads it fresh.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ids(&other.due(t0(), 10).await.unwrap()) != ["i5"] {
        assert!(Instant::now() < deadline, "the watch never caught up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = other.get(&updated.id).await.unwrap().unwrap();
    assert_eq!(
        (seen.status, seen.version),
        (updated.status, updated.version)
    );

    // Leases: the holder renews (a new version), anyone else has lost it.
    let i3 = InstanceId::parse("i3").unwrap();
    let i5 = InstanceId::parse("i5").unwrap();
    let before = store.get(&i3).await.unwrap().unwrap().version;
    let lost = store
        .renew("p1", &[i3.clone(), i5.clone()], t0() + secs(20))
        .await
        .unwrap();
    assert_eq!(lost, std::slice::from_ref(&i5));
    let renewed = store.get(&i3).await.unwrap().unwrap();
    assert_ne!(renewed.version, before);
    assert!(renewed.leased_at(t0() + secs(19)) && !renewed.leased_at(t0() + secs(20)));
    assert_eq!(
        store
            .renew("p2", std::slice::from_ref(&i3), t0())
            .await
            .unwrap(),
        [i3]
    );

    // The outbox holds exactly the records of changes that landed, oldest first.
    let r4 = audit("step");
    let step = StepRecord {
        name: "s".into(),
        state: StepState::Sleeping { until: t0() },
        updated_at: t0(),
    };
    store
        .put_step(&i5, 0, step, vec![r4.clone()])
        .await
        .unwrap();
    let pending = store.audit_pending(10).await.unwrap();
    assert_eq!(pending, [r1.clone(), r3.clone(), r4.clone()]);
    assert_eq!(
        store.audit_pending(1).await.unwrap(),
        std::slice::from_ref(&r1)
    );
    store
        .audit_delivered(&[r1.event_id.clone(), r3.event_id.clone()])
        .await
        .unwrap();
    // Delivered elsewhere (the other process knows no sequences) and already gone: both fine.
    other
        .audit_delivered(&[r4.event_id.clone(), r1.event_id.clone()])
        .await
        .unwrap();
    assert_eq!(store.audit_pending(10).await.unwrap(), []);
    let r5 = audit("after");
    store
        .update(updated, vec![r5.clone()])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        other.audit_pending(10).await.unwrap(),
        std::slice::from_ref(&r5)
    );
    other
        .audit_delivered(std::slice::from_ref(&r5.event_id))
        .await
        .unwrap();

    // A change that loses its compare-and-set never shows its records, not even to an outbox
    // drained while it is in flight (here by another process, as fast as it can).
    let stop = Arc::new(AtomicBool::new(false));
    let drain = {
        let (other, stop) = (other.clone(), stop.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                seen.extend(other.audit_pending(100).await.unwrap());
            }
            seen
        })
    };
    let i1_id = InstanceId::parse("i1").unwrap();
    let stale = store.get(&i1_id).await.unwrap().unwrap();
    let mut ahead = stale.clone();
    ahead.updated_at = t0() + secs(1);
    store.update(ahead, Vec::new()).await.unwrap().unwrap();
    let mut losers = Vec::new();
    for n in 0..30 {
        let record = audit(&format!("loser {n}"));
        losers.push(record.clone());
        assert!(
            store
                .update(stale.clone(), vec![record])
                .await
                .unwrap()
                .is_none()
        );
    }
    stop.store(true, Ordering::SeqCst);
    let seen = drain.await.unwrap();
    assert!(
        !seen.iter().any(|r| losers.contains(r)),
        "records of changes that did not land were delivered: {seen:?}"
    );

    // Records staged by a writer that died mid-change wait out a grace period, then the instance
    // settles them: delivered if it moved past the revision the change expected, else removed.
    let raw = buckets.raw("AUDIT").await;
    let now_at = store.get(&i5).await.unwrap().unwrap().version;
    let plant = async |tag: &str, expected: u64, at: DateTime<Utc>| {
        let record = audit(tag);
        let doc = json!({
            "json": record.json,
            "staged": { "instance": "i5", "expected": expected, "at": at },
        });
        raw.put(&record.event_id, serde_json::to_vec(&doc).unwrap().into())
            .await
            .unwrap();
        record
    };
    let long_ago = Utc::now() - secs(3600);
    let landed = plant("landed", 1, long_ago).await;
    let lost = plant("lost", now_at, long_ago).await;
    let young = plant("young", 1, Utc::now()).await;
    assert_eq!(other.audit_pending(10).await.unwrap(), [landed]);
    assert!(raw.entry(&lost.event_id).await.unwrap().is_none());
    assert!(raw.entry(&young.event_id).await.unwrap().is_some());
}

/// The outcome of `consume_event` as text (`Consumed` is not exported).
async fn consume(
    store: &NatsStore,
    id: &InstanceId,
    step: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> String {
    let outcome = store
        .consume_event(id, 0, step, "go", now, deadline)
        .await
        .unwrap();
    let text = format!("{outcome:?}");
    match text.find("seq: ") {
        Some(at) => {
            let seq: String = text[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            format!("event {seq}")
        }
        None => text,
    }
}

async fn wait_step(store: &NatsStore, id: &InstanceId, name: &str, deadline: DateTime<Utc>) {
    let record = StepRecord {
        name: name.to_owned(),
        state: StepState::Waiting {
            event_type: "go".into(),
            deadline,
        },
        updated_at: t0(),
    };
    store.put_step(id, 0, record, Vec::new()).await.unwrap();
}

#[tokio::test]
async fn store_steps_events_and_waits_hold_under_races() {
    let buckets = Buckets::new();
    let store = buckets.open().await;
    let other = buckets.open().await;
    let id = InstanceId::parse("wfi_steps").unwrap();
    let put = |name: &str, state: StepState| {
        let store = store.clone();
        let id = id.clone();
        let record = StepRecord {
            name: name.to_owned(),
            state,
            updated_at: t0(),
        };
        async move { store.put_step(&id, 0, record, Vec::new()).await }
    };

    // First-write order survives rewrites; names of any length and alphabet; generations apart.
    let long = "page ".repeat(100);
    put("a", StepState::Sleeping { until: t0() }).await.unwrap();
    put(
        "b/ü.*",
        StepState::Retrying {
            attempt: 1,
            next_at: t0(),
            error: "503".into(),
        },
    )
    .await
    .unwrap();
    put(
        &long,
        StepState::Done {
            result: json!(3),
            attempts: 1,
        },
    )
    .await
    .unwrap();
    put(
        "a",
        StepState::Done {
            result: json!(1),
            attempts: 2,
        },
    )
    .await
    .unwrap();
    let names: Vec<String> = store
        .steps(&id, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["a", "b/ü.*", long.as_str()]);
    let a = store.step(&id, 0, "a").await.unwrap().unwrap();
    assert_eq!(
        a.state,
        StepState::Done {
            result: json!(1),
            attempts: 2
        }
    );
    assert!(store.step(&id, 0, &long).await.unwrap().is_some());
    assert!(store.step(&id, 0, "missing").await.unwrap().is_none());
    assert!(store.steps(&id, 1).await.unwrap().is_empty());

    // A record over the server's max_payload fails clearly, and leaves nothing behind.
    let big = "x".repeat(1024 * 1024);
    let err = put(
        "big",
        StepState::Done {
            result: json!(big),
            attempts: 1,
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("the record is 1048")
            && err.contains("at most 1048576 bytes (its max_payload)"),
        "{err}"
    );
    assert!(store.step(&id, 0, "big").await.unwrap().is_none());

    // Inbox: numbered from 1 in order; waits take the oldest unconsumed event of their type.
    let inbox = InstanceId::parse("wfi_inbox").unwrap();
    let later = t0() + secs(60);
    assert_eq!(consume(&store, &inbox, "w1", t0(), later).await, "Pending");
    for (n, kind) in [(1, "go"), (2, "other"), (3, "go")] {
        let event = other
            .insert_event(&inbox, kind, json!(n), t0())
            .await
            .unwrap();
        assert_eq!(event.seq, n);
    }
    wait_step(&store, &inbox, "w1", later).await;
    assert_eq!(consume(&store, &inbox, "w1", t0(), later).await, "event 1");
    assert_eq!(consume(&other, &inbox, "w1", later, later).await, "event 1");
    assert!(store.has_unconsumed(&inbox, "go").await.unwrap());
    assert_eq!(consume(&store, &inbox, "w2", t0(), later).await, "event 3");
    assert!(!store.has_unconsumed(&inbox, "go").await.unwrap());
    assert_eq!(consume(&store, &inbox, "w3", t0(), later).await, "Pending");
    assert_eq!(
        consume(&store, &inbox, "w3", later, later).await,
        "TimedOut"
    );
    other
        .insert_event(&inbox, "go", json!(4), t0())
        .await
        .unwrap();
    assert_eq!(
        consume(&store, &inbox, "w3", later, later).await,
        "TimedOut"
    );
    assert!(store.has_unconsumed(&inbox, "go").await.unwrap());
    let seqs: Vec<u64> = store
        .events(&inbox)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);

    // A crash between marking an event and recording the step: the next call finishes the job.
    let crashed = InstanceId::parse("wfi_crashed").unwrap();
    let events = buckets.raw("EVENTS").await;
    let marked = json!({
        "seq": 1, "event_type": "go", "payload": "kept", "received_at": t0(),
        "consumed_by": { "generation": 0, "step": "w" },
    });
    events
        .put("wfi_crashed.1", serde_json::to_vec(&marked).unwrap().into())
        .await
        .unwrap();
    wait_step(&store, &crashed, "w", later).await;
    assert_eq!(
        consume(&store, &crashed, "w", later, later).await,
        "event 1"
    );
    let w = store.step(&crashed, 0, "w").await.unwrap().unwrap();
    assert!(matches!(w.state, StepState::Done { .. }), "{w:?}");

    // Races between processes, round after round:
    // - an event arriving as a wait times out: either the wait got it or it stays unconsumed;
    // - two waits of one instance, one event: exactly one gets it;
    // - one wait run twice at once (a stale process): both get the same event.
    for round in 0..12 {
        let race = InstanceId::parse(&format!("race-{round}")).unwrap();
        wait_step(&store, &race, "w", later).await;
        let (sent, outcome) = tokio::join!(
            other.insert_event(&race, "go", json!(round), t0()),
            consume(&store, &race, "w", later, later),
        );
        sent.unwrap();
        let unconsumed = store.has_unconsumed(&race, "go").await.unwrap();
        let state = store.step(&race, 0, "w").await.unwrap().unwrap().state;
        match outcome.as_str() {
            "TimedOut" => assert!(
                unconsumed && matches!(state, StepState::TimedOut { .. }),
                "round {round}: {state:?}"
            ),
            "event 1" => assert!(
                !unconsumed && matches!(state, StepState::Done { .. }),
                "round {round}: {state:?}"
            ),
            other => panic!("round {round}: {other}"),
        }

        let pair = InstanceId::parse(&format!("pair-{round}")).unwrap();
        other
            .insert_event(&pair, "go", json!(round), t0())
            .await
            .unwrap();
        let (x, y) = tokio::join!(
            consume(&store, &pair, "x", t0(), later),
            consume(&other, &pair, "y", t0(), later),
        );
        let mut outcomes = [x, y];
        outcomes.sort();
        assert_eq!(outcomes, ["Pending", "event 1"], "round {round}");

        let twice = InstanceId::parse(&format!("twice-{round}")).unwrap();
        other
            .insert_event(&twice, "go", json!(round), t0())
            .await
            .unwrap();
        other
            .insert_event(&twice, "go", json!(round), t0())
            .await
            .unwrap();
        let (x, y) = tokio::join!(
            consume(&store, &twice, "w", t0(), later),
            consume(&other, &twice, "w", t0(), later),
        );
        assert_eq!(
            (x.as_str(), y.as_str()),
            ("event 1", "event 1"),
            "round {round}"
        );
        assert!(store.has_unconsumed(&twice, "go").await.unwrap());
    }
}

/// Step `a`, then step `slow`: on process `A` it never ends, elsewhere it returns at once. Every
/// execution is logged as `<process>:<step>`.
fn takeover_script(process: &'static str, log: Arc<Mutex<Vec<String>>>) -> Script<()> {
    Script::new(
        "takeover",
        move |ctx: &Context, ()| {
            let log = log.clone();
            Box::pin(async move {
                let note = |step: &str| log.lock().unwrap().push(format!("{process}:{step}"));
                let a: String = ctx
                    .step("a", StepConfig::default(), |_| {
                        note("a");
                        async move { Ok(process.to_owned()) }
                    })
                    .await?;
                let slow: String = ctx
                    .step("slow", StepConfig::default(), |_| {
                        note("slow");
                        async move {
                            if process == "A" {
                                std::future::pending::<()>().await;
                            }
                            Ok(process.to_owned())
                        }
                    })
                    .await?;
                Ok(json!({ "a": a, "slow": slow }))
            })
        },
        (),
    )
}

async fn poll_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_process_s_instance_is_taken_over_once_its_lease_lapses() {
    let buckets = Buckets::new();
    let h = Harness::new(Utc::now());
    let ttl = Duration::from_millis(600);
    let log = Arc::new(Mutex::new(Vec::new()));

    // Process A in a runtime of its own, so it can die whole: its scheduler, lease renewer, runs
    // and NATS connection stop at once, releasing nothing.
    let runtime_a = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (started, a_ready) = tokio::sync::oneshot::channel();
    let engine_a = {
        let (options, sink_log, log) = (buckets.options.clone(), h.log.clone(), log.clone());
        runtime_a.spawn(async move {
            let store = NatsStore::open(options).await.unwrap();
            let engine = Engine::new(
                Arc::new(store),
                Arc::new(EventLogSink(Arc::new(sink_log))),
                EngineOptions {
                    owner: "A".into(),
                    lease_ttl: ttl,
                    poll_interval: Duration::from_millis(50),
                    ..EngineOptions::default()
                },
            )
            .register(takeover_script("A", log));
            let _ = started.send(());
            engine.run(CancellationToken::new()).await
        })
    };
    a_ready.await.expect("process A could not open the store");

    let engine_b =
        process(&h, buckets.open().await, "B", ttl).register(takeover_script("B", log.clone()));
    let id = h.create(&engine_b, "takeover").await;
    poll_until("A runs step slow", Duration::from_secs(10), async || {
        log.lock().unwrap().contains(&"A:slow".to_owned())
    })
    .await;

    // While A lives, its renewed lease keeps B away.
    let running_b = h.start(&engine_b);
    tokio::time::sleep(ttl * 3).await;
    let held = engine_b.get(&id).await.unwrap();
    assert_eq!(held.status, InstanceStatus::Running);
    assert_eq!(held.lease.as_ref().map(|l| l.owner.as_str()), Some("A"));
    assert_eq!(*log.lock().unwrap(), ["A:a", "A:slow"]);

    // A dies without releasing anything; B takes over once the lease lapses.
    runtime_a.shutdown_background();
    let died = Instant::now();
    let done = h.until(&engine_b, &id, |i| i.status.is_finished()).await;
    let took = died.elapsed();
    running_b.stop().await;
    assert!(engine_a.is_finished());
    assert_eq!(done.status, InstanceStatus::Complete, "{:?}", done.error);
    assert_eq!(done.output, Some(json!({ "a": "A", "slow": "B" })));
    assert_eq!(*log.lock().unwrap(), ["A:a", "A:slow", "B:slow"]);
    assert!(
        took >= ttl / 2 && took < ttl * 4,
        "taken over {took:?} after A died, with leases of {ttl:?}"
    );
    assert_eq!(
        h.audit_types(id.as_str()).await,
        [
            "started",
            "step_completed:a",
            "step_completed:slow",
            "completed"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_from_another_process_stops_the_run_and_resume_finishes_it() {
    let buckets = Buckets::new();
    let h = Harness::new(Utc::now());
    let ttl = Duration::from_millis(600);
    let first_runs = Arc::new(AtomicU32::new(0));
    let hold_runs = Arc::new(AtomicU32::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let abandoned: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));

    /// Records when the attempt it lives in is dropped unfinished.
    struct OnDrop(Arc<Mutex<Option<Instant>>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.lock().unwrap().get_or_insert_with(Instant::now);
        }
    }

    let script = {
        let (first_runs, hold_runs, release, abandoned) = (
            first_runs.clone(),
            hold_runs.clone(),
            release.clone(),
            abandoned.clone(),
        );
        Script::new(
            "hold",
            move |ctx: &Context, ()| {
                let (first_runs, hold_runs, release, abandoned) = (
                    first_runs.clone(),
                    hold_runs.clone(),
                    release.clone(),
                    abandoned.clone(),
                );
                Box::pin(async move {
                    ctx.step("first", StepConfig::default(), |_| {
                        first_runs.fetch_add(1, Ordering::SeqCst);
                        async { Ok(()) }
                    })
                    .await?;
                    ctx.step("hold", StepConfig::default(), |_| {
                        hold_runs.fetch_add(1, Ordering::SeqCst);
                        let (release, abandoned) = (release.clone(), abandoned.clone());
                        async move {
                            if !release.load(Ordering::SeqCst) {
                                let _guard = OnDrop(abandoned);
                                std::future::pending::<()>().await;
                            }
                            Ok::<_, StepError>("released".to_owned())
                        }
                    })
                    .await
                    .map(Value::from)
                })
            },
            (),
        )
    };
    let executor = process(&h, buckets.open().await, "A", ttl).register(script);
    let running = h.start(&executor);
    // The CLI beside it: its own connection, no scheduler.
    let client = process(&h, buckets.open().await, "cli", ttl).declare(["hold"]);
    let id = h.create(&client, "hold").await;
    poll_until(
        "the run reaches step hold",
        Duration::from_secs(10),
        async || hold_runs.load(Ordering::SeqCst) == 1,
    )
    .await;

    let paused_at = Instant::now();
    let paused = client.pause(&id).await.unwrap();
    assert_eq!(paused.status, InstanceStatus::Paused);
    poll_until("the executor abandons the run", ttl * 2, async || {
        abandoned.lock().unwrap().is_some()
    })
    .await;
    let noticed = abandoned.lock().unwrap().unwrap() - paused_at;
    assert!(noticed < ttl * 2, "noticed after {noticed:?}");
    tokio::time::sleep(ttl).await;
    let still = client.get(&id).await.unwrap();
    assert_eq!((still.status, still.lease), (InstanceStatus::Paused, None));
    assert_eq!(hold_runs.load(Ordering::SeqCst), 1);

    release.store(true, Ordering::SeqCst);
    client.resume(&id).await.unwrap();
    let done = h.until(&client, &id, |i| i.status.is_finished()).await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Complete, "{:?}", done.error);
    assert_eq!(done.output, Some(json!("released")));
    assert_eq!(first_runs.load(Ordering::SeqCst), 1);
    assert_eq!(hold_runs.load(Ordering::SeqCst), 2);
}

/// A step result the engine accepts (under 1 MiB) but the server's `max_payload` does not: the
/// run fails at once with the setting to raise, rather than retrying a write that cannot succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_server_s_max_payload_fails_the_run_with_the_setting_to_raise() {
    let buckets = Buckets::new();
    let h = Harness::new(Utc::now());
    let script = Script::new(
        "big",
        |ctx: &Context, ()| {
            Box::pin(async move {
                ctx.step("big", StepConfig::default(), |_| async {
                    Ok::<_, StepError>("x".repeat(1_048_500))
                })
                .await
                .map(|s| Value::from(s.len()))
            })
        },
        (),
    );
    let engine = process(&h, buckets.open().await, "A", Duration::from_secs(3)).register(script);
    let running = h.start(&engine);
    let id = h.create(&engine, "big").await;
    let mut done = engine.get(&id).await.unwrap();
    poll_until("the run ends", Duration::from_secs(10), async || {
        done = engine.get(&id).await.unwrap();
        done.status.is_finished()
    })
    .await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Errored);
    let error = done.error.unwrap_or_default();
    assert!(error.contains("max_payload"), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let options = NatsStoreOptions {
        prefix: "UNUSED".into(),
        ..NatsStoreOptions::new("nats://127.0.0.1:1")
    };
    let err = NatsStore::open(options).await.unwrap_err().to_string();
    assert!(
        err.contains("nats://127.0.0.1:1") && err.contains("unreachable"),
        "{err}"
    );
    let bad = NatsStoreOptions {
        prefix: "has.dot".into(),
        ..NatsStoreOptions::default()
    };
    let err = NatsStore::open(bad).await.unwrap_err().to_string();
    assert!(err.contains("bucket prefix `has.dot`"), "{err}");
}
